"""``kubeprop conform --sut ...`` end to end: a plug-in runs, a bad SUT is one line and exit 2.

Runs ``python -m kubeprop`` in a subprocess from the checkout's root (where
``examples.plugins`` imports from), with one suite selected to keep it short.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NEEDS_EXAMPLES = pytest.mark.skipif(
    not (REPO / "examples" / "plugins").is_dir(),
    reason="examples/plugins is in the source checkout, not the package",
)


def examples_only(tmp_path: Path) -> Path:
    """A working directory holding a copy of examples/plugins and nothing else: run from the
    checkout itself, ``python -m kubeprop`` would import the source folder ``kubeprop/``
    instead of the installed package (as tox installs it)."""
    shutil.copytree(REPO / "examples" / "plugins", tmp_path / "examples" / "plugins")
    return tmp_path


def kubeprop(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubeprop", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@NEEDS_EXAMPLES
def test_conform_runs_the_scheduler_component_suite_on_the_example_scheduler_plug_in(tmp_path):
    result = kubeprop(
        "conform",
        "--sut",
        "python:examples.plugins.scheduler:LeastAllocated",
        "--",
        "-k",
        "scheduler_component",
        "-p",
        "no:randomly",
        "-q",
        cwd=examples_only(tmp_path),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    # The plug-in's suite passes; the reference scheduler's preemption test (-k matches it
    # too) never asks for the SUT, so it is skipped rather than counted as the plug-in's.
    assert re.match(r"1 passed, 1 skipped, \d+ deselected in ", summary), summary
    table = result.stdout.split("kubeprop invariants", 1)[1]
    bind = next(line for line in table.splitlines() if line.startswith("SCHEDULER-BIND-FEASIBLE"))
    checked, non_vacuous, failed = (int(word) for word in bind.split()[1:4])
    assert checked > 0 and non_vacuous > 0 and failed == 0, bind


@pytest.mark.parametrize(
    ("sut", "says"),
    [
        ("bogus", "--sut 'bogus' is not supported: use one of reference, python:MODULE:ATTR"),
        ("python:no_such_module_here:X", "cannot import module 'no_such_module_here'"),
        ("python:json:JSONDecoder", "satisfies none of the protocols"),
        ("etcd+ftp://127.0.0.1:2379", "want etcd+http://HOST:PORT"),
    ],
)
def test_a_bad_sut_is_one_line_and_exit_code_2(tmp_path, sut, says):
    result = kubeprop("conform", "--sut", sut, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("kubeprop conform: error: ")
    assert says in result.stderr


@NEEDS_EXAMPLES
def test_a_plug_in_is_imported_from_the_folder_conform_runs_in(tmp_path):
    """Outside the checkout, ``examples.plugins`` is not importable: the error says so."""
    result = kubeprop(
        "conform", "--sut", "python:examples.plugins.scheduler:LeastAllocated", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "cannot import module 'examples.plugins.scheduler'" in result.stderr
    assert "run from the folder that holds it" in result.stderr
