"""Hunting mutants: run each through its protocol's suite, and report what caught it.

Contract:
- ``hunt(entry, max_examples=None, shrink=True)`` runs the suite runner the
  catalogue names for the mutant (``Mutant.hunter``) with
  ``profiles.mutant_hunt`` settings (derandomised, no example database, so the
  same search everywhere) and the entry's budget unless ``max_examples`` says
  otherwise. It never raises for what the mutant does: the outcome is a
  ``HuntResult``. The evaluations it makes stay out of the suite's tally
  (``report.isolated``).
- A mutant is ``caught`` only when the run fails with an ``InvariantViolation``;
  ``invariant`` is the id it names and ``expected`` says whether that id is one the
  mutant's module expects. Any other failure (a crash, a traceback, Hypothesis
  calling the failure flaky) is not a catch: ``caught`` is False and ``error``
  says what happened; so does a run that finds no failing history (the mutant
  escaped).
- ``steps`` is the length of the failing example Hypothesis reports (the shrunk
  one with ``shrink``): for a state machine, the rule steps it prints
  (initialize rules included, ``teardown`` not); for a search over generated
  placements, the pods the reported example schedules one by one (one cycle
  each); for the normalisation search, 1 (one normalisation). It is read from
  that final run, never estimated.
- ``write(DIR, results)`` writes DIR/mutants.json (``{"totals": ..., "mutants":
  [rows]}``) and DIR/mutants.md (the totals line and one table row per mutant:
  name, protocol, caught by, steps, description), every cell escaped.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import profiles, report
from kubeprop.conformance.mutants.catalogue import Mutant
from kubeprop.conformance.report import InvariantViolation

# Whole-cluster histories settle for up to 15 simulated minutes each; as in
# tests/test_cluster_mutants.py they are kept to 12 steps.
CLUSTER_STEPS = 12


@attrs.frozen
class HuntResult:
    """What hunting one mutant found."""

    name: str
    protocol: str
    caught: bool  # the run failed with an InvariantViolation
    invariant: str | None  # the id the violation names
    steps: int | None  # steps of the failing example Hypothesis reported (shrunk if asked)
    error: str | None  # why it is not caught: escaped, or failed by something else
    description: str = ""
    hunter: str = ""
    # The invariant is one the mutant's module names for it (the one its hand-picked history
    # trips); a generated history may trip another one first, which is a catch all the same.
    expected: bool | None = None
    seconds: float = 0.0  # wall time of the hunt

    @property
    def id(self) -> str:
        suffix = "@cluster" if self.hunter == "cluster" else ""
        return f"{self.protocol}/{self.name}{suffix}"

    def row(self) -> dict[str, Any]:
        return {"id": self.id, **attrs.asdict(self)}


@attrs.define
class _Record:
    """What a search body saw of the example it ran last (the reported one, at the end)."""

    steps: int | None = None


Runner = Callable[[Mutant, settings, _Record], None]

# -- the runners, one per hunter of the catalogue ----------------------------------------------


def _machine(machine: type, cfg: settings) -> None:
    run_state_machine_as_test(machine, settings=cfg)


def _store(entry: Mutant, cfg: settings, _: _Record) -> None:
    from kubeprop.conformance.suites.test_store_contract import make_machine

    _machine(make_machine(entry.factory), cfg)


def _apiserver(entry: Mutant, cfg: settings, _: _Record) -> None:
    from kubeprop.conformance.suites.test_apiserver_contract import make_machine

    _machine(make_machine(entry.factory), cfg)


def _client(entry: Mutant, cfg: settings, _: _Record) -> None:
    from kubeprop.conformance.suites.test_client import make_machine

    _machine(make_machine(**entry.factory), cfg)


def _component(suite: str) -> Runner:
    """A runner for a suite whose ``make_machine(factory)`` takes the mutant's class."""

    def run(entry: Mutant, cfg: settings, _: _Record) -> None:
        import importlib

        module = importlib.import_module(f"kubeprop.conformance.suites.{suite}")
        _machine(module.make_machine(entry.factory), cfg)

    return run


def _nodelifecycle(entry: Mutant, cfg: settings, _: _Record) -> None:
    from kubeprop.conformance.suites.test_nodelifecycle import make_machine

    _machine(make_machine(*entry.factory), cfg)


def _scheduler_queue(entry: Mutant, cfg: settings, _: _Record) -> None:
    from kubeprop.conformance.suites.test_scheduler import SchedulerSUT, make_queue_machine

    _machine(make_queue_machine(SchedulerSUT(**entry.factory)), cfg)


def _scheduler_component(entry: Mutant, cfg: settings, _: _Record) -> None:
    from kubeprop.conformance.suites.test_scheduler_component import make_component_machine

    _machine(make_component_machine(entry.factory), cfg)


