"""The report of a conformance run: the per-invariant table and the failing histories.

The rendering tests run over a small catalogue of their own; the run tests
start pytest in a subprocess on a tiny synthetic suite (a conftest.py that
registers three invariants and a test module that checks them), because pytest
inside pytest would share the tallies and Hypothesis' settings of this run.
"""

from __future__ import annotations

import html.parser
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeprop.conformance import report
from kubeprop.conformance.report import RunSummary, Tally
from kubeprop.spec import invariants

SOURCE = "https://kubernetes.io/docs/concepts/architecture/nodes/"
NASTY = 'A <script>alert("x")</script> | pipe & `tick` *star* [link]'


def _entry(id, kind, statement, component="node"):
    return invariants.Invariant(
        id=id,
        component=component,
        kind=kind,
        statement=statement,
        source=SOURCE,
        predicate=lambda: invariants.HOLDS,
    )


SMALL = [
    _entry("NODE-READY-REPORTED", "liveness", "A node reports Ready within 40 s."),
    _entry("NODE-CRASH-EVICTS", "safety", "A crashed node's pods are evicted."),
    _entry("NODE-NASTY", "contract", NASTY),
]
TALLIES = {
    "NODE-READY-REPORTED": Tally(checked=5, non_vacuous=2, failed=0),
    "NODE-NASTY": Tally(checked=3, non_vacuous=3, failed=1),
}
SUMMARY = RunSummary(sut="reference", profile="ci", exit_status=1, passed=3, failed=1, skipped=2)


@pytest.fixture
def small_catalogue(monkeypatch):
    """Replace the catalogue with SMALL for the duration of a test."""
    monkeypatch.setattr(invariants, "COMPONENT_MODULES", {"node": "kubeprop.spec.invariants"})
    monkeypatch.setattr(invariants, "REGISTRY", {entry.id: entry for entry in SMALL})
    return SMALL


@pytest.fixture
def report_dir(tmp_path, monkeypatch):
    """A report folder configured for this process, as the plugin configures a run's."""
    monkeypatch.setattr(report, "_REPORT_DIR", None)  # restored after the test
    report.configure(tmp_path / "report")
    return tmp_path / "report"


def _row(rows, id):
    return next(row for row in rows if row["id"] == id)


# -- statuses and the terminal table ---------------------------------------------


def test_an_invariant_never_checked_is_reported_as_never_checked_not_as_passed(
    small_catalogue,
):
    rows = report.rows(TALLIES)
    assert _row(rows, "NODE-CRASH-EVICTS")["status"] == "never checked"
    assert _row(rows, "NODE-CRASH-EVICTS")["checked"] == 0


def test_an_invariant_that_failed_once_is_failed_whatever_else_passed(small_catalogue):
    assert _row(report.rows(TALLIES), "NODE-NASTY")["status"] == "failed"


def test_an_invariant_checked_without_a_failure_passed(small_catalogue):
    row = _row(report.rows(TALLIES), "NODE-READY-REPORTED")
    assert (row["status"], row["checked"], row["non_vacuous"]) == ("passed", 5, 2)


@given(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5))
def test_the_status_follows_the_tally(checked, non_vacuous, failed):
    status = report.status(Tally(checked=checked, non_vacuous=non_vacuous, failed=failed))
    if failed:
        assert status == "failed"
    elif checked:
        assert status == "passed"
    else:
        assert status == "never checked"


def test_the_terminal_table_has_a_line_per_invariant_with_its_counts_and_status(
    small_catalogue,
):
    lines = report.render(TALLIES).splitlines()
    assert lines[0].split() == ["invariant", "checked", "non-vacuous", "failed", "status"]
    assert len(lines) == 1 + len(SMALL)
    line = next(line for line in lines if line.startswith("NODE-CRASH-EVICTS"))
    assert line.split() == ["NODE-CRASH-EVICTS", "0", "0", "0", "never", "checked"]


