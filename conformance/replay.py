"""``kubeprop replay FILE``: run a saved cluster history again, step by step, with its checks.

Contract: the file is a history the cluster suite saved (spec/cluster.md
section 5). Its steps run on a fresh cluster with the same seed, nodes,
capacity and components, with the safety checks after every step and the
liveness checks at the end, exactly as in the suite; the run is
deterministic, so a history that failed fails again the same way. The result
is printed (each step, then PASSED or the violated invariant and its message)
and returned as the exit code: 0 if every check held, 1 if one failed.
A file that cannot be read or is not a history is a ``ValueError`` naming
the field.
"""

from __future__ import annotations

from typing import TextIO

from kubeprop.conformance import machine  # noqa: F401  (registers the user actions)
from kubeprop.conformance.history import History, InvariantViolation, Run


def replay_text(text: str, filename: str, out: TextIO) -> int:
    history = History.from_yaml(text, filename)
    components = ", ".join(f"{r}={p}" for r, p in history.components.items()) or "reference"
    print(
        f"replaying {filename}: seed {history.seed}, {history.nodes} nodes, "
        f"components: {components}",
        file=out,
    )
    run = Run(history)
    try:
        for number, step in enumerate(history.steps, 1):
            print(f"  {number:2}. t={run.cluster.now:7.1f}s  {step}", file=out)
            run.step(step)
            run.check_safety()
        print(f"  --  t={run.cluster.now:7.1f}s  heal, settle, check liveness", file=out)
        run.check_liveness()
    except InvariantViolation as error:
        print(f"FAILED at t={run.cluster.now:.1f}s: {error}", file=out)
        if history.failure:
            same = history.failure.split(" ", 1)[0] == error.invariant_id
            print(
                "the same invariant failed as when the history was saved"
                if same
                else f"the history was saved failing: {history.failure.splitlines()[0]}",
                file=out,
            )
        return 1
    print(f"PASSED: every invariant held (t={run.cluster.now:.1f}s)", file=out)
    return 0


def replay_file(path: str, out: TextIO) -> int:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    return replay_text(text, path, out)
