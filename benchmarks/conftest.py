"""pytest configuration of the benchmarks (run them with ``tox -e bench``).

Contract: benchmark modules are ``bench_*.py`` as well as ``test_*.py``; a
run that finds no benchmark yet (a component whose benchmark has not landed,
or a ``-k`` that selects none) is reported, not failed.
"""

from __future__ import annotations

import pytest


def pytest_collect_file(parent: pytest.Collector, file_path):
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
