"""The mutant catalogue: every broken implementation listed once, hunted the same way, reported.

The per-component mutant tests (tests/test_*_mutants.py) prove each mutant is
caught by its own suite; this module checks the uniform layer over them: the
catalogue lists every mutant of every protocol with its bug and its hunter, a
representative selection across the protocols is caught by an
InvariantViolation naming a registered invariant after shrinking, a correct or
crashing implementation is never reported as caught, and the report and the
``kubeprop mutants`` command show one row per mutant with the catch rate.
"""

from __future__ import annotations

import importlib
import json

import attrs
import pytest

from kubeprop import mutants as command
from kubeprop.conformance.mutants import catalogue, hunt
from kubeprop.reference.store import Store
from kubeprop.spec import invariants

ISSUE_PROTOCOLS = (
    "store",
    "scheduler",
    "replicaset",
    "deployment",
    "nodelifecycle",
    "kubelet",
    "apiserver",
)

# Hunted here with shrinking, at least two per protocol the issue names, chosen among the
# quickest to find and shrink; `kubeprop mutants` hunts the whole catalogue (docs/mutants.md
# has its table), and each tests/test_*_mutants.py hunts every mutant of its protocol.
SELECTION = (
    "store/range-spends-a-revision",
    "store/watch-repeats-the-last-seen-revision",
    "store/empty-delete-spends-a-revision",
    "store/revision-rewinds-on-compact",
    "apiserver/first-validation-error-only",
    "apiserver/watch-ignores-compaction",
    "apiserver/conflict-as-invalid",
    "scheduler/preemption-evicts-equal-priority",
    "scheduler/preemption-without-reprieve",
    "scheduler/normalize-rounds",
    "scheduler/fifo-queue",
    "replicaset/off-by-one",
    "replicaset/acts-only-on-spec-changes",
    "deployment/updated-counts-all",
    "deployment/never-adopts",
    "nodelifecycle/no-default-toleration-seconds",
    "nodelifecycle/impatient-monitor",
    "kubelet/not-ready-node",
    "kubelet/restart-count-zero",
    "garbagecollector/never-collects",
    "runtime/exit-code-while-running",
)


def _module_tables() -> dict[str, set[str]]:
    """protocol -> the names the mutants modules list (MUTANTS and COMPONENT_MUTANTS)."""
    modules = {
        "store": ["store"],
        "apiserver": ["apiserver"],
        "client": ["client"],
        "scheduler": [
            "scheduler",
            "scheduler_inter_pod_affinity",
            "scheduler_node_ports",
            "scheduler_pod_topology_spread",
            "scheduler_preemption",
        ],
        "replicaset": ["replicaset"],
        "deployment": ["deployment"],
        "nodelifecycle": ["nodelifecycle"],
        "garbagecollector": ["garbagecollector"],
        "kubelet": ["kubelet"],
        "runtime": ["runtime"],
    }
    names: dict[str, set[str]] = {}
    for protocol, module_names in modules.items():
        for name in module_names:
            module = importlib.import_module(f"kubeprop.conformance.mutants.{name}")
            names.setdefault(protocol, set()).update(module.MUTANTS)
            names[protocol].update(getattr(module, "COMPONENT_MUTANTS", {}))
    return names


# -- the catalogue ---------------------------------------------------------------------------


def test_the_catalogue_lists_at_least_twenty_mutants_across_the_protocols_of_the_issue():
    entries = catalogue.catalogue()
    assert len(entries) >= 20
    protocols = {entry.protocol for entry in entries}
    assert set(ISSUE_PROTOCOLS) <= protocols
    for protocol in ("apiserver", "nodelifecycle", "kubelet"):
        assert len(catalogue.catalogue(protocol)) >= 2, protocol


def test_every_mutant_of_every_mutants_module_is_catalogued_exactly_once():
    listed: dict[str, set[str]] = {}
    for entry in catalogue.catalogue():
        listed.setdefault(entry.protocol, set()).add(entry.name)
    assert listed == _module_tables()
    ids = [entry.id for entry in catalogue.catalogue()]
    assert len(ids) == len(set(ids))


def test_every_entry_says_its_bug_its_hunter_and_invariants_that_are_registered():
    for entry in catalogue.catalogue():
        assert entry.description and "\n" not in entry.description, entry.id
        assert entry.hunter in hunt.RUNNERS, entry.id
        assert entry.budget >= 1, entry.id
        assert entry.catchers, entry.id
        for invariant_id in entry.catchers:
            invariants.get(invariant_id)
        assert entry.culprit.__module__ == entry.module, entry.id