def test_the_invariants_line_counts_statuses_and_passes_that_were_only_vacuous(
    small_catalogue,
):
    tallies = {**TALLIES, "NODE-CRASH-EVICTS": Tally(checked=4, non_vacuous=0)}
    line = report.invariants_line(report.rows(tallies))
    assert line == "2 passed (1 only vacuously), 1 failed, 0 never checked"


def test_the_tests_line_names_errors_and_xfails_only_when_there_are_some():
    assert SUMMARY.tests_line() == "3 passed, 1 failed, 2 skipped"
    assert RunSummary(errors=1, xfailed=2).tests_line() == (
        "0 passed, 0 failed, 0 skipped, 1 errors, 2 xfailed"
    )


@pytest.mark.parametrize(
    ("exit_status", "verdict"),
    [(0, "passed"), (1, "failed"), (2, "interrupted"), (5, "no tests ran"), (99, "failed")],
)
def test_the_verdict_is_pytests_exit_status_in_words(exit_status, verdict):
    assert RunSummary(exit_status=exit_status).verdict == verdict


# -- Markdown ------------------------------------------------------------------------


def _markdown_rows(text: str) -> list[list[str]]:
    """The cells of each table row, split at pipes that are not escaped."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]


def test_the_markdown_table_has_every_column_and_one_row_per_invariant(small_catalogue):
    text = report.render_markdown(TALLIES, SUMMARY)
    header, *rows = _markdown_rows(text)
    assert header == list(report.COLUMNS)
    assert all(len(row) == len(header) for row in rows)
    assert len(rows) == len(SMALL)
    row = next(row for row in rows if "NODE-READY-REPORTED" in row[0])
    assert row[1:] == [
        "node",
        "liveness",
        "5",
        "2",
        "0",
        "passed",
        "A node reports Ready within 40 s.",
    ]
    assert row[0] == f"[NODE-READY-REPORTED]({SOURCE})"


def test_a_statement_with_pipes_and_html_stays_inside_its_markdown_cell(small_catalogue):
    (row,) = [row for row in _markdown_rows(report.render_markdown(TALLIES)) if "NASTY" in row[0]]
    assert len(row) == len(report.COLUMNS)
    statement = row[-1]
    assert "<" not in statement.replace("\\<", "")
    assert re.sub(r"\\(.)", r"\1", statement) == NASTY


def test_a_newline_in_a_statement_does_not_end_the_markdown_row(small_catalogue, monkeypatch):
    monkeypatch.setitem(
        invariants.REGISTRY, "NODE-NASTY", _entry("NODE-NASTY", "contract", "two\nlines")
    )
    text = report.render_markdown(TALLIES)
    assert "| two lines |" in text


def test_the_markdown_report_starts_with_the_summary_of_the_run(small_catalogue):
    text = report.render_markdown(TALLIES, SUMMARY)
    assert "- SUT: `reference`, profile: `ci`" in text
    assert "- result: **failed** (pytest exit status 1)" in text
    assert "- tests: 3 passed, 1 failed, 2 skipped" in text
    assert "- invariants: 1 passed, 1 failed, 1 never checked" in text


def test_the_reports_link_the_failing_histories(small_catalogue, tmp_path):
    histories = [tmp_path / "histories" / "cluster-node-crash.yaml"]
    assert "(histories/cluster-node-crash.yaml)" in report.render_markdown(TALLIES, None, histories)
    assert 'href="histories/cluster-node-crash.yaml"' in report.render_html(
        TALLIES, None, histories
    )


# -- HTML ------------------------------------------------------------------------------


class _Table(html.parser.HTMLParser):
    """Collects the text of each table row's cells, and every tag seen."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_the_html_page_is_the_same_table_with_every_statement_escaped(small_catalogue):
    page = report.render_html(TALLIES, SUMMARY)
    parser = _Table()
    parser.feed(page)
    header, *rows = parser.rows
    assert header == list(report.COLUMNS)
    assert len(rows) == len(SMALL)
    nasty = next(row for row in rows if row[0] == "NODE-NASTY")
    assert nasty == ["NODE-NASTY", "node", "contract", "3", "3", "1", "failed", NASTY]
    assert "script" not in parser.tags
    assert "<script>" not in page