def _inter_pod_affinity(entry: Mutant, cfg: settings, _: _Record) -> None:
    from kubeprop.conformance.suites.test_scheduler_inter_pod_affinity import (
        InterPodAffinitySUT,
        make_machine,
    )

    _machine(make_machine(InterPodAffinitySUT(**entry.factory)), cfg)


def _placements(
    cfg: settings,
    record: _Record,
    clusters: st.SearchStrategy[tuple],
    place: Callable[..., object],
    *,
    pods_at: int = 1,
) -> None:
    """Search generated clusters, each with a seed, for one that ``place`` finds placed wrongly.

    A drawn cluster is the tuple of ``place``'s arguments before the seed; the pods it
    schedules one by one (a step each) are ``cluster[pods_at]``."""

    @cfg
    @given(cluster=clusters, seed=st.integers(0, 3))
    def search(cluster, seed):
        record.steps = len(cluster[pods_at])
        place(*cluster, seed)

    search()


def _scheduler_cycle(entry: Mutant, cfg: settings, record: _Record) -> None:
    from kubeprop.conformance.strategies import scheduler as strategies
    from kubeprop.conformance.suites.test_scheduler import SchedulerSUT, place_one_by_one

    sut = SchedulerSUT(**entry.factory)
    _placements(cfg, record, strategies.clusters(), functools.partial(place_one_by_one, sut))


def _scheduler_normalize(entry: Mutant, cfg: settings, record: _Record) -> None:
    from kubeprop.conformance.strategies import scheduler as strategies
    from kubeprop.conformance.suites.test_scheduler import SchedulerSUT, check_normalize

    sut = SchedulerSUT(**entry.factory)

    @cfg
    @given(raw=strategies.raw_scores, reverse=st.booleans())
    def search(raw, reverse):
        record.steps = 1
        check_normalize(sut, raw, reverse)

    search()


def _node_ports(entry: Mutant, cfg: settings, record: _Record) -> None:
    from kubeprop.conformance.suites import test_scheduler_node_ports as suite

    sut = suite.NodePortsSUT(plugin=entry.factory)
    place = functools.partial(suite.place_with_host_ports, sut)
    _placements(cfg, record, suite.port_clusters(), place)


def _topology_spread(entry: Mutant, cfg: settings, record: _Record) -> None:
    from kubeprop.conformance.suites import test_scheduler_pod_topology_spread as suite

    sut = suite.SpreadSUT(plugin=entry.factory)
    place = functools.partial(suite.place_with_spread, sut)
    # (nodes, existing pods, incoming pods, workloads): the incoming ones are placed.
    _placements(cfg, record, suite.spread_clusters(), place, pods_at=2)


def _preemption(entry: Mutant, cfg: settings, record: _Record) -> None:
    from kubeprop.conformance.suites import test_scheduler_preemption as suite

    sut = suite.PreemptionSUT(plugin=entry.factory)
    place = functools.partial(suite.place_with_preemption, sut)
    _placements(cfg, record, suite.preemption_clusters(), place)


def _preemption_component(entry: Mutant, cfg: settings, record: _Record) -> None:
    from kubeprop.conformance.suites.test_scheduler_preemption import (
        component_batches,
        run_component,
    )

    @cfg
    @given(
        node_cpus=st.lists(st.sampled_from(("1", "2")), min_size=1, max_size=2),
        batches=component_batches(),
    )
    def search(node_cpus, batches):
        record.steps = sum(len(batch) for batch in batches)
        run_component(entry.factory, node_cpus, batches)

    search()


def _cluster(entry: Mutant, cfg: settings, _: _Record) -> None:
    from kubeprop.conformance.machine import ClusterMachine

    if entry.role is None or entry.sut is None:
        raise ValueError(f"mutant {entry.id} has no cluster role to be spliced into")
    path = entry.sut.removeprefix("python:")
    machine = type(
        f"ClusterWith{path.rpartition(':')[2]}",
        (ClusterMachine,),
        {"COMPONENTS": {entry.role: path}},
    )
    _machine(machine, settings(cfg, stateful_step_count=CLUSTER_STEPS))


RUNNERS: dict[str, Runner] = {
    "store-contract": _store,
    "apiserver-contract": _apiserver,
    "client-machine": _client,
    "scheduler-cycle": _scheduler_cycle,
    "scheduler-normalize": _scheduler_normalize,
    "scheduler-queue": _scheduler_queue,
    "scheduler-component": _scheduler_component,
    "scheduler-inter-pod-affinity": _inter_pod_affinity,
    "scheduler-node-ports": _node_ports,
    "scheduler-pod-topology-spread": _topology_spread,
    "scheduler-preemption": _preemption,
    "scheduler-preemption-component": _preemption_component,
    "replicaset-machine": _component("test_replicaset"),
    "deployment-machine": _component("test_deployment"),
    "nodelifecycle-machine": _nodelifecycle,
    "garbagecollector-machine": _component("test_garbagecollector"),
    "kubelet-machine": _component("test_kubelet"),
    "runtime-machine": _component("test_runtime"),
    "cluster": _cluster,
}

