"""The pytest plugin of the suite: ``--sut``, ``--kubeprop-profile``, the report.

Loaded through the ``pytest11`` entry point (``kubeprop = kubeprop.conformance.plugin``), so
``pytest --pyargs kubeprop.conformance.suites --sut SUT`` and ``kubeprop
conform`` behave the same.
"""

from __future__ import annotations

import pytest

from kubeprop.conformance import adapters, profiles, report


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
        help="write the per-invariant tally to DIR/invariants.json",
    )


def pytest_configure(config: pytest.Config) -> None:
    profiles.load(config.getoption("--kubeprop-profile"))
    config._kubeprop_tallies = {}  # merged tallies of xdist workers


@pytest.fixture(scope="session")
def sut(request: pytest.FixtureRequest) -> adapters.Adapter:
    """The system under test named by ``--sut``."""
    try:
        return adapters.resolve(request.config.getoption("--sut"))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


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


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the tally to the controller
        workeroutput["kubeprop_tallies"] = report.snapshot()
        return
    report.merge(session.config._kubeprop_tallies, report.snapshot())


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without pytest-xdist
def pytest_testnodedown(node, error) -> None:
    tallies = getattr(node, "workeroutput", {}).get("kubeprop_tallies", {})
    report.merge(node.config._kubeprop_tallies, tallies)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    tallies = getattr(config, "_kubeprop_tallies", {})
    if not tallies:
        return
    terminalreporter.section("kubeprop invariants")
    terminalreporter.write_line(report.render(tallies))
    directory = config.getoption("--kubeprop-report")
    if directory:
        path = report.write(directory, tallies)
        terminalreporter.write_line(f"report written to {path}")