def test_a_sut_string_names_the_class_with_the_bug_and_a_role_is_a_cluster_role():
    from kubeprop.reference.cluster import ROLES

    with_sut = [entry for entry in catalogue.catalogue() if entry.sut]
    assert {"store", "apiserver", "kubelet", "replicaset"} <= {e.protocol for e in with_sut}
    for entry in with_sut:
        module, _, attribute = entry.sut.removeprefix("python:").partition(":")
        assert getattr(importlib.import_module(module), attribute) is entry.culprit, entry.id
        assert entry.role is None or entry.role in ROLES, entry.id
    assert (
        catalogue.get("store/revision-rewinds-on-compact").sut
        == "python:kubeprop.conformance.mutants.store:RevisionRewindsOnCompact"
    )
    assert catalogue.get("nodelifecycle/never-evicts").role == "tainteviction"


def test_the_cluster_hunts_splice_whole_components_by_their_role():
    from kubeprop.reference.cluster import ROLES

    entries = catalogue.cluster_hunts()
    assert {entry.protocol for entry in entries} >= {"replicaset", "kubelet", "scheduler"}
    for entry in entries:
        assert entry.id.endswith("@cluster") and entry.hunter == "cluster"
        assert entry.role in ROLES and entry.sut.startswith("python:"), entry.id
        for invariant_id in entry.catchers:
            assert invariants.get(invariant_id).component == "cluster"
        assert catalogue.get(entry.id) == entry


def test_an_unknown_protocol_or_mutant_is_named_in_the_error():
    with pytest.raises(ValueError, match="'etcd'"):
        catalogue.catalogue("etcd")
    with pytest.raises(KeyError, match="store/no-such-bug"):
        catalogue.get("store/no-such-bug")


# -- hunting ---------------------------------------------------------------------------------


def test_the_selection_spans_every_protocol_of_the_issue_at_least_twice():
    protocols = [catalogue.get(mutant_id).protocol for mutant_id in SELECTION]
    assert len(SELECTION) >= 20
    for protocol in ISSUE_PROTOCOLS:
        assert protocols.count(protocol) >= 2, protocol


@pytest.mark.parametrize("mutant_id", SELECTION)
def test_the_uniform_hunt_catches_the_mutant_by_a_registered_invariant_in_a_short_history(
    mutant_id,
):
    result = hunt.hunt(catalogue.get(mutant_id), shrink=True)
    assert result.caught, result.error
    assert result.error is None
    invariants.get(result.invariant)  # a registered id
    assert result.steps is not None and result.steps >= 1, result


def test_the_steps_are_those_of_the_shrunk_program_hypothesis_prints():
    result = hunt.hunt(catalogue.get("store/compare-greater-less-swapped"), shrink=True)
    assert result.invariant == "STORE-TXN-COMPARE"
    # seed, then a txn whose compare goes the wrong way (tests/test_store_mutants.py shows
    # the same shrunk program); at most a write to compare against besides.
    assert 2 <= result.steps <= 4, result
    unshrunk = hunt.hunt(catalogue.get("store/compare-greater-less-swapped"), shrink=False)
    assert unshrunk.steps >= result.steps


def test_printed_steps_counts_rule_lines_and_not_the_constructor_or_teardown():
    error = AssertionError("x")
    error.__notes__ = [
        "state = StoreMachine()",
        "state.seed(puts=[(b'a', b'x')], prev_kv=False)",
        "popped_0 = state.pop()",
        "state.txn(compare=(Compare(key=b'a'),))",
        "state.teardown()",
    ]
    assert hunt.printed_steps(error) == 3
    assert hunt.printed_steps(AssertionError("no program")) is None


class _CrashingStore(Store):
    """Not a mutant: a store whose every put raises, to show a crash is not a catch."""

    def put(self, *args, **kwargs):
        raise ZeroDivisionError("put crashed")


def _store_named(name: str, factory) -> catalogue.Mutant:
    """A catalogue entry for a store that is not a mutant, hunted like the store mutants."""
    return attrs.evolve(
        catalogue.get("store/revision-rewinds-on-compact"),
        name=name,
        factory=factory,
        culprit=factory,
        description=factory.__doc__.splitlines()[0],
        sut=None,
    )


