"""The ``kubeprop`` command line: ``kubeprop spec`` and ``kubeprop conform``.

Most tests call ``kubeprop.cli.main`` in this process over a small catalogue of
their own, so they do not depend on which invariants exist; a few run the real
catalogue and ``python -m kubeprop`` in a subprocess. ``kubeprop conform`` is
never run in this process (pytest inside pytest shares Hypothesis' settings
and the report's tallies): its pytest command line is captured instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop import __version__, cli
from kubeprop.spec import invariants

SOURCE = "https://kubernetes.io/docs/reference/using-api/api-concepts/"


def _entry(id, component, kind, statement):
    return invariants.Invariant(
        id=id,
        component=component,
        kind=kind,
        statement=statement,
        source=SOURCE,
        predicate=lambda: invariants.HOLDS,
    )


SMALL = [
    _entry("STORE-REVISION-MONOTONIC", "store", "safety", "The revision never decreases."),
    _entry("STORE-WATCH-GAP-FREE", "store", "safety", "A watch | delivers every event."),
    _entry("OBJECTS-NAME-VALID", "objects", "contract", "A name is a DNS subdomain."),
    _entry("APISERVER-CONFLICT", "apiserver", "contract", "A stale update is refused (409)."),
]


@pytest.fixture
def small_catalogue(monkeypatch):
    """Replace the catalogue with SMALL for the duration of a test."""
    monkeypatch.setattr(
        invariants,
        "COMPONENT_MODULES",
        dict.fromkeys(("objects", "store", "apiserver"), "kubeprop.spec.invariants"),
    )
    monkeypatch.setattr(invariants, "REGISTRY", {entry.id: entry for entry in SMALL})
    return SMALL


def run(*argv: str) -> tuple[int, str, str]:
    """main(argv) with stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def pytest_main(monkeypatch):
    """Capture the pytest command line that ``kubeprop conform`` would run."""
    calls: list[list[str]] = []

    def fake_main(args, plugins=None):
        calls.append(list(args))
        return pytest.ExitCode.OK

    monkeypatch.setattr(pytest, "main", fake_main)
    return calls


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# -- kubeprop spec ------------------------------------------------------------


def test_spec_prints_a_table_of_id_kind_and_statement_by_default(small_catalogue):
    code, out, err = run("spec")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "KIND", "STATEMENT"]
    assert len(lines) == 1 + len(SMALL)
    row = next(line for line in lines if line.startswith("STORE-REVISION-MONOTONIC"))
    assert row.split(maxsplit=2) == [
        "STORE-REVISION-MONOTONIC",
        "safety",
        "The revision never decreases.",
    ]


def test_the_table_columns_line_up(small_catalogue):
    _, out, _ = run("spec")
    lines = out.splitlines()
    starts = {line.index(line.split()[1]) for line in lines}
    assert len(starts) == 1


def test_spec_json_is_the_list_of_invariant_dicts_ordered_by_component_then_id(
    small_catalogue,
):
    code, out, _ = run("spec", "-o", "json")
    assert code == 0
    listed = json.loads(out)
    assert listed == [entry.as_dict() for entry in invariants.catalogue()]
    assert [item["component"] for item in listed] == sorted(item["component"] for item in listed)


def test_spec_markdown_has_one_table_per_component_with_source_links(small_catalogue):
    code, out, _ = run("spec", "-o", "markdown")
    assert code == 0
    headings = [line for line in out.splitlines() if line.startswith("## ")]
    assert headings == ["## apiserver", "## objects", "## store"]
    assert out.count("| id | kind | statement | source |") == 3
    assert f"[source]({SOURCE})" in out
    assert "`STORE-WATCH-GAP-FREE`" in out


def test_a_pipe_in_a_statement_does_not_break_the_markdown_table(small_catalogue):
    _, out, _ = run("spec", "-o", "markdown")
    row = next(line for line in out.splitlines() if "STORE-WATCH-GAP-FREE" in line)
    assert row.count(" | ") == 3
    assert "A watch \\| delivers every event." in row


