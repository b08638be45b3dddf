"""Systems under test: resolving ``--sut``, the plug-in protocols, their shells and skips.

The example plug-ins live in the checkout's ``examples/plugins`` (not in the
installed package), so these tests find them next to this file and import
them with the checkout's root on ``sys.path``, as ``--sut python:...`` does
from the folder it runs in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from kubeprop.conformance import adapters, report
from kubeprop.conformance.adapters import python as plugins
from kubeprop.conformance.adapters.reference import ReferenceAdapter
from kubeprop.conformance.report import InvariantViolation
from kubeprop.reference.cluster import Cluster
from kubeprop.spec import contracts

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "plugins"
SCHEDULER = "python:examples.plugins.scheduler:LeastAllocated"
REPLICASET = "python:examples.plugins.replicaset:ReplicaSetReconciler"
DEPLOYMENT = "python:examples.plugins.deployment:DeploymentReconciler"
NODELIFECYCLE = "python:examples.plugins.nodelifecycle:NodeLifecycleReconciler"
STORE = "python:examples.plugins.store:MemoryStore"
APISERVER = "python:examples.plugins.apiserver:AuditedApiServer"
NEEDS_EXAMPLES = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="examples/plugins is in the source checkout, not the package"
)


@pytest.fixture
def in_checkout(monkeypatch):
    """Run from the checkout's root with it on sys.path (restored afterwards)."""
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """Write a module of plug-ins into a temporary folder importable as ``name``."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        sys.modules.pop(name, None)
        return name

    return write


# ---------------------------------------------------------------------- resolving --sut


def test_reference_resolves_to_the_reference_adapter_with_every_simulated_capability():
    sut = adapters.resolve("reference")
    assert isinstance(sut, ReferenceAdapter)
    # Everything but real time: the reference runs on its simulated clock.
    assert sut.capabilities == frozenset(adapters.CAPABILITIES) - {"real-time"}
    assert sut.components() == {}  # nothing to splice: the cluster is the reference's


@NEEDS_EXAMPLES
@pytest.mark.parametrize(
    ("sut", "kind", "role"),
    [
        (SCHEDULER, "scheduler", "scheduler"),
        (REPLICASET, "controller", "replicaset"),
        (DEPLOYMENT, "controller", "deployment"),
        (NODELIFECYCLE, "controller", "nodelifecycle"),
        (STORE, "store", None),
        (APISERVER, "apiserver", None),
    ],
)
def test_each_example_resolves_to_a_python_adapter_of_its_kind(in_checkout, sut, kind, role):
    adapter = adapters.resolve(sut)
    assert isinstance(adapter, plugins.PythonAdapter)
    assert (adapter.kind, adapter.plugin.role) == (kind, role)
    if role is None:
        assert adapter.components() == {}
        assert "apiserver" in adapter.capabilities
        assert ("store" in adapter.capabilities) == (kind == "store")
        assert "cluster" not in adapter.capabilities
    else:
        assert set(adapter.components()) == {role}
        assert "cluster" in adapter.capabilities and "store" not in adapter.capabilities


def test_an_etcd_url_resolves_to_the_etcd_adapter_with_the_plain_url():
    etcd = pytest.importorskip("kubeprop.conformance.adapters.etcd")
    sut = adapters.resolve("etcd+http://127.0.0.1:2379")
    assert isinstance(sut, etcd.EtcdAdapter)
    assert sut.url == "http://127.0.0.1:2379"
    assert "advance-time" not in sut.capabilities  # real time cannot be advanced


@pytest.mark.parametrize(
    ("sut", "argument"),
    [
        ("kube+http://127.0.0.1:6443", "http://127.0.0.1:6443"),
        ("kube+https://cluster.example:6443", "https://cluster.example:6443"),
    ],
)
def test_a_kube_url_resolves_to_the_kube_adapter(monkeypatch, sut, argument):
    made = []
    monkeypatch.setattr(
        adapters, "_adapter_class", lambda module, name, s: lambda arg: made.append((module, arg))
    )
    adapters.resolve(sut)
    assert made == [("kube", argument)]


def test_a_kube_url_resolves_to_the_real_kube_adapter_when_it_is_installed():
    kube = pytest.importorskip("kubeprop.conformance.adapters.kube")
    sut = adapters.resolve("kube+http://127.0.0.1:6443")
    assert isinstance(sut, kube.KubeAdapter)
    assert "apiserver" in sut.capabilities and "cluster" not in sut.capabilities


def test_an_existing_kubeconfig_path_resolves_to_the_kube_adapter(tmp_path, monkeypatch):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    made = []
    monkeypatch.setattr(
        adapters, "_adapter_class", lambda module, name, s: lambda arg: made.append((module, arg))
    )
    adapters.resolve(str(kubeconfig))
    assert made == [("kube", str(kubeconfig))]


def test_the_kube_form_names_the_kube_adapter_when_it_cannot_be_loaded(monkeypatch):
    def missing(name, *args, **kwargs):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(adapters.importlib, "import_module", missing)
    with pytest.raises(ValueError, match=r"kubeprop\.conformance\.adapters\.kube\.KubeAdapter"):
        adapters.resolve("kube+http://127.0.0.1:6443")


@pytest.mark.parametrize(
    ("sut", "says"),
    [
        ("bogus", "use one of reference, python:MODULE:ATTR, etcd+http://HOST:PORT"),
        ("/no/such/kubeconfig", "a kubeconfig must be an existing file"),
        ("etcd+ftp://127.0.0.1:2379", "want etcd+http://HOST:PORT"),
        ("kube+ftp://host", "want kube+http://HOST:PORT"),
        ("python:examples.plugins.scheduler", "want python:MODULE:ATTR"),
        ("python:no_such_module_here:Thing", "cannot import module 'no_such_module_here'"),
        ("python:json:NoSuchThing", "module 'json' has no attribute 'NoSuchThing'"),
        ("python:json:JSONDecoder", "satisfies none of the protocols"),
    ],
)
def test_a_bad_sut_string_says_what_is_wrong(sut, says):
    with pytest.raises(ValueError) as raised:
        adapters.resolve(sut)
    assert says in str(raised.value)


def test_an_object_matching_no_protocol_is_told_the_protocols_by_name():
    with pytest.raises(ValueError) as raised:
        adapters.resolve("python:json:JSONDecoder")
    for name in ("Store", "ApiServer", "SchedulerPlugin", "Reconciler"):
        assert name in str(raised.value)


def test_a_store_given_as_an_instance_is_refused(plugin_module):
    plugin_module(
        "shared_store",
        """
        class Store:
            kind = "store"
        STORE = Store()
        """,
    )
    with pytest.raises(ValueError, match="a store must be a class or a factory"):
        adapters.resolve("python:shared_store:STORE")


def test_a_factory_function_is_called_to_find_its_protocol(plugin_module):
    plugin_module(
        "factory_plugin",
        """
        class Always:
            def schedule(self, pod, nodes, pods):
                return None
        def make():
            return Always()
        """,
    )
    sut = adapters.resolve("python:factory_plugin:make")
    assert sut.kind == "scheduler"
    assert isinstance(sut.plugin.make(), contracts.SchedulerPlugin)


def test_a_module_that_fails_to_import_is_named_with_its_error(plugin_module):
    plugin_module("broken_plugin", "raise RuntimeError('no config file')\n")
    with pytest.raises(ValueError, match="importing module 'broken_plugin' failed: RuntimeError"):
        adapters.resolve("python:broken_plugin:Anything")


def test_a_controller_of_an_unknown_resource_must_name_its_role(plugin_module):
    plugin_module(
        "odd_controller",
        """
        class Widgets:
            resource = "widgets"
            owns = ()
            def reconcile(self, key, client):
                return None
        """,
    )
    with pytest.raises(ValueError, match="set its 'role'"):
        adapters.resolve("python:odd_controller:Widgets")


# ---------------------------------------------------------------------- the examples


@NEEDS_EXAMPLES
def test_every_example_satisfies_its_protocol(in_checkout):
    from examples.plugins import apiserver, deployment, nodelifecycle, replicaset, scheduler, store

    assert isinstance(scheduler.LeastAllocated(), contracts.SchedulerPlugin)
    assert isinstance(replicaset.ReplicaSetReconciler(), contracts.Reconciler)
    assert isinstance(deployment.DeploymentReconciler(), contracts.Reconciler)
    assert isinstance(nodelifecycle.NodeLifecycleReconciler(), contracts.Reconciler)
    assert isinstance(store.MemoryStore(), contracts.Store)
    assert not isinstance(store.MemoryStore(), contracts.SchedulerPlugin)
    assert isinstance(apiserver.AuditedApiServer(), contracts.ApiServer)


@NEEDS_EXAMPLES
def test_the_examples_import_nothing_of_the_reference_model():
    """Each example is written from the contract alone; the API-server front end is the one
    exception: the server it stands in front of is kubeprop's, and it imports only that."""
    for path in EXAMPLES.glob("*.py"):
        found = {
            line.strip() for line in path.read_text().splitlines() if "kubeprop.reference" in line
        }
        allowed = {"from kubeprop.reference.apiserver import ApiServer"}
        assert found <= (allowed if path.name == "apiserver.py" else set()), path.name


