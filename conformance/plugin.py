"""The pytest plugin of the suite: ``--sut``, ``--kubeprop-profile``, the report.

Loaded through the ``pytest11`` entry point (``kubeprop = kubeprop.conformance.plugin``), so
``pytest --pyargs kubeprop.conformance.suites --sut SUT`` and ``kubeprop
conform`` behave the same.

Contract of ``--kubeprop-report DIR``: at the end of the run the controller
writes DIR/invariants.json, DIR/invariants.md and DIR/invariants.html
(``kubeprop.conformance.report.write``) and pytest writes its JUnit XML to
DIR/junit.xml (unless ``--junitxml`` names another file); failing histories
saved during the run (``report.save_history``, on the controller or on any
xdist worker) are in DIR/histories/, which is emptied of an earlier run's
histories when the run starts. Without the option, the per-invariant table is
still printed when the run checked any invariant. The exit status stays pytest's.

Against any SUT but ``reference``, a suite test that does not ask for the ``sut``
fixture (directly or through ``store_factory``, ``apiserver_factory``,
``cluster_components``, ...) is skipped with the reason: it checks kubeprop's own
model, and its invariants must not be reported as passed by a SUT that took no
part in them.
"""

from __future__ import annotations

import collections
from pathlib import Path

import attrs
import pytest

from kubeprop.conformance import adapters, profiles, report

