"""Evaluating invariants, tallying the evaluations, and writing the run's report.

``check(id, ...)`` is the only way the suite evaluates an invariant: it runs the
registered predicate, counts the evaluation (and whether it was vacuous), and
raises ``InvariantViolation`` naming the id when the predicate fails. The tally
is per process; the pytest plugin merges the tallies of xdist workers and
prints, per invariant, how often it was checked, how often non-vacuously, how
often it failed, and its status.

Contract of the report (``write(DIR, tallies, summary)``):
- Every catalogued invariant gets one row: id, component, kind, checked,
  non-vacuous, failed and a status: ``failed`` if any evaluation failed,
  ``never checked`` if there was none (never silently ``passed``), else
  ``passed``.
- DIR/invariants.json is the list of rows (``rows()``, with the status and the
  source); DIR/invariants.md and DIR/invariants.html are the same table, with
  the summary of the run (SUT, profile, pytest's exit status, tests passed /
  failed / skipped) and links to the failing histories saved in the run. Every
  cell is escaped for its format, so no statement can break the table or the page.
- ``history_dir()`` is DIR/histories of the run this process takes part in
  (an xdist worker included), created on demand, or None without a report
  folder; ``save_history(name, text)`` writes one failing history there under a
  safe file name, never overwriting another one.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs

from kubeprop.spec import invariants


class InvariantViolation(AssertionError):
    """An invariant of the spec does not hold; the message starts with its id."""

    def __init__(self, invariant_id: str, message: str):
        super().__init__(f"{invariant_id} violated: {message}")
        self.invariant_id = invariant_id
        self.detail = message


@attrs.define
class Tally:
    """How often one invariant was evaluated."""

    checked: int = 0  # evaluations
    non_vacuous: int = 0  # evaluations that had something to check
    failed: int = 0  # evaluations that found a violation

    def add(self, other: Tally) -> None:
        self.checked += other.checked
        self.non_vacuous += other.non_vacuous
        self.failed += other.failed


# Per-process tallies by invariant id; merged across workers by the plugin.
TALLIES: dict[str, Tally] = {}

# The report folder of the run this process takes part in (set by the plugin on
# the controller and on every xdist worker); None when no report is written.
_REPORT_DIR: Path | None = None


def check(invariant_id: str, *args, **kwargs) -> invariants.Outcome:
    """Evaluate invariant ``invariant_id``; raise InvariantViolation if it fails."""
    entry = invariants.get(invariant_id)
    outcome = entry(*args, **kwargs)
    tally = TALLIES.setdefault(invariant_id, Tally())
    tally.checked += 1
    if not outcome.vacuous:
        tally.non_vacuous += 1
    if not outcome.ok:
        tally.failed += 1
        raise InvariantViolation(invariant_id, outcome.message)
    return outcome


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Evaluations inside the block leave the tally as it was (for mutant runs,
    whose failures are expected and say nothing about the system under test)."""
    saved = {key: attrs.evolve(value) for key, value in TALLIES.items()}
    try:
        yield
    finally:
        TALLIES.clear()
        TALLIES.update(saved)


def snapshot() -> dict[str, dict[str, int]]:
    return {key: attrs.asdict(value) for key, value in TALLIES.items()}


def merge(into: dict[str, Tally], tallies: Mapping[str, Mapping[str, int]]) -> None:
    for key, counts in tallies.items():
        into.setdefault(key, Tally()).add(Tally(**counts))


# -- the table -----------------------------------------------------------------

PASSED, FAILED, NEVER_CHECKED = "passed", "failed", "never checked"


def status(tally: Tally) -> str:
    """``failed`` if any evaluation failed, ``never checked`` if there was none, else ``passed``."""
    if tally.failed:
        return FAILED
    if not tally.checked:
        return NEVER_CHECKED
    return PASSED


def rows(tallies: Mapping[str, Tally]) -> list[dict[str, object]]:
    """One row per catalogued invariant, with its tally (zeros if never checked) and status."""
    result = []
    for entry in invariants.catalogue():
        tally = tallies.get(entry.id, Tally())
        result.append({**entry.as_dict(), **attrs.asdict(tally), "status": status(tally)})
    return result