def test_component_limits_the_catalogue_to_that_component(small_catalogue):
    code, out, _ = run("spec", "--component", "store", "-o", "json")
    assert code == 0
    assert {item["component"] for item in json.loads(out)} == {"store"}
    assert len(json.loads(out)) == 2


def test_a_known_component_without_invariants_prints_an_empty_catalogue(
    small_catalogue, monkeypatch
):
    monkeypatch.setitem(invariants.COMPONENT_MODULES, "scheduler", "kubeprop.spec.invariants")
    code, out, _ = run("spec", "--component", "scheduler", "-o", "json")
    assert (code, json.loads(out)) == (0, [])


def test_an_unknown_component_exits_2_naming_the_known_ones(small_catalogue):
    code, out, err = run("spec", "--component", "kubelett")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "unknown component 'kubelett'" in err
    assert "apiserver, objects, store" in err


def test_an_unknown_output_format_exits_2_in_one_line(small_catalogue):
    code, _, err = run("spec", "-o", "yaml")
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("kubeprop spec: error:")
    assert "'yaml'" in err


def test_a_catalogue_that_cannot_be_loaded_is_one_line_and_exit_2(small_catalogue, monkeypatch):
    monkeypatch.setitem(invariants.COMPONENT_MODULES, "kubelet", "kubeprop.spec.no_such_module")
    code, _, err = run("spec")
    assert code == 2
    assert err.count("\n") == 1
    assert "cannot load the invariant catalogue" in err
    assert "kubeprop.spec.no_such_module" in err


def test_arguments_after_a_double_dash_are_refused_by_spec(small_catalogue):
    code, _, err = run("spec", "--", "-k", "watch")
    assert code == 2
    assert "unexpected arguments after '--'" in err


# -- the command line as a whole ----------------------------------------------


def test_no_command_prints_the_help_and_exits_2():
    code, out, err = run()
    assert code == 2
    assert "spec" in err and "conform" in err


def test_version_prints_the_package_version():
    code, out, _ = run("--version")
    assert code == 0
    assert out.strip() == f"kubeprop {__version__}"


def test_help_exits_0():
    code, out, _ = run("conform", "--help")
    assert code == 0
    assert "--profile" in out


def test_an_unknown_command_exits_2_in_one_line():
    code, _, err = run("simulate", "pods.yaml")
    assert code == 2
    assert err.count("\n") == 1


WORDS = st.sampled_from(
    ["spec", "conform", "--component", "store", "-o", "json", "markdown", "table", "--sut"]
    + ["reference", "--profile", "ci", "nope", "--report", "-n", "2", "x", "--", "-h", "-"]
)


@given(st.lists(WORDS | st.text(max_size=8), max_size=6))
def test_no_command_line_makes_main_raise(argv):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pytest, "main", lambda args, plugins=None: 0)
        code, _, err = run(*argv)
    assert isinstance(code, int)
    if code == 2 and "usage:" not in err:
        assert err.count("\n") == 1, err
        assert "Traceback" not in err


# -- kubeprop conform ----------------------------------------------------------


def test_conform_with_an_unknown_profile_exits_2(pytest_main):
    code, _, err = run("conform", "--profile", "nope")
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("kubeprop conform: error:")
    assert "'ci', 'thorough'" in err
    assert pytest_main == []


def test_conform_with_an_unknown_sut_exits_2_naming_the_supported_forms(pytest_main):
    code, _, err = run("conform", "--sut", "mainframe://")
    assert code == 2
    assert err.count("\n") == 1
    assert "'mainframe://'" in err and "reference" in err
    assert pytest_main == []


def test_conform_rejects_a_worker_count_that_is_not_a_number(pytest_main):
    code, _, err = run("conform", "-n", "many")
    assert code == 2
    assert "invalid worker count 'many'" in err


def test_conform_refuses_a_report_path_that_is_a_file(pytest_main, tmp_path):
    existing = tmp_path / "report"
    existing.write_text("")
    code, _, err = run("conform", "--report", str(existing))
    assert code == 2
    assert "not a directory" in err