# The key of xdist's workerinput that carries the absolute report folder to workers.
WORKER_REPORT_KEY = "kubeprop_report"
# The pytest outcome categories (pytest_report_teststatus) the report counts.
OUTCOMES = {
    "passed": "passed",
    "failed": "failed",
    "skipped": "skipped",
    "error": "errors",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kubeprop", "kubeprop conformance")
    group.addoption(
        "--sut",
        default="reference",
        help="system under test: " + " | ".join(adapters.SUT_FORMS) + " (default: reference)",
    )
    group.addoption(
        "--kubeprop-profile",
        default="ci",
        choices=profiles.PROFILES,
        help="Hypothesis profile: ci (fast) or thorough (default: ci)",
    )
    group.addoption(
        "--kubeprop-report",
        default=None,
        metavar="DIR",
        help="write the report to DIR: invariants.json, invariants.md, invariants.html, "
        "junit.xml and the failing histories (histories/)",
    )


def _report_dir(config: pytest.Config) -> Path | None:
    """The absolute report folder of this run (a worker is told it by the controller)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_REPORT_KEY in workerinput:
        directory = workerinput[WORKER_REPORT_KEY]
    else:
        directory = config.getoption("--kubeprop-report")
    return None if directory is None else Path(directory).resolve()


@pytest.hookimpl(tryfirst=True)  # before junitxml reads config.option.xmlpath
def pytest_configure(config: pytest.Config) -> None:
    profiles.load(config.getoption("--kubeprop-profile"))
    config.addinivalue_line(
        "markers",
        "kubeprop_requires(*capabilities): skip unless the SUT has every capability named",
    )
    config._kubeprop_sut = _resolver(config)  # the adapter of --sut, resolved once
    config._kubeprop_tallies = {}  # merged tallies of xdist workers
    config._kubeprop_outcomes = OutcomeCounter(config)
    config.pluginmanager.register(config._kubeprop_outcomes, "kubeprop-outcomes")
    config._kubeprop_written = []  # the report files written, or the error that stopped it
    # Resolved once, so a test that changes the working directory cannot move it.
    config._kubeprop_report_dir = directory = _report_dir(config)
    report.configure(directory)
    if directory is None:
        return
    if directory.exists() and not directory.is_dir():
        raise pytest.UsageError(f"--kubeprop-report {str(directory)!r} is not a directory")
    if config.pluginmanager.has_plugin("junitxml") and not config.option.xmlpath:
        config.option.xmlpath = str(directory / "junit.xml")
    if not hasattr(config, "workerinput"):  # the controller: this run's histories only
        report.clear_histories(directory)


def pytest_unconfigure(config: pytest.Config) -> None:
    report.configure(None)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without pytest-xdist
def pytest_configure_node(node) -> None:
    directory = node.config._kubeprop_report_dir
    if directory is not None:
        node.workerinput[WORKER_REPORT_KEY] = str(directory)


def _resolver(config: pytest.Config):
    """The session's adapter, resolved on first use and kept."""
    found: list[adapters.Adapter] = []

    def resolved() -> adapters.Adapter:
        if not found:
            try:
                found.append(adapters.resolve(config.getoption("--sut")))
            except ValueError as error:
                raise pytest.UsageError(str(error)) from None
        return found[0]

    return resolved


@pytest.fixture(scope="session")
def sut(request: pytest.FixtureRequest) -> adapters.Adapter:
    """The system under test named by ``--sut``."""
    return request.config._kubeprop_sut()


def require(sut: adapters.Adapter, *capabilities: str) -> None:
    """Skip the running test, with the reason, unless the SUT has every capability."""
    try:
        sut.require(*capabilities)
    except adapters.Unsupported as reason:
        pytest.skip(str(reason))


def component_factory(sut: adapters.Adapter, role: str):
    """The SUT's factory of the component ``role`` (skips the test if the SUT has none)."""
    require(sut, "cluster")
    try:
        return sut.component(role)
    except adapters.Unsupported as reason:
        pytest.skip(str(reason))


@pytest.fixture
def store_factory(sut: adapters.Adapter):
    try:
        sut.require("store")
        return sut.store_factory()
    except adapters.Unsupported as reason:
        pytest.skip(str(reason))


@pytest.fixture
def apiserver_factory(sut: adapters.Adapter):
    try:
        sut.require("apiserver")
        return sut.apiserver_factory()
    except adapters.Unsupported as reason:
        pytest.skip(str(reason))


@pytest.fixture
def cluster_components(sut: adapters.Adapter) -> dict:
    """role -> factory to splice into ``Cluster.create(components=...)`` (skips without a
    cluster; empty for the reference)."""
    require(sut, "cluster")
    return sut.components()


def in_suite(item: pytest.Item) -> bool:
    """Is ``item`` a test of the conformance suite (kubeprop.conformance.suites)?"""
    folder = Path(str(item.path)).parent
    return folder.name == "suites" and folder.parent.name == "conformance"


def pytest_runtest_setup(item: pytest.Item) -> None:
    sut = item.session.config._kubeprop_sut()
    needed = [c for mark in item.iter_markers("kubeprop_requires") for c in mark.args]
    if needed:
        require(sut, *needed)
    # A suite test that never asks for the SUT checks kubeprop's own model (its objects
    # library, its reference scheduler, a private etcd): against any other SUT it would
    # report invariants as passed that the SUT never took part in.
    if not sut.is_reference and in_suite(item) and "sut" not in item.fixturenames:
        pytest.skip(f"checks kubeprop's reference model only: SUT {sut.name!r} takes no part")


@attrs.define(eq=False)
class OutcomeCounter:
    """Counts the test outcomes of the run as pytest's summary line does (on the controller,
    xdist hands it every worker's reports)."""

    config: pytest.Config
    counts: collections.Counter = attrs.Factory(collections.Counter)  # by OUTCOMES name

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        category = self.config.hook.pytest_report_teststatus(report=report, config=self.config)[0]
        if category in OUTCOMES:
            self.counts[OUTCOMES[category]] += 1

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.counts["errors"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the tally to the controller
        workeroutput["kubeprop_tallies"] = report.snapshot()
        return
    report.merge(config._kubeprop_tallies, report.snapshot())
    directory = config._kubeprop_report_dir
    if directory is None:
        return
    summary = report.RunSummary(
        sut=config.getoption("--sut"),
        profile=config.getoption("--kubeprop-profile"),
        exit_status=int(exitstatus),
        **config._kubeprop_outcomes.counts,
    )
    try:
        config._kubeprop_written = report.write(directory, config._kubeprop_tallies, summary)
    except OSError as error:
        config._kubeprop_written = [f"cannot write the report to {directory}: {error}"]


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without pytest-xdist
def pytest_testnodedown(node, error) -> None:
    tallies = getattr(node, "workeroutput", {}).get("kubeprop_tallies", {})
    report.merge(node.config._kubeprop_tallies, tallies)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    tallies = getattr(config, "_kubeprop_tallies", {})
    directory = getattr(config, "_kubeprop_report_dir", None)
    if not tallies and directory is None:
        return
    terminalreporter.section("kubeprop invariants")
    terminalreporter.write_line(report.render(tallies))
    for written in getattr(config, "_kubeprop_written", []):
        if isinstance(written, Path):
            terminalreporter.write_line(f"report written to {written}")
        else:
            terminalreporter.write_line(written, red=True)
    if directory is not None and config.option.xmlpath:
        terminalreporter.write_line(f"JUnit XML written to {config.option.xmlpath}")
    histories = report.saved_histories(directory) if directory is not None else []
    if histories:
        terminalreporter.write_line(f"{len(histories)} failing histories in {histories[0].parent}")
