"""``kubeprop serve``: the reference cluster behind the Kubernetes REST API.

Contract:
- ``ServedCluster.start(nodes=3, port=0, etcd=None, time_scale=1.0, seed=0)``
  builds ``Cluster.create(nodes, seed=seed)`` (over a real etcd's
  ``EtcdStore(etcd)`` when ``etcd`` is a URL, else the embedded reference
  store), serves its API server over HTTP on 127.0.0.1:``port`` (0: a free
  port) with ``kubeprop.reference.apiserver.http.Server``, and runs a thread
  that lets simulated time pass at ``time_scale`` x real time, in ticks of
  ``TICK_SECONDS`` real seconds (``time_scale`` 0 freezes the clock; the
  caller may then ``advance`` it). Every HTTP request and every tick holds
  ``lock``, so the model never sees two threads at once. ``.url``,
  ``.cluster``, ``.stop()`` (idempotent; ends watches, the clock thread and
  the server).
- ``ServedCluster`` is itself the HTTP layer's backend: ``request`` is the
  cluster's API server's, ``clock`` its simulated clock (Table ages).
- ``run(args)`` is the command: it prints the URL and a kubectl hint, serves
  until Ctrl-C or SIGTERM, then stops cleanly and returns 0.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

import attrs

from kubeprop.reference.apiserver.http import Server
from kubeprop.reference.cluster import Cluster
from kubeprop.spec.contracts import Response

# Real seconds between two advances of the simulated clock.
TICK_SECONDS = 0.05
# A tick never advances more than this many real seconds' worth (a stalled process
# resumes without a burst of simulated time).
MAX_TICK_SECONDS = 1.0


@attrs.define(eq=False, repr=False)
class ServedCluster:
    """A reference cluster served over HTTP, its clock running with real time."""

    cluster: Cluster
    time_scale: float
    lock: Any = attrs.Factory(threading.RLock)  # held by every request and every tick
    server: Server | None = None  # the HTTP server, once started
    _stopping: threading.Event = attrs.Factory(threading.Event)  # tells the ticker to end
    _ticker: threading.Thread | None = None  # advances the simulated clock

    @classmethod
    def start(
        cls,
        nodes: int = 3,
        port: int = 0,
        etcd: str | None = None,
        time_scale: float = 1.0,
        seed: int = 0,
        *,
        log: bool = False,
    ) -> ServedCluster:
        if not time_scale >= 0:
            raise ValueError(f"time_scale: Invalid value: {time_scale!r}: must be >= 0")
        store = None
        if etcd:
            from kubeprop.conformance.adapters.etcd import EtcdStore

            store = EtcdStore(etcd)
        cluster = Cluster.create(nodes, seed=seed, store=store)
        served = cls(cluster=cluster, time_scale=float(time_scale))
        served.server = Server.start(served, port, log=log)
        if time_scale > 0:
            served._ticker = threading.Thread(
                target=served._tick, name="kubeprop-clock", daemon=True
            )
            served._ticker.start()
        return served

    def __repr__(self) -> str:
        where = self.server.url if self.server is not None else "stopped"
        return f"<ServedCluster {where} time x{self.time_scale:g}>"

    # ------------------------------------------------------------------ backend

    @property
    def clock(self) -> Any:
        return self.cluster.loop.clock

    def request(self, verb: str, resource: str, **kwargs: Any) -> Response:
        with self.lock:
            return self.cluster.server.request(verb, resource, **kwargs)

    # ------------------------------------------------------------------ time

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass now (under the lock)."""
        with self.lock:
            self.cluster.advance(seconds)

    def _tick(self) -> None:
        last = time.monotonic()
        while not self._stopping.wait(TICK_SECONDS):
            now = time.monotonic()
            elapsed, last = min(now - last, MAX_TICK_SECONDS), now
            with self.lock:
                self.cluster.advance(elapsed * self.time_scale)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def stop(self) -> None:
        self._stopping.set()
        if self._ticker is not None:
            self._ticker.join(timeout=10)
            self._ticker = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        close = getattr(self.cluster.server.store, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> ServedCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run(args: Any) -> int:
    """``kubeprop serve``: serve until interrupted (Ctrl-C or SIGTERM)."""
    try:
        served = ServedCluster.start(
            nodes=args.nodes,
            port=args.port,
            etcd=args.etcd,
            time_scale=args.time_scale,
            seed=args.seed,
            log=args.verbose,
        )
    except OSError as error:  # werkzeug has said why it cannot listen (e.g. the port is taken)
        print(f"kubeprop serve: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - one line, no traceback (e.g. etcd unreachable)
        print(f"kubeprop serve: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    done = threading.Event()

    def finish(signum, frame) -> None:
        done.set()

    previous = signal.signal(signal.SIGTERM, finish)
    storage = f"etcd at {args.etcd}" if args.etcd else "the embedded reference store"
    print(
        f"Serving a {args.nodes}-node reference cluster (Kubernetes v1.35 API, {storage}, "
        f"time x{args.time_scale:g}) at {served.url}",
        flush=True,
    )
    print(f"Try: kubectl --server {served.url} get nodes", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        served.stop()
    print("Stopped.", flush=True)
    return 0