def test_conform_runs_the_installed_suite_with_the_reference_and_the_ci_profile(pytest_main):
    code, _, _ = run("conform")
    assert code == 0
    (args,) = pytest_main
    suites = importlib.util.find_spec("kubeprop.conformance.suites").submodule_search_locations
    assert Path(args[0]) == Path(list(suites)[0]).resolve()
    assert _option(args, "--sut") == "reference"
    assert _option(args, "--kubeprop-profile") == "ci"
    assert "--kubeprop-report" not in args and "-n" not in args


def test_conform_ignores_the_pytest_configuration_of_the_working_directory(pytest_main):
    run("conform")
    (args,) = pytest_main
    assert _option(args, "-c") == os.devnull
    assert Path(_option(args, "--rootdir")) / "conformance" / "suites" == Path(args[0])


def test_conform_loads_the_suite_plugin_once_whatever_the_entry_points(pytest_main):
    run("conform")
    (args,) = pytest_main
    loaded = [args[i + 1] for i, arg in enumerate(args) if arg == "-p"]
    assert loaded.index("no:kubeprop") < loaded.index("kubeprop.conformance.plugin")


def test_conform_passes_sut_profile_report_and_workers_to_pytest(pytest_main, tmp_path):
    code, _, _ = run(
        "conform",
        "--sut",
        "reference",
        "--profile",
        "thorough",
        "--report",
        str(tmp_path),
        "-n",
        "2",
    )
    assert code == 0
    (args,) = pytest_main
    assert _option(args, "--kubeprop-profile") == "thorough"
    assert _option(args, "--kubeprop-report") == str(tmp_path)
    assert _option(args, "-n") == "2"


def test_arguments_after_a_double_dash_go_to_pytest_unchanged(pytest_main):
    run("conform", "--", "-k", "watch and not lease", "-x")
    (args,) = pytest_main
    assert args[-3:] == ["-k", "watch and not lease", "-x"]


def test_conform_returns_the_exit_code_of_pytest(monkeypatch):
    monkeypatch.setattr(pytest, "main", lambda args, plugins=None: pytest.ExitCode.TESTS_FAILED)
    code, _, _ = run("conform")
    assert code == 1


# -- the real catalogue, and python -m kubeprop ---------------------------------


def _python_m_kubeprop(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubeprop", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_python_m_kubeprop_spec_prints_the_real_catalogue_as_json(tmp_path):
    result = _python_m_kubeprop("spec", "-o", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed == [entry.as_dict() for entry in invariants.catalogue()]
    assert listed, "the catalogue is empty"


def test_the_real_catalogue_as_markdown_has_a_table_per_component():
    code, out, err = run("spec", "-o", "markdown")
    assert code == 0, err
    components = {entry.component for entry in invariants.catalogue()}
    assert out.count("| id | kind | statement | source |") == len(components)
    for component in components:
        assert f"## {component}\n" in out


def test_python_m_kubeprop_with_a_bad_argument_exits_2_without_a_traceback(tmp_path):
    result = _python_m_kubeprop("conform", "--profile", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


# -- kubeprop conform --report ----------------------------------------------------


def test_conform_help_says_what_the_report_folder_holds():
    code, out, _ = run("conform", "--help")
    assert code == 0
    for name in ("invariants.md", "invariants.html", "junit.xml", "histories"):
        assert name in out


def test_conform_passes_a_relative_report_folder_to_the_plugin_unchanged(pytest_main):
    run("conform", "--report", "out/report")
    (args,) = pytest_main
    assert _option(args, "--kubeprop-report") == "out/report"


def test_a_conform_run_that_runs_no_test_still_reports_every_invariant_as_never_checked(
    tmp_path,
):
    result = _python_m_kubeprop(
        "conform", "--report", "report", "--", "-k", "no_test_has_this_name", cwd=tmp_path
    )
    assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, result.stderr
    folder = tmp_path / "report"
    rows = json.loads((folder / "invariants.json").read_text())
    assert [row["id"] for row in rows] == [entry.id for entry in invariants.catalogue()]
    assert {row["status"] for row in rows} == {"never checked"}
    assert (folder / "junit.xml").exists()
    markdown = (folder / "invariants.md").read_text()
    assert "- result: **no tests ran** (pytest exit status 5)" in markdown
    assert markdown.count("| never checked |") == len(rows)
    assert "<table>" in (folder / "invariants.html").read_text()
