"""What ``pip install .`` delivers: one import package, its parts, its builds.

- the only import name installed is ``kubeprop``; the source folders (spec/,
  reference/, conformance/) never become top-level import names;
- ``KUBEPROP_NO_EXTENSIONS=1`` makes the compiled cores fall back to their
  pure-Python twins, and setup.py compiles only ``.pyx`` files that exist;
- ``kubeprop conform`` runs the installed suite from any directory after a
  non-editable install, whatever pytest configuration that directory holds;
- the README's set-up commands are the ones the project runs.

Run under tox the package is a wheel installed in the virtualenv; run from an
editable checkout, the tests that need a real installation make one with
``pip install --target`` into a temporary folder.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = ("spec", "reference", "conformance")


def _python(code: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``python -c code`` in ``cwd`` (not the checkout) and return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _installed_distribution() -> importlib.metadata.Distribution:
    """The installed kubeprop distribution (one with a RECORD, not a checkout's egg-info)."""
    for dist in importlib.metadata.distributions(name="kubeprop"):
        if dist.read_text("RECORD") is not None:
            return dist
    pytest.skip("kubeprop is not installed by pip (no RECORD)")


def _editable(dist: importlib.metadata.Distribution) -> bool:
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    return bool(direct_url.get("dir_info", {}).get("editable"))


def _setup_py_assignment(name: str):
    """The literal value assigned to ``name`` at the top level of setup.py."""
    tree = ast.parse((REPOSITORY / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"setup.py assigns no {name}")


# -- the import package ---------------------------------------------------------


def test_the_distribution_installs_the_single_top_level_name_kubeprop():
    dist = _installed_distribution()
    assert (dist.read_text("top_level.txt") or "").split() == ["kubeprop"]


def test_the_installed_files_all_live_under_kubeprop():
    dist = _installed_distribution()
    if _editable(dist):
        pytest.skip("an editable install records only its finder")
    tops = set()
    for file in dist.files or []:
        parts = Path(file).parts
        if parts[0] == ".." or parts[0].endswith(".dist-info") or parts[0] == "__pycache__":
            continue  # console scripts, metadata
        tops.add(parts[0])
    assert tops == {"kubeprop"}


def test_an_editable_install_maps_only_kubeprop_names():
    dist = _installed_distribution()
    if not _editable(dist):
        pytest.skip("not an editable install")
    finder = next(
        (f for f in dist.files or [] if f.name.startswith("__editable__") and f.suffix == ".py"),
        None,
    )
    if finder is None:
        pytest.skip("this editable install has no finder module")
    text = Path(finder.locate()).read_text()
    mapping = ast.literal_eval(text.split("MAPPING: dict[str, str] = ", 1)[1].split("\n", 1)[0])
    assert {name.split(".")[0] for name in mapping} == {"kubeprop"}


def test_the_source_folders_are_not_importable_as_top_level_names(tmp_path):
    found = _python(
        "import importlib.util as u; "
        f"print([n for n in {SOURCE_FOLDERS!r} if u.find_spec(n) is not None])",
        cwd=tmp_path,
    )
    assert found == "[]"


@pytest.mark.parametrize(
    "module",
    ["kubeprop.spec", "kubeprop.reference", "kubeprop.conformance", "kubeprop.cli"],
)
def test_the_parts_of_kubeprop_import(module):
    assert importlib.import_module(module).__name__ == module


def test_the_pytest_plugin_is_registered_as_an_entry_point():
    dist = _installed_distribution()
    plugins = {ep.name: ep.value for ep in dist.entry_points if ep.group == "pytest11"}
    assert plugins == {"kubeprop": "kubeprop.conformance.plugin"}
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"kubeprop": "kubeprop.cli:main"}


# -- compiled cores and their pure twins ----------------------------------------


def test_kubeprop_no_extensions_makes_the_keyrange_core_pure(tmp_path):
    if importlib.util.find_spec("kubeprop.reference.store.keyrange") is None:
        pytest.skip("kubeprop.reference.store.keyrange does not exist yet")
    implementation = _python(
        "from kubeprop.reference.store import keyrange; print(keyrange.IMPLEMENTATION)",
        cwd=tmp_path,
        env={"KUBEPROP_NO_EXTENSIONS": "1"},
    )
    assert implementation == "python"


def test_without_the_variable_the_keyrange_core_names_a_known_implementation(tmp_path):
    if importlib.util.find_spec("kubeprop.reference.store.keyrange") is None:
        pytest.skip("kubeprop.reference.store.keyrange does not exist yet")
    env = {k: v for k, v in os.environ.items() if k != "KUBEPROP_NO_EXTENSIONS"}
    result = subprocess.run(
        [sys.executable, "-c", "from kubeprop.reference.store import keyrange as k; "
         "print(k.IMPLEMENTATION)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("cython", "python")


def test_setup_py_compiles_only_pyx_files_that_exist_where_their_module_lives():
    package_dirs = _setup_py_assignment("PACKAGE_DIRS")
    for module, source in _setup_py_assignment("EXTENSIONS"):
        assert (REPOSITORY / source).is_file(), f"{module}: {source} does not exist"
        package, _, name = module.rpartition(".")
        top = max((p for p in package_dirs if package == p or package.startswith(p + ".")), key=len)
        folder = Path(package_dirs[top], *package[len(top) :].split(".")[1:])
        assert Path(source) == folder / f"{name}.pyx", f"{module} is not built from {source}"


def test_every_pyx_file_in_the_tree_is_compiled_by_setup_py():
    listed = {source for _, source in _setup_py_assignment("EXTENSIONS")}
    on_disk = {
        str(path.relative_to(REPOSITORY))
        for folder in SOURCE_FOLDERS
        for path in (REPOSITORY / folder).rglob("*.pyx")
    }
    assert on_disk <= listed, f"not in setup.py EXTENSIONS: {sorted(on_disk - listed)}"


# -- kubeprop conform from anywhere, after a non-editable install -----------------


def _ignore_build_output(folder, names):
    build = {".git", ".tox", "build", "dist", "__pycache__", ".hypothesis", ".benchmarks"}
    return [n for n in names if n in build or n.endswith((".egg-info", ".so", ".c"))]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """The environment under which ``python`` runs a non-editable install of kubeprop."""
    if not _editable(_installed_distribution()):
        return {}  # tox: the wheel is installed in this virtualenv
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is needed to build a non-editable copy")
    source = tmp_path_factory.mktemp("checkout") / "kubeprop"
    shutil.copytree(REPOSITORY, source, ignore=_ignore_build_output)
    target = tmp_path_factory.mktemp("site-packages")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
        + ["--no-build-isolation", "--target", str(target), str(source)],
        env={**os.environ, "KUBEPROP_NO_EXTENSIONS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return {"PYTHONPATH": str(target)}


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A directory whose pytest configuration would break any run that read it."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n")
    (tmp_path / "conftest.py").write_text("raise RuntimeError('a stray conftest.py was loaded')\n")
    return tmp_path


def test_the_spec_chapters_ship_inside_the_package(installed, elsewhere):
    chapters = _python(
        "from importlib import resources; "
        "print(sorted(p.name for p in resources.files('kubeprop.spec').iterdir() "
        "if p.name.endswith('.md')))",
        cwd=elsewhere,
        env=installed,
    )
    expected = sorted(p.name for p in (REPOSITORY / "spec").glob("*.md"))
    assert chapters == str(expected)


def test_kubeprop_conform_collects_the_installed_suite_from_any_directory(installed, elsewhere):
    where = _python(
        "import kubeprop.conformance.suites as s; print(s.__file__)", cwd=elsewhere, env=installed
    )
    checkout = REPOSITORY / "conformance"
    assert not Path(where).is_relative_to(checkout), f"the suite is the checkout's: {where}"
    result = subprocess.run(
        [sys.executable, "-m", "kubeprop", "conform", "--", "--collect-only"],
        cwd=elsewhere,
        env={**os.environ, **installed},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED:
        pytest.skip("the conformance suite has no test modules yet")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Test ids are relative to the folder holding the installed conformance package.
    assert f"rootdir: {Path(where).parents[2]}\n" in result.stdout, result.stdout[:2000]
    assert "<Package suites>" in result.stdout
    assert "<Module test_" in result.stdout


# -- the README's commands are the project's commands ------------------------------


def test_the_readme_gives_the_two_set_up_commands():
    readme = (REPOSITORY / "README.md").read_text()
    assert "pip install . && kubeprop conform" in readme
    assert "pip install tox && tox" in readme


def test_ci_runs_the_readme_test_command_strictly():
    script = REPOSITORY / ".ci" / "run"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") or text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    assert os.access(script, os.X_OK), ".ci/run is not executable"
    assert any(line.split()[:3] == ["python3", "-m", "tox"] for line in text.splitlines())


def test_plain_tox_runs_py_pure_and_lint():
    import configparser

    tox = configparser.ConfigParser(interpolation=None)
    tox.read(REPOSITORY / "tox.ini")
    assert tox["tox"]["env_list"].replace(" ", "").split(",") == ["py", "pure", "lint"]
    for env in ("pure", "conformance", "bench", "lint"):
        assert f"testenv:{env}" in tox
    assert tox["testenv:.pkg-pure"]["set_env"].split() == ["KUBEPROP_NO_EXTENSIONS", "=", "1"]