def render(tallies: Mapping[str, Tally]) -> str:
    """The table for the terminal: id, checked, non-vacuous, failed, status."""
    table = rows(tallies)
    width = max([len("invariant")] + [len(str(row["id"])) for row in table])
    lines = [f"{'invariant':<{width}} {'checked':>8} {'non-vacuous':>12} {'failed':>7}  status"]
    for row in table:
        lines.append(
            f"{row['id']:<{width}} {row['checked']:>8} {row['non_vacuous']:>12} "
            f"{row['failed']:>7}  {row['status']}"
        )
    return "\n".join(lines)


# pytest's exit statuses (pytest.ExitCode) in words; 0 is the only pass.
VERDICTS = {
    0: PASSED,
    1: FAILED,
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests ran",
}


@attrs.frozen
class RunSummary:
    """What the pytest run as a whole came to: the header of the report."""

    sut: str = "reference"
    profile: str = "ci"
    exit_status: int = 0  # pytest's exit status, which is kubeprop conform's
    passed: int = 0  # tests, as pytest's summary line counts them
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    xfailed: int = 0
    xpassed: int = 0

    @property
    def verdict(self) -> str:
        """What pytest's exit status means: passed, failed, no tests ran, ..."""
        return VERDICTS.get(self.exit_status, FAILED)

    def tests_line(self) -> str:
        """``3 passed, 1 failed, 2 skipped`` (errors, xfailed and xpassed when there are any)."""
        counts = [("passed", self.passed), ("failed", self.failed), ("skipped", self.skipped)]
        counts += [
            (name, count)
            for name, count in (
                ("errors", self.errors),
                ("xfailed", self.xfailed),
                ("xpassed", self.xpassed),
            )
            if count
        ]
        return ", ".join(f"{count} {name}" for name, count in counts)


def invariants_line(table: list[dict[str, object]]) -> str:
    """``40 passed (3 only vacuously), 1 failed, 50 never checked``."""
    by_status = {
        name: [row for row in table if row["status"] == name]
        for name in (PASSED, FAILED, NEVER_CHECKED)
    }
    vacuous = sum(1 for row in by_status[PASSED] if not row["non_vacuous"])
    passed = f"{len(by_status[PASSED])} passed"
    if vacuous:
        passed += f" ({vacuous} only vacuously)"
    return (
        f"{passed}, {len(by_status[FAILED])} failed, {len(by_status[NEVER_CHECKED])} never checked"
    )


COLUMNS = ("id", "component", "kind", "checked", "non-vacuous", "failed", "status", "statement")


def _markdown_cell(text: object) -> str:
    """One line, with the characters that would end the cell or open HTML escaped."""
    cell = " ".join(str(text).split())
    for special in ("\\", "|", "<", ">", "&", "*", "`", "[", "]"):
        cell = cell.replace(special, "\\" + special)
    return cell