def test_the_reference_store_escapes_the_hunt_and_is_not_reported_caught():
    result = hunt.hunt(_store_named("reference", Store), max_examples=15, shrink=False)
    assert not result.caught
    assert result.invariant is None and result.steps is None
    assert result.error == "escaped: no failing history in 15 examples"


def test_a_crash_is_reported_as_not_caught_by_an_invariant():
    result = hunt.hunt(_store_named("crashing", _CrashingStore))
    assert not result.caught
    assert result.invariant is None
    assert result.error.startswith("failed without an InvariantViolation: ZeroDivisionError")


# -- the report and the command ----------------------------------------------------------------


def test_the_report_has_one_row_per_mutant_and_the_catch_rate(tmp_path):
    caught = hunt.hunt_all(
        [catalogue.get("replicaset/off-by-one"), catalogue.get("scheduler/normalize-rounds")]
    )
    escaped = hunt.hunt(_store_named("reference", Store), max_examples=5, shrink=False)
    as_json, as_md = hunt.write(tmp_path / "report", [*caught, escaped])

    document = json.loads(as_json.read_text())
    assert document["totals"]["caught"] == 2
    assert document["totals"]["total"] == 3
    assert document["totals"]["all_caught"] is False
    rows = {row["id"]: row for row in document["mutants"]}
    assert set(rows) == {
        "replicaset/off-by-one",
        "scheduler/normalize-rounds",
        "store/reference",
    }
    off_by_one = rows["replicaset/off-by-one"]
    assert off_by_one["caught"] is True
    assert off_by_one["invariant"] == "REPLICASET-NO-SURPLUS"
    assert off_by_one["steps"] >= 1
    assert off_by_one["description"] == catalogue.get("replicaset/off-by-one").description
    assert rows["store/reference"]["caught"] is False

    text = as_md.read_text()
    assert "caught 2/3 mutants (66.7 %)" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 3  # header and one row per mutant
    assert any("REPLICASET-NO-SURPLUS" in line for line in table)
    assert any("NOT CAUGHT (escaped" in line for line in table)


def test_the_command_prints_the_table_and_exits_0_when_every_mutant_is_caught(tmp_path, capsys):
    code = command.main(
        ["--mutant", "replicaset/off-by-one", "--mutant", "runtime/process-wide-ids"]
        + ["--report", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "PROTOCOL", "CAUGHT-BY", "STEPS"]
    row = next(line for line in lines if line.startswith("replicaset/off-by-one"))
    assert row.split()[1:3] == ["replicaset", "REPLICASET-NO-SURPLUS"]
    assert int(row.split()[3]) >= 1
    assert "caught 2/2 mutants (100 %)" in out
    assert (tmp_path / "mutants.json").exists() and (tmp_path / "mutants.md").exists()


def test_the_command_lists_the_catalogue_without_hunting(capsys):
    assert command.main(["--list", "--protocol", "kubelet"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert listed == [entry.id for entry in catalogue.catalogue("kubelet")]


def test_the_command_exits_1_when_a_mutant_escapes(monkeypatch, capsys):
    real = catalogue.get("replicaset/off-by-one")
    monkeypatch.setattr(
        catalogue,
        "catalogue",
        lambda protocol=None: [real, _store_named("reference", Store)],
    )
    assert command.main(["--max-examples", "5", "--no-shrink"]) == 1
    out = capsys.readouterr().out
    assert "NOT CAUGHT (escaped" in out
    assert "caught 1/2 mutants (50 %)" in out


def test_the_command_names_bad_input_in_one_line(capsys):
    assert command.main(["--mutant", "store/no-such-bug"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "kubeprop mutants: error: no mutant 'store/no-such-bug' in the catalogue "
        "(see 'kubeprop mutants --list')"
    )
    assert command.main(["--max-examples", "0"]) == 2
    assert "--max-examples: invalid value '0'" in capsys.readouterr().err


# -- whole-cluster hunts (slow: tox runs them in py only) --------------------------------------


# One of the four: tests/test_cluster_mutants.py hunts all of them (minutes each) with the
# same machine; this one shows the catalogue's cluster hunter splices by role and reports.
@pytest.mark.hunt
def test_the_cluster_machine_catches_the_mutant_spliced_in_by_its_role():
    entry = catalogue.get("replicaset/off-by-one@cluster")
    assert (entry.role, entry.hunter) == ("replicaset", "cluster")
    result = hunt.hunt(entry, shrink=True)
    assert result.caught, result.error
    assert result.invariant in entry.catchers, result
    assert 1 <= result.steps <= hunt.CLUSTER_STEPS, result
