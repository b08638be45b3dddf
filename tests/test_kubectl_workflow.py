"""Unmodified kubectl 1.32 against ``kubeprop serve``: the seed workflow, end to end.

A ServedCluster (the reference cluster behind the Kubernetes REST API on
127.0.0.1, simulated time running at TIME_SCALE x real time) and the real
kubectl binary: apply the nginx Pod and watch it become Running, list and
describe it, apply the nginx Deployment client-side and then server-side with
a new image, scale it, wait for the rollout, list events, delete both. Every
kubectl call has a timeout; kubectl reads no user configuration (HOME,
KUBECONFIG and its cache point into a temporary directory).

kubectl 1.32 is looked for as ``kubectl.1.32`` beside the real path of the
``kubectl`` on PATH (the Google Cloud SDK layout), or named by the
KUBEPROP_KUBECTL environment variable; without it the tests are skipped.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TIME_SCALE = 20.0  # simulated seconds per real second: the 30 s pod grace period takes 1.5 s
CALL_TIMEOUT = 30.0  # seconds any one kubectl call may take
KUBECTL_VERSION = "1.32"


def kubectl_binary() -> str | None:
    """kubectl 1.32: $KUBEPROP_KUBECTL, or kubectl.1.32 beside the real kubectl on PATH."""
    named = os.environ.get("KUBEPROP_KUBECTL")
    if named:
        return named if os.access(named, os.X_OK) else None
    wrapper = shutil.which("kubectl")
    if wrapper is None:
        return None
    candidate = Path(os.path.realpath(wrapper)).parent / f"kubectl.{KUBECTL_VERSION}"
    return str(candidate) if os.access(candidate, os.X_OK) else None


KUBECTL = kubectl_binary()
pytestmark = pytest.mark.skipif(
    KUBECTL is None,
    reason=(
        f"kubectl {KUBECTL_VERSION} not found: install the Google Cloud SDK's kubectl "
        f"(which ships kubectl.{KUBECTL_VERSION} beside it) or set KUBEPROP_KUBECTL to a "
        f"kubectl {KUBECTL_VERSION} binary"
    ),
)


class Kubectl:
    """Runs kubectl against one server with a private, empty configuration."""

    def __init__(self, url: str, home: Path):
        self.url = url
        config = home / "kubeconfig"
        config.write_text("")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "KUBECONFIG": str(config),
        }
        self.cache = home / "cache"

    def command(self, *args: str) -> list[str]:
        return [KUBECTL, "--server", self.url, "--cache-dir", str(self.cache), *args]

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            self.command(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CALL_TIMEOUT,
            check=False,
        )
        if ok:
            assert done.returncode == 0, (
                f"kubectl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}"
            )
        return done

    def json(self, *args: str) -> dict:
        return json.loads(self(*args, "-o", "json").stdout)

    def watch_until(self, args: list[str], wanted: str, seconds: float) -> list[str]:
        """Run a watching kubectl (``get -w``) until a line contains ``wanted``; its lines."""
        process = subprocess.Popen(
            self.command(*args),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(x) for x in process.stdout or ()])
        reader.start()
        seen: list[str] = []
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                try:
                    seen.append(lines.get(timeout=0.1).rstrip("\n"))
                except queue.Empty:
                    continue
                if wanted in seen[-1]:
                    return seen
        finally:
            process.kill()
            process.wait(timeout=5)
            reader.join(timeout=5)
        raise AssertionError(f"no line with {wanted!r} within {seconds}s: {seen}")


@pytest.fixture(scope="module")
def served():
    from kubeprop.serve import ServedCluster

    cluster = ServedCluster.start(nodes=3, port=0, time_scale=TIME_SCALE, seed=0)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def kubectl(served, tmp_path) -> Kubectl:
    return Kubectl(served.url, tmp_path)


def columns(table: str) -> list[str]:
    return table.splitlines()[0].split()


def eventually(check, seconds: float = 20.0):
    """The first truthy result of ``check()`` within ``seconds`` of real time."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_kubectl_runs_the_seed_workflow_against_kubeprop_serve(kubectl, tmp_path):
    pod_file = str(EXAMPLES / "nginx-pod.yaml")
    deployment_file = str(EXAMPLES / "nginx-deployment.yaml")

    # The nginx Pod: created by client-side apply, watched until it runs.
    assert kubectl("apply", "-f", pod_file).stdout.strip() == "pod/nginx created"
    lines = kubectl.watch_until(["get", "pod", "nginx", "-w"], "Running", seconds=20)
    assert columns(lines[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    listed = kubectl("get", "pods").stdout
    assert columns(listed) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    (row,) = [line.split() for line in listed.splitlines()[1:] if line.startswith("nginx ")]
    assert row[1:4] == ["1/1", "Running", "0"]
    pod = kubectl.json("get", "pod", "nginx", "--show-managed-fields")
    assert pod["status"]["phase"] == "Running" and pod["spec"]["nodeName"].startswith("node-")
    owners = {(e["manager"], e["operation"]) for e in pod["metadata"]["managedFields"]}
    assert ("kubectl-client-side-apply", "Update") in owners

    described = kubectl("describe", "pod", "nginx").stdout
    assert re.search(r"^Status:\s+Running$", described, re.MULTILINE), described
    assert re.search(rf"^Node:\s+{pod['spec']['nodeName']}/", described, re.MULTILINE), described
    events = described.split("Events:", 1)[1]
    for reason in ("Scheduled", "Pulled", "Created", "Started"):
        assert reason in events, described

    # The Deployment: client-side apply, then server-side apply of a new image.
    created = kubectl("apply", "-f", deployment_file).stdout.strip()
    assert created == "deployment.apps/nginx-deployment created"
    again = kubectl("apply", "-f", deployment_file).stdout.strip()
    assert again == "deployment.apps/nginx-deployment unchanged"
    # A client-side change is a three-way strategic merge patch: it adds an env var.
    with_env = tmp_path / "nginx-deployment-env.yaml"
    with_env.write_text(
        Path(deployment_file)
        .read_text()
        .replace(
            "          ports:",
            "          env:\n            - {name: GREETING, value: hello}\n          ports:",
        )
    )
    configured = kubectl("apply", "-f", str(with_env)).stdout.strip()
    assert configured == "deployment.apps/nginx-deployment configured"
    container = kubectl.json("get", "deployment", "nginx-deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["env"] == [{"name": "GREETING", "value": "hello"}]
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    changed = tmp_path / "nginx-deployment-1.25.yaml"
    changed.write_text(Path(deployment_file).read_text().replace("nginx:1.23", "nginx:1.25"))
    applied = kubectl("apply", "--server-side", "-f", str(changed)).stdout.strip()
    assert applied == "deployment.apps/nginx-deployment serverside-applied"
    deployment = kubectl.json("get", "deployment", "nginx-deployment", "--show-managed-fields")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    owners = {(e["manager"], e["operation"]) for e in deployment["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in owners
    assert ("kubectl-client-side-apply", "Update") not in owners  # kubectl migrated them

    # Scale it and wait for the rollout.
    scaled = kubectl("scale", "deployment", "nginx-deployment", "--replicas=4").stdout.strip()
    assert scaled == "deployment.apps/nginx-deployment scaled"
    rollout = kubectl("rollout", "status", "deployment/nginx-deployment", "--timeout=25s")
    assert 'deployment "nginx-deployment" successfully rolled out' in rollout.stdout
    status = kubectl.json("get", "deployment", "nginx-deployment")["status"]
    assert (status["updatedReplicas"], status["availableReplicas"]) == (4, 4)
    pods = kubectl.json("get", "pods", "-l", "app=nginx")["items"]
    images = [
        p["spec"]["containers"][0]["image"] for p in pods if p["status"]["phase"] == "Running"
    ]
    assert images.count("nginx:1.25") == 4

    listed_events = kubectl("get", "events").stdout
    assert columns(listed_events)[:3] == ["LAST", "SEEN", "TYPE"]
    assert "ScalingReplicaSet" in listed_events and "Scheduled" in listed_events

    # Delete both; the deployment's pods go with it.
    deleted = kubectl("delete", "-f", pod_file).stdout.strip()
    assert deleted == 'pod "nginx" deleted'
    deleted = kubectl("delete", "-f", deployment_file).stdout.strip()
    assert deleted == 'deployment.apps "nginx-deployment" deleted'
    missing = kubectl("get", "pod", "nginx", ok=False)
    assert missing.returncode == 1 and 'pods "nginx" not found' in missing.stderr
    gone = eventually(lambda: not kubectl.json("get", "pods", "-l", "app=nginx")["items"])
    assert gone, "the deployment's pods were not garbage collected"


def test_a_server_side_apply_conflict_names_the_field_and_its_manager(kubectl, tmp_path):
    manifest = tmp_path / "web.yaml"

    def write(replicas: int) -> str:
        text = (EXAMPLES / "nginx-deployment.yaml").read_text()
        text = text.replace("name: nginx-deployment", "name: web-conflict")
        manifest.write_text(text.replace("replicas: 3", f"replicas: {replicas}"))
        return str(manifest)

    kubectl("apply", "--server-side", "--field-manager=alice", "-f", write(3))
    refused = kubectl("apply", "--server-side", "--field-manager=bob", "-f", write(5), ok=False)
    assert refused.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas' in refused.stderr
    assert kubectl.json("get", "deployment", "web-conflict")["spec"]["replicas"] == 3
    forced = kubectl(
        "apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", write(5)
    )
    assert "serverside-applied" in forced.stdout
    assert kubectl.json("get", "deployment", "web-conflict")["spec"]["replicas"] == 5
    kubectl("delete", "deployment", "web-conflict")