def _node(name, cpu="2", pods="10", taints=(), unschedulable=False, labels=None):
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": list(taints), "unschedulable": unschedulable},
        "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": pods}},
    }


def _pod(name, cpu=None, node=None, tolerations=(), selector=None):
    container = {"name": "c", "image": "nginx"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec = {"containers": [container], "tolerations": list(tolerations)}
    if node:
        spec["nodeName"] = node
    if selector:
        spec["nodeSelector"] = selector
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


@NEEDS_EXAMPLES
@pytest.mark.parametrize(
    ("case", "pod", "nodes", "pods", "chosen"),
    [
        (
            "the least allocated node wins",
            _pod("p", cpu="500m"),
            [_node("a"), _node("b")],
            [_pod("x", cpu="1", node="a")],
            "b",
        ),
        (
            "a cordoned node is skipped",
            _pod("p"),
            [_node("a", unschedulable=True), _node("b")],
            [_pod("x", cpu="1", node="b")],
            "b",
        ),
        (
            "an untolerated NoSchedule taint rules a node out",
            _pod("p"),
            [_node("a", taints=[{"key": "k", "effect": "NoSchedule"}])],
            [],
            None,
        ),
        (
            "a toleration lets the pod onto a tainted node",
            _pod("p", tolerations=[{"key": "k", "operator": "Exists"}]),
            [_node("a", taints=[{"key": "k", "effect": "NoSchedule"}])],
            [],
            "a",
        ),
        (
            "a pod that needs more CPU than is left stays pending",
            _pod("p", cpu="1500m"),
            [_node("a", cpu="2")],
            [_pod("x", cpu="1", node="a")],
            None,
        ),
        (
            "the pod count counts",
            _pod("p"),
            [_node("a", pods="1")],
            [_pod("x", node="a")],
            None,
        ),
        (
            "a nodeSelector picks the labelled node",
            _pod("p", selector={"zone": "b"}),
            [_node("a", labels={"zone": "a"}), _node("z", labels={"zone": "b"})],
            [],
            "z",
        ),
    ],
)
def test_the_example_scheduler_places_pods_as_the_contract_says(
    in_checkout, case, pod, nodes, pods, chosen
):
    from examples.plugins.scheduler import LeastAllocated

    assert LeastAllocated().schedule(pod, nodes, pods) == chosen, case


# ---------------------------------------------------------------------- the shells


@NEEDS_EXAMPLES
@pytest.mark.parametrize("sut", [SCHEDULER, REPLICASET, DEPLOYMENT, NODELIFECYCLE])
def test_a_cluster_with_an_example_component_runs_a_deployment(in_checkout, sut):
    adapter = adapters.resolve(sut)
    cluster = Cluster.create(3, components=adapter.components())
    (role,) = adapter.components()
    assert type(cluster.components[role]).__name__ in ("SchedulerShell", "ReconcilerShell")
    cluster.apply((REPO / "examples" / "nginx-deployment.yaml").read_text())
    assert cluster.run_until(
        lambda c: sum(p["status"].get("phase") == "Running" for p in c.list("pods")) == 3,
        limit=120,
    )
    cluster.scale("deployments", "nginx-deployment", 1)
    assert cluster.run_until(
        lambda c: (
            len([p for p in c.list("pods") if not p["metadata"].get("deletionTimestamp")]) == 1
        ),
        limit=120,
    )
    assert getattr(cluster.components[role], "errors", []) == []


def test_a_saved_history_names_the_shell_by_a_loadable_path(plugin_module):
    from kubeprop.conformance.history import load_component

    plugin_module(
        "loadable_plugin",
        """
        class Never:
            def schedule(self, pod, nodes, pods):
                return None
        """,
    )
    sut = adapters.resolve("python:loadable_plugin:Never")
    (path,) = sut.component_paths().values()
    assert path == "kubeprop.conformance.adapters.python:loadable_plugin:Never"
    assert load_component(path) == sut.components()["scheduler"]


def test_a_reconciler_that_raises_is_retried_with_its_error_kept(plugin_module):
    plugin_module(
        "flaky_controller",
        """
        from kubeprop.spec.contracts import ApiError
        CALLS = []
        class Flaky:
            resource = "replicasets"
            owns = ("pods",)
            def reconcile(self, key, client):
                CALLS.append(key)
                if len(CALLS) < 3:
                    raise ApiError(409, {"reason": "Conflict", "message": "try again"})
                return None
        """,
    )
    cluster = Cluster.create(
        1, components=adapters.resolve("python:flaky_controller:Flaky").components()
    )
    cluster.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1.23"}]},
                },
            },
        }
    )
    cluster.advance(5)
    import flaky_controller

    assert flaky_controller.CALLS[:3] == [("default", "web")] * 3
    shell = cluster.components["replicaset"]
    assert [key for key, _ in shell.errors] == ["default/web", "default/web"]
    assert "409 Conflict: try again" in shell.errors[0][1]