def test_the_html_page_is_self_contained_and_carries_the_summary(small_catalogue):
    page = report.render_html(TALLIES, SUMMARY)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(link|script|img)\b", page)
    assert "tests: 3 passed, 1 failed, 2 skipped" in page
    assert "<strong>failed</strong> (pytest exit status 1)" in page
    assert f'href="{SOURCE}"' in page


def test_write_puts_json_markdown_and_html_in_the_folder(small_catalogue, tmp_path):
    written = report.write(tmp_path / "out", TALLIES, SUMMARY)
    assert sorted(path.name for path in written) == [
        "invariants.html",
        "invariants.json",
        "invariants.md",
    ]
    rows = json.loads((tmp_path / "out" / "invariants.json").read_text())
    assert [row["status"] for row in rows] == ["never checked", "failed", "passed"]
    assert (tmp_path / "out" / "invariants.md").read_text() == report.render_markdown(
        TALLIES, SUMMARY
    )


# -- failing histories ----------------------------------------------------------------


def test_without_a_report_folder_there_is_no_history_folder_and_nothing_is_saved(monkeypatch):
    monkeypatch.setattr(report, "_REPORT_DIR", None)
    assert report.history_dir() is None
    assert report.save_history("cluster", "steps: []\n") is None


def test_the_history_folder_is_created_on_demand_under_the_report_folder(report_dir):
    assert not report_dir.exists()
    assert report.history_dir() == report_dir.resolve() / "histories"
    assert report.history_dir().is_dir()


def test_a_history_is_saved_as_yaml_under_a_safe_name(report_dir):
    path = report.save_history("suites/test_cluster.py::test_cluster[node crash]", "steps: []")
    assert path.parent == report_dir.resolve() / "histories"
    assert path.name == "suites-test_cluster.py-test_cluster-node-crash.yaml"
    assert path.read_text() == "steps: []\n"


def test_a_saved_history_never_overwrites_another(report_dir):
    first = report.save_history("cluster.yaml", "a: 1\n")
    second = report.save_history("cluster", "a: 2\n")
    assert (first.name, second.name) == ("cluster.yaml", "cluster-2.yaml")
    assert first.read_text() == "a: 1\n"
    assert set(report.saved_histories(report_dir)) == {first, second}


@given(st.text(max_size=300))
def test_any_name_gives_a_plain_file_name_inside_the_history_folder(name):
    stem = report.safe_name(name)
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,119}", stem) or stem == "history"
    assert not stem.startswith(".") and "/" not in stem


def test_a_name_that_climbs_out_of_the_folder_stays_in_it(report_dir):
    path = report.save_history("../../etc/passwd", "x: 1\n")
    assert path.parent == report_dir.resolve() / "histories"
    assert path.name == "etc-passwd.yaml"


def test_clear_histories_removes_the_histories_of_an_earlier_run(report_dir):
    report.save_history("old", "a: 1\n")
    report.clear_histories(report_dir)
    assert report.saved_histories(report_dir) == []


# -- a run of pytest with --kubeprop-report ----------------------------------------------

CONFTEST = """
from kubeprop.spec import invariants

SOURCE = "https://kubernetes.io/docs/concepts/architecture/nodes/"


@invariants.invariant(
    "TINY-HOLDS", component="tiny", kind="safety", statement="It <holds>.", source=SOURCE
)
def holds(something):
    return invariants.HOLDS if something else invariants.VACUOUS


@invariants.invariant(
    "TINY-BROKEN", component="tiny", kind="safety", statement="It never holds.", source=SOURCE
)
def broken():
    return invariants.violated("broken on purpose")


@invariants.invariant(
    "TINY-IDLE", component="tiny", kind="liveness", statement="Nobody checks it.", source=SOURCE
)
def idle():
    return invariants.HOLDS
"""

