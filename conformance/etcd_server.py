"""A real etcd on 127.0.0.1 for the suite: start, kill -9, restart, stop, as a pytest fixture.

Contract: ``EtcdProcess.start(data_dir=None)`` runs the installed ``etcd`` binary
as a one-member cluster listening on 127.0.0.1 only, on free client and peer
ports, with a data directory of its own (a temporary one unless given), and
returns once ``/health`` answers healthy; it fails with ``EtcdError`` (and the
tail of etcd's log) if etcd does not become healthy within ``STARTUP_TIMEOUT``
seconds. ``kill()`` is ``kill -9`` of the process (by its PID) and waits for it;
``restart()`` starts it again on the same data directory and ports; ``stop()``
sends SIGTERM, then SIGKILL if it lingers, waits, and removes the data directory
if ``start`` made it. Every wait is bounded. ``etcd_fixture(scope)`` is a pytest
fixture factory: the fixture yields a running ``EtcdProcess`` and stops it in
teardown, or skips the test with the install command when etcd is absent.

Flags: https://etcd.io/docs/v3.4/op-guide/configuration/ (the v3.4 flags;
``--experimental-watch-progress-notify-interval`` makes etcd send watch progress
notifications often, which lets the adapter's watch poll know that a stream has
caught up; see conformance/adapters/etcd.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import requests

ETCD_INSTALL_HINT = "apt-get install etcd-server"
STARTUP_TIMEOUT = 20.0  # seconds for etcd to answer /health
STOP_TIMEOUT = 10.0  # seconds for etcd to exit after SIGTERM, then after SIGKILL
# How often etcd sends progress notifications to idle watches: the adapter's poll() waits
# for one to know a stream has caught up, so this bounds the latency of a poll.
PROGRESS_NOTIFY_INTERVAL = "20ms"


class EtcdError(RuntimeError):
    """etcd could not be started (the message carries the tail of its log)."""


def etcd_binary() -> str | None:
    """The path of the etcd binary (``$KUBEPROP_ETCD`` or ``etcd`` on PATH), or None."""
    configured = os.environ.get("KUBEPROP_ETCD")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("etcd") or (
        "/usr/bin/etcd" if os.access("/usr/bin/etcd", os.X_OK) else None
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EtcdProcess:
    """One etcd member on 127.0.0.1 (see the module's contract)."""

    def __init__(
        self,
        binary: str,
        data_dir: Path,
        *,
        owns_data_dir: bool,
        client_port: int,
        peer_port: int,
    ) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.owns_data_dir = owns_data_dir  # remove data_dir on stop()
        self.client_port = client_port
        self.peer_port = peer_port
        self.name = f"kubeprop-{uuid.uuid4().hex[:8]}"
        self.url = f"http://127.0.0.1:{client_port}"
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self._process: subprocess.Popen | None = None

    # ---- life cycle --------------------------------------------------------------------------

    @classmethod
    def start(cls, data_dir: Path | None = None) -> EtcdProcess:
        binary = etcd_binary()
        if binary is None:
            raise EtcdError(f"etcd is not installed: {ETCD_INSTALL_HINT}")
        owns = data_dir is None
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="kubeprop-etcd-")) / "data"
        etcd = cls(
            binary,
            Path(data_dir),
            owns_data_dir=owns,
            client_port=_free_port(),
            peer_port=_free_port(),
        )
        try:
            etcd._launch()
        except BaseException:
            etcd.stop()
            raise
        return etcd

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _command(self) -> list[str]:
        peer = f"http://127.0.0.1:{self.peer_port}"
        return [
            self.binary,
            "--name",
            self.name,
            "--data-dir",
            str(self.data_dir),
            "--listen-client-urls",
            self.url,
            "--advertise-client-urls",
            self.url,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"{self.name}={peer}",
            "--initial-cluster-state",
            "new",
            "--experimental-watch-progress-notify-interval",
            PROGRESS_NOTIFY_INTERVAL,
            "--log-level",
            "warn",
            "--logger",
            "zap",
        ]

    def _launch(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test run is not sent to etcd
            )
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EtcdError(f"etcd exited with {self._process.returncode}:\n{self._log_tail()}")
            try:
                answer = requests.get(f"{self.url}/health", timeout=1.0)
                if answer.ok and answer.json().get("health") == "true":
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.05)
        raise EtcdError(
            f"etcd did not become healthy within {STARTUP_TIMEOUT} s:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _wait(self, timeout: float) -> bool:
        try:
            self._process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self) -> None:
        """``kill -9`` etcd (by its PID) and wait until it is gone."""
        if self._process is None or self._process.poll() is not None:
            return
        os.kill(self._process.pid, signal.SIGKILL)
        if not self._wait(STOP_TIMEOUT):
            raise EtcdError(f"etcd (pid {self._process.pid}) survived SIGKILL")

    def restart(self) -> None:
        """Start etcd again on the same data directory and ports (after ``kill`` or not)."""
        self.kill()
        self._launch()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if needed; wait; remove the data directory if ours."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            if not self._wait(STOP_TIMEOUT):
                self.kill()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def __enter__(self) -> EtcdProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EtcdProcess(url={self.url!r}, pid={self.pid}, data_dir={str(self.data_dir)!r})"


def etcd_fixture(scope: str = "module"):
    """A pytest fixture yielding a running ``EtcdProcess`` (skips when etcd is absent).

    Use in a test module: ``etcd = etcd_fixture(scope="module")``.
    """
    import pytest

    @pytest.fixture(scope=scope)
    def etcd():
        if etcd_binary() is None:
            pytest.skip(f"etcd is not installed: {ETCD_INSTALL_HINT}")
        process = EtcdProcess.start()
        try:
            yield process
        finally:
            process.stop()

    return etcd