# -- reading the reported example --------------------------------------------------------------

# One step of a printed stateful program: ``state.rule(...)``, or ``name = state.rule(...)``
# when the rule feeds a bundle.
_STEP = re.compile(r"^(?:[\w(), ]+ = )?state\.(\w+)\(")


def printed_steps(error: BaseException) -> int | None:
    """The rule steps of the program Hypothesis printed for ``error`` (None if it printed none)."""
    notes = getattr(error, "__notes__", None) or []
    if not any(note.startswith("state = ") for note in notes):
        return None
    names = [m.group(1) for note in notes if (m := _STEP.match(note))]
    return sum(1 for name in names if name != "teardown")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def hunt(entry: Mutant, *, max_examples: int | None = None, shrink: bool = True) -> HuntResult:
    """Run the mutant's suite runner; what caught it (or why nothing did)."""
    examples = entry.budget if max_examples is None else max_examples
    cfg = profiles.mutant_hunt(examples, shrink=shrink)
    record = _Record()
    common = dict(
        name=entry.name,
        protocol=entry.protocol,
        description=entry.description,
        hunter=entry.hunter,
    )
    start = time.monotonic()
    try:
        with report.isolated():
            RUNNERS[entry.hunter](entry, cfg, record)
    except InvariantViolation as violation:
        steps = record.steps if record.steps is not None else printed_steps(violation)
        return HuntResult(
            caught=True,
            invariant=violation.invariant_id,
            steps=steps,
            error=None,
            expected=violation.invariant_id in entry.catchers,
            seconds=round(time.monotonic() - start, 2),
            **common,
        )
    except Exception as error:  # a crash is reported, never counted as a catch
        return HuntResult(
            caught=False,
            invariant=None,
            steps=None,
            error=f"failed without an InvariantViolation: {_first_line(error)}",
            seconds=round(time.monotonic() - start, 2),
            **common,
        )
    return HuntResult(
        caught=False,
        invariant=None,
        steps=None,
        error=f"escaped: no failing history in {examples} examples",
        seconds=round(time.monotonic() - start, 2),
        **common,
    )


def hunt_all(
    entries: Iterable[Mutant],
    *,
    max_examples: int | None = None,
    shrink: bool = True,
    progress: Callable[[HuntResult], None] | None = None,
) -> list[HuntResult]:
    """Hunt every entry in order; ``progress`` sees each result as it comes."""
    results = []
    for entry in entries:
        result = hunt(entry, max_examples=max_examples, shrink=shrink)
        if progress is not None:
            progress(result)
        results.append(result)
    return results


# -- the report ---------------------------------------------------------------------------------


def totals(results: Sequence[HuntResult]) -> dict[str, Any]:
    """Caught / total, overall and per protocol, and whether every mutant was caught."""
    caught = sum(result.caught for result in results)
    by_protocol: dict[str, dict[str, int]] = {}
    for result in results:
        counts = by_protocol.setdefault(result.protocol, {"caught": 0, "total": 0})
        counts["total"] += 1
        counts["caught"] += result.caught
    return {
        "caught": caught,
        "total": len(results),
        "rate": round(100.0 * caught / len(results), 1) if results else 0.0,
        "all_caught": bool(results) and caught == len(results),
        "protocols": by_protocol,
    }


def caught_by(result: HuntResult) -> str:
    """The CAUGHT-BY cell: the invariant, or why there is none."""
    if result.caught:
        return str(result.invariant)
    return f"NOT CAUGHT ({result.error})"


def summary_line(results: Sequence[HuntResult]) -> str:
    counts = totals(results)
    return f"caught {counts['caught']}/{counts['total']} mutants ({counts['rate']:g} %)"


def _md(text: object) -> str:
    """A markdown table cell: pipes escaped, on one line."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")


def markdown(results: Sequence[HuntResult]) -> str:
    lines = [
        summary_line(results),
        "",
        "| mutant | protocol | caught by | steps | bug |",
        "|---|---|---|---:|---|",
    ]
    for result in results:
        steps = "" if result.steps is None else result.steps
        cells = (result.id, result.protocol, caught_by(result), steps, result.description)
        lines.append("| " + " | ".join(_md(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def write(directory: str | Path, results: Sequence[HuntResult]) -> tuple[Path, Path]:
    """Write DIR/mutants.json and DIR/mutants.md; their paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    as_json = folder / "mutants.json"
    as_md = folder / "mutants.md"
    document = {"totals": totals(results), "mutants": [result.row() for result in results]}
    as_json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    as_md.write_text("# Mutants\n\n" + markdown(results), encoding="utf-8")
    return as_json, as_md