TESTS = """
import pytest

from kubeprop.conformance import report


def test_holds():
    report.check("TINY-HOLDS", True)
    report.check("TINY-HOLDS", False)


def test_skipped():
    pytest.skip("not here")
"""

FAILING = """
from kubeprop.conformance import report


def test_broken():
    assert report.save_history("tiny::test_broken[crash]", "steps:\\n- crash: node-a\\n")
    report.check("TINY-BROKEN")
"""

XDIST = importlib.util.find_spec("xdist") is not None


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """pytest on ``folder`` in a subprocess, ignoring the configuration of this run."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", os.devnull, "--rootdir", str(folder)]
        + ["-p", "no:cacheprovider", "-q", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _tiny_suite(folder: Path, *, failing: bool) -> Path:
    folder.mkdir()
    (folder / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (folder / "test_tiny.py").write_text(textwrap.dedent(TESTS))
    if failing:
        (folder / "test_tiny_failing.py").write_text(textwrap.dedent(FAILING))
    return folder


def test_a_run_with_a_report_folder_writes_the_tables_junit_xml_and_the_failing_history(
    tmp_path,
):
    suite = _tiny_suite(tmp_path / "suite", failing=True)
    workers = ["-n", "2"] if XDIST else []
    result = _pytest(suite, "--kubeprop-report", "out", *workers)
    assert result.returncode == 1, result.stdout + result.stderr
    out = suite / "out"

    rows = {row["id"]: row for row in json.loads((out / "invariants.json").read_text())}
    assert (rows["TINY-HOLDS"]["checked"], rows["TINY-HOLDS"]["non_vacuous"]) == (2, 1)
    assert rows["TINY-HOLDS"]["status"] == "passed"
    assert rows["TINY-BROKEN"]["status"] == "failed"
    assert rows["TINY-IDLE"]["status"] == "never checked"

    markdown = (out / "invariants.md").read_text()
    assert "- tests: 1 passed, 1 failed, 1 skipped" in markdown
    assert "| tiny | safety | 2 | 1 | 0 | passed | It \\<holds\\>. |" in markdown
    page = (out / "invariants.html").read_text()
    assert "It &lt;holds&gt;." in page and "tests: 1 passed, 1 failed, 1 skipped" in page

    suite_xml = ElementTree.parse(out / "junit.xml").getroot().find("testsuite")
    assert (suite_xml.get("tests"), suite_xml.get("failures")) == ("3", "1")

    (history,) = report.saved_histories(out)
    assert history.name == "tiny-test_broken-crash.yaml"
    assert history.read_text() == "steps:\n- crash: node-a\n"
    assert "histories/tiny-test_broken-crash.yaml" in markdown
    assert "kubeprop invariants" in result.stdout  # the terminal table is still printed


def test_a_passing_run_exits_0_keeps_an_explicit_junitxml_and_drops_old_histories(tmp_path):
    suite = _tiny_suite(tmp_path / "suite", failing=False)
    stale = suite / "out" / "histories" / "earlier-run.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("steps: []\n")
    result = _pytest(suite, "--kubeprop-report", "out", "--junitxml", "elsewhere.xml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (suite / "elsewhere.xml").exists()
    assert not (suite / "out" / "junit.xml").exists()
    assert not stale.exists()
    markdown = (suite / "out" / "invariants.md").read_text()
    assert "- result: **passed** (pytest exit status 0)" in markdown


def test_a_report_path_that_is_a_file_is_a_usage_error(tmp_path):
    suite = _tiny_suite(tmp_path / "suite", failing=False)
    (suite / "out").write_text("")
    result = _pytest(suite, "--kubeprop-report", "out")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "is not a directory" in result.stderr