def _markdown_url(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace("|", "%7C").replace(" ", "%20")


def render_markdown(
    tallies: Mapping[str, Tally], summary: RunSummary | None = None, histories=()
) -> str:
    """The report as Markdown: the summary, then one table row per invariant."""
    table = rows(tallies)
    lines = ["# kubeprop conformance report", ""]
    if summary is not None:
        lines += [
            f"- SUT: `{summary.sut}`, profile: `{summary.profile}`",
            f"- result: **{summary.verdict}** (pytest exit status {summary.exit_status})",
            f"- tests: {summary.tests_line()}",
        ]
    lines += [f"- invariants: {invariants_line(table)}", ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in table:
        identifier = f"[{_markdown_cell(row['id'])}]({_markdown_url(str(row['source']))})"
        cells = [identifier] + [
            _markdown_cell(row[key])
            for key in ("component", "kind", "checked", "non_vacuous", "failed", "status")
        ]
        cells.append(_markdown_cell(row["statement"]))
        lines.append("| " + " | ".join(cells) + " |")
    if histories:
        lines += ["", "## Failing histories", ""]
        lines += [
            f"- [{_markdown_cell(path.name)}](histories/{_markdown_url(path.name)})"
            for path in histories
        ]
    return "\n".join(lines) + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.count { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fdd; }
tr.never-checked td { color: #777; background: #f4f4f4; }
"""


def render_html(
    tallies: Mapping[str, Tally], summary: RunSummary | None = None, histories=()
) -> str:
    """The report as one self-contained HTML page (no scripts, no external files)."""
    table = rows(tallies)
    esc = html.escape
    items = []
    if summary is not None:
        items += [
            f"SUT <code>{esc(summary.sut)}</code>, profile <code>{esc(summary.profile)}</code>",
            f"result: <strong>{esc(summary.verdict)}</strong> "
            f"(pytest exit status {int(summary.exit_status)})",
            f"tests: {esc(summary.tests_line())}",
        ]
    items.append(f"invariants: {esc(invariants_line(table))}")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>kubeprop conformance report</title>',
        f"<style>{_STYLE}</style></head>",
        "<body>",
        "<h1>kubeprop conformance report</h1>",
        '<ul class="summary">' + "".join(f"<li>{item}</li>" for item in items) + "</ul>",
        "<table>",
        "<thead><tr>" + "".join(f"<th>{esc(name)}</th>" for name in COLUMNS) + "</tr></thead>",
        "<tbody>",
    ]
    for row in table:
        css = str(row["status"]).replace(" ", "-")
        cells = [
            f'<td><a href="{esc(str(row["source"]))}"><code>{esc(str(row["id"]))}</code></a></td>',
            f"<td>{esc(str(row['component']))}</td>",
            f"<td>{esc(str(row['kind']))}</td>",
        ]
        cells += [
            f'<td class="count">{int(row[key])}</td>'
            for key in ("checked", "non_vacuous", "failed")
        ]
        cells += [f"<td>{esc(str(row['status']))}</td>", f"<td>{esc(str(row['statement']))}</td>"]
        parts.append(f'<tr class="{esc(css)}">' + "".join(cells) + "</tr>")
    parts += ["</tbody>", "</table>"]
    if histories:
        parts.append("<h2>Failing histories</h2>")
        links = "".join(
            f'<li><a href="histories/{esc(path.name)}">{esc(path.name)}</a></li>'
            for path in histories
        )
        parts.append(f"<ul>{links}</ul>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def write(
    directory: str | Path, tallies: Mapping[str, Tally], summary: RunSummary | None = None
) -> list[Path]:
    """Write invariants.json, invariants.md and invariants.html to ``directory``."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    histories = saved_histories(path)
    outputs = {
        "invariants.json": json.dumps(rows(tallies), indent=2) + "\n",
        "invariants.md": render_markdown(tallies, summary, histories),
        "invariants.html": render_html(tallies, summary, histories),
    }
    written = []
    for name, text in outputs.items():
        (path / name).write_text(text, encoding="utf-8")
        written.append(path / name)
    return written


# -- failing histories -----------------------------------------------------------

HISTORIES = "histories"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def configure(directory: str | Path | None) -> None:
    """Make ``directory`` the report folder of this process (None: no report)."""
    global _REPORT_DIR
    _REPORT_DIR = None if directory is None else Path(directory).resolve()


def history_dir() -> Path | None:
    """The folder of failing histories of this run (created now), or None without a report."""
    if _REPORT_DIR is None:
        return None
    folder = _REPORT_DIR / HISTORIES
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def safe_name(name: str) -> str:
    """``name`` as a file name stem: letters, digits, ``.``, ``_`` and ``-`` only."""
    stem = re.sub(r"\.ya?ml$", "", name)
    stem = _UNSAFE.sub("-", stem).strip("-.")[:120].rstrip("-.")
    return stem or "history"


def save_history(name: str, text: str) -> Path | None:
    """Write the YAML history ``text`` to the history folder as ``<safe name>.yaml``
    (``-2``, ``-3``... when taken); return its path, or None without a report."""
    folder = history_dir()
    if folder is None:
        return None
    stem = safe_name(name)
    body = text if text.endswith("\n") else text + "\n"
    number = 1
    while True:
        path = folder / (f"{stem}.yaml" if number == 1 else f"{stem}-{number}.yaml")
        try:
            with path.open("x", encoding="utf-8") as file:  # never overwrite (xdist workers)
                file.write(body)
            return path
        except FileExistsError:
            number += 1


def saved_histories(directory: str | Path) -> list[Path]:
    """The histories saved in report folder ``directory``, by name."""
    return sorted((Path(directory) / HISTORIES).glob("*.yaml"))


def clear_histories(directory: str | Path) -> None:
    """Remove the histories a previous run left in report folder ``directory``."""
    for path in saved_histories(directory):
        path.unlink()