def test_a_broken_scheduler_plug_in_is_caught_by_the_component_suite(plugin_module):
    from kubeprop.conformance.suites.test_scheduler_component import make_component_machine

    plugin_module(
        "first_node",
        """
        class FirstNode:
            def schedule(self, pod, nodes, pods):
                return nodes[0]["metadata"]["name"]
        """,
    )
    factory = adapters.resolve("python:first_node:FirstNode").component("scheduler")
    hunt = settings(
        max_examples=50,
        stateful_step_count=15,
        deadline=None,
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
    )
    # Failed on purpose: kept out of the run's invariant report, as the mutant tests are.
    with pytest.raises(InvariantViolation) as caught, report.isolated():
        run_state_machine_as_test(make_component_machine(factory), settings=hunt)
    assert caught.value.invariant_id in (
        "SCHEDULER-BIND-FEASIBLE",
        "SCHEDULER-NO-OVERCOMMIT",
    )


def test_a_component_of_another_role_is_unsupported_with_the_reason(plugin_module):
    plugin_module(
        "role_plugin",
        """
        class Never:
            def schedule(self, pod, nodes, pods):
                return None
        """,
    )
    sut = adapters.resolve("python:role_plugin:Never")
    with pytest.raises(adapters.Unsupported, match="is a scheduler, not a replicaset component"):
        sut.component("replicaset")
    with pytest.raises(adapters.Unsupported, match="lacks store"):
        sut.require("store")


