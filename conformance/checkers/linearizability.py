"""Linearizability of concurrent store histories: a recorder, a key-register model, a checker.

Contract:
- A history is a list of ``Operation(client, call, return_, input, output)``:
  ``call`` and ``return_`` are times on one monotonic clock; ``return_`` is None
  when the outcome is unknown (a timeout, a lost connection), and ``output`` is
  then None too: the operation may have taken effect at any instant after its
  call, or never. An ``output`` of ``Failed`` is a definite error answer (a
  ``StoreError``): the operation did not take effect, and the checker drops it,
  as Jepsen does with a ``:fail``.
- ``check(history, model, budget)`` decides whether the history is linearizable
  with respect to the sequential ``model`` (Herlihy & Wing, 1990): whether the
  completed operations, plus any subset of the unknown ones, can be put in one
  sequence that respects real-time order (an operation that returned before
  another was called comes first) and that the model accepts output by output.
  The search is Wing & Gong's depth-first search over "which pending operation
  takes effect next", with Lowe's memo of (set of linearized operations, model
  state) pairs, as Porcupine does (https://github.com/anishathalye/porcupine,
  https://www.cs.ox.ac.uk/people/gavin.lowe/LinearizabiltyTesting/). The model
  partitions the history (P-compositionality: a history is linearizable iff every
  partition is) and each partition is searched alone, with at most ``budget``
  model steps; past it the partition is "unknown", never "ok".
- The result says ``ok`` / ``violation`` / ``unknown``. A violation names its
  partition (the key), the longest sequence the search could linearize, the
  model state after it, and the operations that could not be ordered next.
- ``STORE_REGISTER`` models one etcd key: value, version, create and mod
  revision. The workload is restricted to single-key requests (range of one key,
  put, delete of one key, and a compare-and-swap txn on one key) so that the
  key partition is exact; no operation spans partitions. Revisions are global
  across keys, so the key model checks what one key can observe (value, version,
  prev_kv, deleted count, txn succeeded, and that every response showing the
  same write reports the same create/mod revision), plus one fact about the
  global revision that holds within a key: the requests on a key take effect in
  the order of their header revisions (a write strictly above everything before
  it, a read not below). The search tries concurrent requests in that order
  first, so a correct history is linearized without backtracking.
- ``revision_order`` checks the global revision order over the whole history: a
  write's revision is above every header revision returned before the write was
  called, no header is below one returned before its request was called, no two
  writes share a revision, and no kv is newer than its response's header.
  ``check_store_history`` runs both. Source of the guarantees:
  https://etcd.io/docs/v3.5/learning/api_guarantees/ (linearizable requests;
  "revisions are ... monotonically increasing").
- ``record(store, workload)`` drives one store from ``workload.clients`` threads,
  each issuing ``workload.operations`` requests drawn from its own seeded
  ``random.Random`` (so the requests a client sends depend only on the seed and
  the answers it got), and records call and return with ``time.monotonic()``.
  An exception listed in ``unknown`` (by default ``OSError``, which covers
  ``TimeoutError``, ``ConnectionError`` and requests' errors; an adapter adds its
  own "unavailable" error) or a ``StoreError`` carrying one of etcd's ambiguous
  messages (``AMBIGUOUS_ERRORS``: "request timed out", ...) is recorded as an
  unknown outcome, after which the client goes on as a new client id (its
  unknown operation stays pending forever); any other ``StoreError``, and a
  refused connection (nothing was sent), is recorded as ``Failed``. The store
  must be safe to call from several threads at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, Literal, NamedTuple

import attrs

from kubeprop.spec import etcd

DEFAULT_BUDGET = 200_000  # model steps per partition before the verdict is "unknown"
UNKNOWN_REVISION = -1  # a revision the history has not shown yet (the write's outcome was lost)
# etcd's errors after which a request may still have been applied (the proposal was sent to
# raft before the server gave up waiting): the outcome is unknown, not a failure.
# https://github.com/etcd-io/etcd/blob/release-3.4/etcdserver/api/v3rpc/rpctypes/error.go
AMBIGUOUS_ERRORS = (
    "etcdserver: request timed out",
    "etcdserver: leader changed",
    "etcdserver: server stopped",
)
REFUSED = "Connection refused"  # strerror(ECONNREFUSED), as wrapped errors quote it
COMPARE_TARGETS = (
    etcd.CompareTarget.VALUE,
    etcd.CompareTarget.VERSION,
    etcd.CompareTarget.CREATE,
    etcd.CompareTarget.MOD,
)


# ---- histories -------------------------------------------------------------------------------


@attrs.frozen
class Failed:
    """A definite error answer: the operation did not take effect."""

    message: str


@attrs.frozen
class Operation:
    """One request as a client saw it (see the module's contract)."""

    client: int
    call: float
    return_: float | None  # None: the outcome is unknown (returns at +infinity)
    input: Any
    output: Any  # None when the outcome is unknown

    @property
    def unknown(self) -> bool:
        return self.return_ is None

    @property
    def failed(self) -> bool:
        return isinstance(self.output, Failed)

    def __str__(self) -> str:
        return self.describe()

    def describe(self, origin: float = 0.0) -> str:
        """One line; times in seconds since ``origin``."""
        returned = "?" if self.return_ is None else f"{self.return_ - origin:.6f}"
        output = "unknown" if self.unknown else self.output
        span = f"[{self.call - origin:.6f}, {returned}]"
        return f"client {self.client} {span} {self.input} -> {output}"


History = Sequence[Operation]


@attrs.frozen
class Model:
    """A sequential specification: ``step(state, input, output)`` gives the states the model
    may be in after the operation (none: the output is impossible; several: the model cannot
    tell yet, e.g. a compare against a revision never observed). ``output`` is None for an
    operation whose outcome is unknown. ``step`` never mutates ``state``; states are hashable
    values."""

    init: Callable[[], Hashable]
    step: Callable[[Hashable, Any, Any], Iterable[Hashable]]
    # The independent sub-histories, by a name (the key); default: the whole history.
    partition: Callable[[History], dict[Hashable, list[Operation]]] = lambda ops: {None: list(ops)}
    # The order in which concurrent operations are tried (any order gives the same verdict;
    # the store model tries them in revision order, which is nearly always right at once).
    priority: Callable[[Operation], Any] = lambda op: op.call


@attrs.frozen
class Violation:
    """Why one partition is not linearizable (the deepest point the search reached)."""

    partition: Hashable
    linearized: tuple[Operation, ...]  # the longest sequence the model accepted, in order
    state: Hashable  # the model state after it
    pending: tuple[Operation, ...]  # the operations that could come next, none of which fits

    def explain(self, last: int = 3) -> str:
        """The last ``last`` operations linearized and the ones that could not follow; times
        in seconds since the first call shown."""
        shown = self.linearized[-last:]
        origin = min(op.call for op in (*shown, *self.pending))
        skipped = len(self.linearized) - len(shown)
        lines = [f"partition {self.partition!r} is not linearizable:"]
        lines.append(
            f"  after {len(self.linearized)} operation(s) in order"
            + (f" (the first {skipped} not shown)" if skipped else "")
            + ":"
        )
        lines += [f"    {op.describe(origin)}" for op in shown]
        lines.append(f"  the state is {self.state}, and none of these can take effect next:")
        lines += [f"    {op.describe(origin)}" for op in self.pending]
        return "\n".join(lines)


Verdict = Literal["ok", "violation", "unknown"]


@attrs.frozen
class Result:
    """The verdict on a whole history."""

    verdict: Verdict
    operations: int  # operations checked (definite failures excluded)
    partitions: int
    steps: int  # model steps taken, over all partitions
    violation: Violation | None = None  # the first partition found not linearizable
    undecided: tuple[Hashable, ...] = ()  # partitions whose search ran out of budget
    revision_errors: tuple[str, ...] = ()  # what revision_order found

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    @property
    def unknown(self) -> bool:
        return self.verdict == "unknown"

    def explain(self) -> str:
        if self.ok:
            return f"linearizable: {self.operations} operations in {self.partitions} partition(s)"
        parts = []
        if self.violation is not None:
            parts.append(self.violation.explain())
        if self.revision_errors:
            parts.append("revision order violated: " + "; ".join(self.revision_errors[:5]))
        if self.undecided:
            parts.append(
                f"undecided: the search budget ran out on partition(s) {list(self.undecided)}"
            )
        return "\n".join(parts)


# ---- the search ------------------------------------------------------------------------------


class _Outcome(NamedTuple):
    verdict: Verdict
    steps: int
    violation: Violation | None


def check_partition(
    ops: Sequence[Operation], model: Model, *, budget: int = DEFAULT_BUDGET, name: Hashable = None
) -> _Outcome:
    """Search one partition for a linearization (definite failures must be dropped already)."""
    n = len(ops)
    # The events in time order; at equal times calls come first, so touching operations count
    # as concurrent (the permissive reading). Unknown returns sit at +infinity.
    events = sorted(
        [(op.call, 0, i) for i, op in enumerate(ops)]
        + [
            (op.return_ if op.return_ is not None else float("inf"), 1, i)
            for i, op in enumerate(ops)
        ]
    )
    # A doubly linked list over event nodes 1..2n (node 0 is the head): call node of op i is
    # 2i+1, its return node 2i+2. Linearizing an op unlinks both of its nodes.
    size = 2 * n + 1
    nxt = [0] * size
    prv = [0] * size
    order = [0] + [2 * i + 1 + kind for _, kind, i in events]
    for a, b in zip(order, order[1:]):
        nxt[a], prv[b] = b, a
    nxt[order[-1]] = -1

    def unlink(node: int) -> None:
        nxt[prv[node]] = nxt[node]
        if nxt[node] != -1:
            prv[nxt[node]] = prv[node]

    def relink(node: int) -> None:
        nxt[prv[node]] = node
        if nxt[node] != -1:
            prv[nxt[node]] = node

    def candidates() -> list[int]:
        """The ops that may take effect next: those called before the first pending return,
        in the model's preferred order (any order is correct; a good one is fast)."""
        found, node = [], nxt[0]
        while node != -1 and node % 2:
            found.append((node - 1) // 2)
            node = nxt[node]
        return sorted(found, key=lambda i: model.priority(ops[i]))

    definite = sum(1 for op in ops if not op.unknown)
    seen: set[tuple[int, Hashable]] = set()
    # The ops linearized so far, each with the state before it, its untried successor states
    # and the candidates not tried yet at its level.
    stack: list[tuple[int, Hashable, list[Hashable], list[int]]] = []
    state = model.init()
    linearized = 0  # bitmask of the ops in ``stack``
    steps = 0
    deepest: Violation | None = None

    def take(i: int, before: Hashable, successors: list[Hashable], rest: list[int]) -> bool:
        """Linearize op i into the first successor state not explored yet."""
        nonlocal state, linearized, definite
        while successors:
            after = successors.pop(0)
            key = (linearized | (1 << i), after)
            if key in seen:
                continue
            seen.add(key)
            stack.append((i, before, successors, rest))
            state, linearized = after, linearized | (1 << i)
            unlink(2 * i + 1)
            unlink(2 * i + 2)
            definite -= not ops[i].unknown
            return True
        return False

    level = candidates()
    untried = list(level)
    while definite:
        while untried:
            i = untried.pop(0)
            steps += 1
            if steps > budget:
                return _Outcome("unknown", steps - 1, None)
            if take(i, state, list(model.step(state, ops[i].input, ops[i].output)), untried):
                level = candidates()
                untried = list(level)
                break
        else:
            # No candidate fits: the first pending return cannot be met on this path.
            if deepest is None or len(stack) > len(deepest.linearized):
                deepest = Violation(
                    partition=name,
                    linearized=tuple(ops[j] for j, _, _, _ in stack),
                    state=state,
                    pending=tuple(sorted((ops[j] for j in level), key=lambda op: op.call)),
                )
            if not stack:
                return _Outcome("violation", steps, deepest)
            i, before, successors, rest = stack.pop()
            state, linearized = before, linearized & ~(1 << i)
            relink(2 * i + 2)
            relink(2 * i + 1)
            definite += not ops[i].unknown
            if take(i, before, successors, rest):  # the same op, into another possible state
                level = candidates()
                untried = list(level)
            else:
                level = candidates()
                untried = rest
    return _Outcome("ok", steps, None)


def check(history: History, model: Model, *, budget: int = DEFAULT_BUDGET) -> Result:
    """Whether ``history`` is linearizable for ``model``, partition by partition."""
    live = [op for op in history if not op.failed]
    partitions = model.partition(live)
    steps, violation, undecided = 0, None, []
    for name in sorted(partitions, key=repr):
        outcome = check_partition(partitions[name], model, budget=budget, name=name)
        steps += outcome.steps
        if outcome.verdict == "violation" and violation is None:
            violation = outcome.violation
        elif outcome.verdict == "unknown":
            undecided.append(name)
    verdict: Verdict = "violation" if violation else "unknown" if undecided else "ok"
    return Result(
        verdict=verdict,
        operations=len(live),
        partitions=len(partitions),
        steps=steps,
        violation=violation,
        undecided=tuple(undecided),
    )


# ---- the store model: one etcd key -----------------------------------------------------------


@attrs.frozen
class Get:
    key: bytes

    def __str__(self) -> str:
        return f"get({self.key!r})"


@attrs.frozen
class Put:
    key: bytes
    value: bytes
    prev_kv: bool = False

    def __str__(self) -> str:
        return f"put({self.key!r}, {self.value!r}{', prev_kv' if self.prev_kv else ''})"


@attrs.frozen
class Delete:
    key: bytes
    prev_kv: bool = False

    def __str__(self) -> str:
        return f"delete({self.key!r}{', prev_kv' if self.prev_kv else ''})"


@attrs.frozen
class Cas:
    """txn(compare=[target(key) == expected], success=[put(key, value, prev_kv)],
    failure=[range(key)]): Kubernetes' optimistic update is this with target MOD."""

    key: bytes
    target: etcd.CompareTarget
    expected: int | bytes
    value: bytes

    def __str__(self) -> str:
        return f"cas({self.key!r}, {self.target.value}=={self.expected!r} -> {self.value!r})"


class KV(NamedTuple):
    """What a response shows of a key (etcd.KeyValue without key and lease)."""

    value: bytes
    version: int
    create_revision: int
    mod_revision: int


@attrs.frozen
class Read:
    kv: KV | None  # None: the key does not exist
    revision: int  # header revision


@attrs.frozen
class Written:
    prev: KV | None  # prev_kv (None if not asked for or the key did not exist)
    revision: int  # header revision: the put's own revision


@attrs.frozen
class Deleted:
    deleted: int
    prev: KV | None
    revision: int


@attrs.frozen
class Swapped:
    succeeded: bool
    kv: KV | None  # success: the put's prev_kv; failure: the key as the failure range read it
    revision: int


class Register(NamedTuple):
    """The model state of one key: ``value`` None means absent (version and revisions 0)."""

    value: bytes | None
    version: int
    create_revision: int  # UNKNOWN_REVISION until a response shows it
    mod_revision: int  # UNKNOWN_REVISION until a response shows it
    # The highest header revision of the key's operations linearized so far: the revision
    # is the store's own order, so a later write must be above it and a later read not below.
    seen: int = 0


ABSENT = Register(None, 0, 0, 0)


def _learn(known: int, shown: int) -> int | None:
    if known == UNKNOWN_REVISION:
        return shown
    return known if known == shown else None


def _agree(state: Register, kv: KV | None) -> Register | None:
    """``state`` as refined by a response showing ``kv`` of it, or None if they disagree."""
    if kv is None or state.value is None:
        return state if kv is None and state.value is None else None
    if (kv.value, kv.version) != (state.value, state.version):
        return None
    create = _learn(state.create_revision, kv.create_revision)
    mod = _learn(state.mod_revision, kv.mod_revision)
    if create is None or mod is None:
        return None
    return state._replace(create_revision=create, mod_revision=mod)


def _at(state: Register | None, revision: int, *, write: bool) -> Register | None:
    """``state`` after an answer at header ``revision``, or None if that is out of order."""
    if state is None or revision < state.seen or (write and revision == state.seen):
        return None
    return state._replace(seen=revision)


def _put(state: Register, value: bytes, revision: int) -> Register:
    if state.value is None:
        return state._replace(
            value=value, version=1, create_revision=revision, mod_revision=revision
        )
    return state._replace(value=value, version=state.version + 1, mod_revision=revision)


def _delete(state: Register) -> Register:
    return ABSENT._replace(seen=state.seen)


def _compare(state: Register, op: Cas) -> list[tuple[bool, Register]]:
    """The possible (compare holds, refined state) outcomes of the compare on ``state``."""
    target = op.target
    if target is etcd.CompareTarget.VALUE:  # a VALUE compare on a missing key is false
        return [(state.value is not None and state.value == op.expected, state)]
    if target is etcd.CompareTarget.VERSION:
        return [(state.version == op.expected, state)]
    field = "create_revision" if target is etcd.CompareTarget.CREATE else "mod_revision"
    if target not in (etcd.CompareTarget.CREATE, etcd.CompareTarget.MOD):
        raise ValueError(f"cas.target: {target} is not modelled (VALUE, VERSION, CREATE, MOD)")
    actual = getattr(state, field)
    if actual == UNKNOWN_REVISION:  # the write that set it was lost: either way, for now
        return [(True, state._replace(**{field: op.expected})), (False, state)]
    return [(actual == op.expected, state)]


def register_step(state: Register, op: Any, out: Any) -> list[Register]:
    """The key model's step (see ``Model``)."""
    if isinstance(op, Get):
        if out is None:
            return [state]
        after = _at(_agree(state, out.kv), out.revision, write=False)
        return [after] if after else []
    if isinstance(op, Put):
        if out is None:
            return [_put(state, op.value, UNKNOWN_REVISION)]
        refined = _at(_agree(state, out.prev) if op.prev_kv else state, out.revision, write=True)
        return [_put(refined, op.value, out.revision)] if refined else []
    if isinstance(op, Delete):
        if out is None:
            return [_delete(state)]
        if out.deleted != (state.value is not None):
            return []
        if op.prev_kv and _agree(state, out.prev) is None:
            return []
        after = _at(state, out.revision, write=out.deleted > 0)
        return [_delete(after) if out.deleted else after] if after else []
    if isinstance(op, Cas):
        possible = []
        for holds, refined in _compare(state, op):
            if out is None:
                possible.append(_put(refined, op.value, UNKNOWN_REVISION) if holds else refined)
            elif out.succeeded == holds:
                shown = _at(_agree(refined, out.kv), out.revision, write=holds)
                if shown is not None:
                    possible.append(_put(shown, op.value, out.revision) if holds else shown)
        return possible
    raise TypeError(f"not a single-key store operation: {op!r}")


def by_key(history: History) -> dict[Hashable, list[Operation]]:
    partitions: dict[Hashable, list[Operation]] = {}
    for op in history:
        partitions.setdefault(op.input.key, []).append(op)
    return partitions


def revision_first(op: Operation) -> tuple[float, bool]:
    """Try operations in the order of their header revisions (a write before the reads at its
    revision), unknown outcomes last: the store's own order, right unless the store is not."""
    if op.output is None:
        return (float("inf"), True)
    return (op.output.revision, not _is_write(op.output))


STORE_REGISTER = Model(
    init=lambda: ABSENT, step=register_step, partition=by_key, priority=revision_first
)


# ---- the global revision order ---------------------------------------------------------------


def _is_write(out: Any) -> bool:
    return (
        isinstance(out, Written)
        or (isinstance(out, Deleted) and out.deleted > 0)
        or (isinstance(out, Swapped) and out.succeeded)
    )


def revision_order(history: History) -> list[str]:
    """What breaks the global revision order (empty: nothing); see the module's contract.
    Times in the messages are seconds since the history's first call."""
    done = [op for op in history if not op.unknown and not op.failed]
    if not done:
        return []
    origin = min(op.call for op in history)
    errors = []
    writes = Counter(op.output.revision for op in done if _is_write(op.output))
    errors += [f"{n} writes share revision {rev}" for rev, n in sorted(writes.items()) if n > 1]
    for op in done:
        kv = getattr(op.output, "kv", None) or getattr(op.output, "prev", None)
        if kv is not None and not kv.create_revision <= kv.mod_revision <= op.output.revision:
            errors.append(
                f"{op.describe(origin)}: the kv's create and mod revisions are out of order "
                f"or exceed the header's"
            )
    # Sweep the events in time order (calls first at equal times: touching is concurrent),
    # keeping the highest header revision of the requests returned so far.
    events = sorted(
        [(op.call, 0, k) for k, op in enumerate(done)]
        + [(op.return_, 1, k) for k, op in enumerate(done)]
    )
    highest: tuple[int, Operation | None] = (0, None)
    bound: dict[int, tuple[int, Operation | None]] = {}
    for _, kind, k in events:
        if kind == 0:
            bound[k] = highest
        elif done[k].output.revision > highest[0]:
            highest = (done[k].output.revision, done[k])
    for k, op in enumerate(done):
        floor, earlier = bound[k]
        if earlier is None:
            continue
        revision, before = op.output.revision, earlier.describe(origin)
        if _is_write(op.output) and revision <= floor:
            errors.append(
                f"write {op.describe(origin)} has revision {revision}, "
                f"not above {floor} returned earlier by {before}"
            )
        elif revision < floor:
            errors.append(
                f"{op.describe(origin)} reports revision {revision} < {floor} "
                f"returned earlier by {before}"
            )
    return errors


def check_store_history(history: History, *, budget: int = DEFAULT_BUDGET) -> Result:
    """Per-key linearizability and the global revision order of a recorded store history."""
    result = check(history, STORE_REGISTER, budget=budget)
    errors = tuple(revision_order(history))
    if errors:
        result = attrs.evolve(result, verdict="violation", revision_errors=errors)
    return result


# ---- the client: requests against a contracts.Store ------------------------------------------


def _kv(kv: etcd.KeyValue | None) -> KV | None:
    return None if kv is None else KV(kv.value, kv.version, kv.create_revision, kv.mod_revision)


def execute(store: Any, op: Any) -> Any:
    """Send ``op`` to ``store`` (a contracts.Store); the output the model reads."""
    if isinstance(op, Get):
        got = store.range(op.key)
        return Read(_kv(got.kvs[0]) if got.kvs else None, got.header.revision)
    if isinstance(op, Put):
        put = store.put(op.key, op.value, prev_kv=op.prev_kv)
        return Written(_kv(put.prev_kv), put.header.revision)
    if isinstance(op, Delete):
        deleted = store.delete_range(op.key, prev_kv=op.prev_kv)
        prev = _kv(deleted.prev_kvs[0]) if deleted.prev_kvs else None
        return Deleted(deleted.deleted, prev, deleted.header.revision)
    if isinstance(op, Cas):
        txn = store.txn(
            [etcd.Compare(op.key, op.target, etcd.CompareResult.EQUAL, op.expected)],
            [etcd.PutRequest(op.key, op.value, prev_kv=True)],
            [etcd.RangeRequest(op.key)],
        )
        answer = txn.responses[0] if txn.responses else None
        if txn.succeeded:
            kv = answer.prev_kv if isinstance(answer, etcd.PutResponse) else None
        else:
            kv = answer.kvs[0] if isinstance(answer, etcd.RangeResponse) and answer.kvs else None
        return Swapped(txn.succeeded, _kv(kv), txn.header.revision)
    raise TypeError(f"not a single-key store operation: {op!r}")


@attrs.frozen
class Workload:
    """What ``record`` sends: per client, ``operations`` requests over ``keys``."""

    clients: int = 4
    operations: int = 50  # per client
    keys: tuple[bytes, ...] = (b"lin/a", b"lin/b", b"lin/c")
    seed: int = 0
    # Relative weights of get, put, delete and compare-and-swap.
    weights: tuple[int, int, int, int] = (4, 3, 1, 3)
    timeout: float = 60.0  # seconds for the whole recording before RecorderError
    pause: float = 0.0  # seconds each client waits after each request (think time)


class RecorderError(RuntimeError):
    """A client thread raised something that is neither a store error nor a lost outcome,
    or the recording overran ``Workload.timeout``."""


@attrs.define
class _Client:
    """One client's request generator: random choices from its own seeded stream, compare
    operands from what it last saw of each key (so that many swaps succeed)."""

    number: int
    rng: random.Random
    seen: dict[bytes, KV | None] = attrs.Factory(dict)  # key -> what this client saw last
    sent: int = 0  # requests generated, for unique values

    def next(self, workload: Workload) -> Any:
        key = self.rng.choice(workload.keys)
        kind = self.rng.choices(("get", "put", "delete", "cas"), weights=workload.weights)[0]
        self.sent += 1
        value = f"{self.number}.{self.sent}".encode()  # unique: a read names its write
        if kind == "get":
            return Get(key)
        if kind == "put":
            return Put(key, value, prev_kv=self.rng.random() < 0.5)
        if kind == "delete":
            return Delete(key, prev_kv=self.rng.random() < 0.5)
        seen = self.seen.get(key)
        if seen is None:  # "create if absent", as Kubernetes creates
            return Cas(key, etcd.CompareTarget.CREATE, 0, value)
        target = self.rng.choice(COMPARE_TARGETS)
        expected = {
            etcd.CompareTarget.VALUE: seen.value,
            etcd.CompareTarget.VERSION: seen.version,
            etcd.CompareTarget.CREATE: seen.create_revision,
            etcd.CompareTarget.MOD: seen.mod_revision,
        }[target]
        return Cas(key, target, expected, value)

    def saw(self, op: Any, out: Any) -> None:
        if isinstance(out, Read) or (isinstance(out, Swapped) and not out.succeeded):
            self.seen[op.key] = out.kv
        elif isinstance(out, Deleted):
            self.seen[op.key] = None
        elif isinstance(out, Swapped) or (isinstance(out, Written) and op.prev_kv):
            prev = out.kv if isinstance(out, Swapped) else out.prev
            if prev is None:
                self.seen[op.key] = KV(op.value, 1, out.revision, out.revision)
            else:
                self.seen[op.key] = KV(
                    op.value, prev.version + 1, prev.create_revision, out.revision
                )
        elif isinstance(out, Written):  # version and create revision not shown: forget the key
            self.seen.pop(op.key, None)


def outcome_unknown(error: BaseException, unknown: tuple[type[BaseException], ...]) -> bool:
    """Whether ``error`` leaves the request's outcome unknown: one of the ``unknown`` types
    (checked first: an adapter's "unavailable" error may be a StoreError), or a StoreError
    with one of etcd's ambiguous messages; but never a refused connection (ECONNREFUSED, also
    when an adapter wraps it), which is a definite failure."""
    if isinstance(error, ConnectionRefusedError) or REFUSED in str(error):
        return False  # the connection was never made: nothing was sent, nothing happened
    if isinstance(error, unknown):
        return True
    return isinstance(error, etcd.StoreError) and any(
        fragment in str(error) for fragment in AMBIGUOUS_ERRORS
    )


def record(
    store: Any, workload: Workload, *, unknown: tuple[type[BaseException], ...] = (OSError,)
) -> list[Operation]:
    """Run the workload's clients against ``store`` concurrently; the history, by call time."""
    barrier = threading.Barrier(workload.clients)
    histories: list[list[Operation]] = [[] for _ in range(workload.clients)]
    crashes: list[BaseException] = []

    def run(number: int) -> None:
        client = _Client(number, random.Random(f"{workload.seed}/{number}"))
        identity = number  # a new identity after an unknown outcome (the old one is pending)
        try:
            barrier.wait(timeout=workload.timeout)
            for _ in range(workload.operations):
                op = client.next(workload)
                call = time.monotonic()
                try:
                    out = execute(store, op)
                except (etcd.StoreError, *unknown) as error:
                    out = error
                returned = time.monotonic()
                if not isinstance(out, BaseException):
                    client.saw(op, out)
                    histories[number].append(Operation(identity, call, returned, op, out))
                elif outcome_unknown(out, unknown):
                    histories[number].append(Operation(identity, call, None, op, None))
                    identity += workload.clients
                else:
                    histories[number].append(
                        Operation(identity, call, returned, op, Failed(str(out)))
                    )
                if workload.pause:
                    time.sleep(workload.pause)
        except BaseException as error:  # handed to the recording thread below
            crashes.append(error)
            barrier.abort()

    threads = [
        threading.Thread(target=run, args=(n,), name=f"linearizability-client-{n}", daemon=True)
        for n in range(workload.clients)
    ]
    deadline = time.monotonic() + workload.timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise RecorderError(f"the clients did not finish within {workload.timeout} s")
    if crashes:
        raise RecorderError(f"a client failed: {crashes[0]!r}") from crashes[0]
    return sorted((op for ops in histories for op in ops), key=lambda op: op.call)