# ---------------------------------------------------------------------- skips are reported


@NEEDS_EXAMPLES
def test_checks_a_plug_in_cannot_take_are_skipped_with_the_reason(tmp_path):
    # Not from the checkout: there ``kubeprop/`` would shadow the installed package.
    shutil.copytree(EXAMPLES, tmp_path / "examples" / "plugins")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-q",
            "-rs",
            "--pyargs",
            "kubeprop.conformance.suites.test_store_contract",
            "kubeprop.conformance.suites.test_replicaset",
            "kubeprop.conformance.suites.test_cluster",
            "-k",
            "fresh_store or obeys_every or keeps_every or survives",
            "--sut",
            STORE,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:]
    assert "1 passed, 3 skipped" in out, out[-3000:]
    reasons = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert len(reasons) == 3, reasons
    assert all(f"SUT '{STORE}' lacks cluster" in line for line in reasons), reasons


# ---------------------------------------------------------------------- the reconciler's client


def test_the_reconcilers_client_speaks_manifests_and_raises_api_errors():
    from kubeprop.reference.apiserver import ApiServer
    from kubeprop.reference.client import Connection, EventRecorder
    from kubeprop.reference.loop import EventLoop

    loop = EventLoop()
    server = ApiServer(clock=loop.clock)
    connection = Connection(server, "test")
    client = plugins.ManifestClient(connection, EventRecorder(connection, loop.clock, "t"), loop)
    assert isinstance(client, contracts.Client)
    assert client.get("pods", "default", "web") is None
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.23"}]},
    }
    made = client.create("pods", pod, namespace="default")
    assert made["metadata"]["uid"]
    assert [p["metadata"]["name"] for p in client.list("pods", "default")] == ["web"]
    assert client.list("pods", "default", label_selector="app=db") == []
    assert client.list("pods", "default")[0]["kind"] == "Pod"
    patched = client.patch("pods", "default", "web", {"metadata": {"labels": {"tier": "1"}}})
    assert patched["metadata"]["labels"] == {"app": "web", "tier": "1"}
    with pytest.raises(contracts.ApiError) as stale:
        client.update("pods", made)  # the resourceVersion read before the patch
    assert (stale.value.code, stale.value.reason) == (409, "Conflict")
    with pytest.raises(contracts.ApiError) as exists:
        client.create("pods", pod, namespace="default")
    assert exists.value.reason == "AlreadyExists"
    with pytest.raises(contracts.ApiError):
        client.delete("pods", "default", "web", uid="not-its-uid")
    client.delete("pods", "default", "web", uid=made["metadata"]["uid"])
    assert client.get("pods", "default", "web") is None  # never bound: deleted at once
    client.delete("pods", "default", "nope")  # not there: nothing to do, no error
    loop.run_for(2.5)
    assert client.now().isoformat() == "2026-01-01T00:00:02.500000+00:00"


@NEEDS_EXAMPLES
@pytest.mark.parametrize("sut", ["reference", STORE])
def test_a_suite_test_that_never_asks_for_the_sut_runs_only_on_the_reference(tmp_path, sut):
    """The objects suite checks kubeprop's own library: against a plug-in it is skipped, so
    its invariants are not reported as passed by a SUT that took no part in them."""
    shutil.copytree(EXAMPLES, tmp_path / "examples" / "plugins")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubeprop",
            "conform",
            "--sut",
            sut,
            "--",
            "-p",
            "no:randomly",
            "-q",
            "-rs",
            "-k",
            "round_trips_through_load_and_dump",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-2000:]
    # The table is printed only when the run checked some invariant.
    rows = [line.split() for line in out.splitlines() if line.startswith("OBJECTS-ROUNDTRIP ")]
    checked = int(rows[0][1]) if rows else 0
    if sut == "reference":
        assert "1 passed" in out and checked > 0, out[-3000:]
    else:
        assert "1 skipped" in out and checked == 0, out[-3000:]
        assert f"checks kubeprop's reference model only: SUT '{sut}' takes no part" in out
