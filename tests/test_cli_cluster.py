"""``kubeprop simulate`` and ``kubeprop replay``: the cluster from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeprop.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def simulate(capsys, *argv):
    code = main(["simulate", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_seed_pod_comes_out_running_on_a_node(capsys):
    code, out, err = simulate(capsys, str(EXAMPLES / "nginx-pod.yaml"))
    assert (code, err) == (0, "")
    assert out.startswith("pod/nginx created\n")
    timeline = next(block for block in out.split("\n\n") if block.startswith("TIME"))
    reasons = [line.split()[2] for line in timeline.splitlines()[1:]]
    assert reasons[:5] == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    pods = out.split("\n\n")[-1].splitlines()
    assert pods[1].split()[:3] == ["nginx", "1/1", "Running"]
    assert pods[1].split()[6].startswith("node-")


def test_the_deployment_example_gets_three_running_pods(capsys):
    code, out, _ = simulate(capsys, str(EXAMPLES / "nginx-deployment.yaml"), "--for", "60")
    assert code == 0
    assert out.startswith("deployment.apps/nginx-deployment created\n")
    assert "ScalingReplicaSet" in out and "SuccessfulCreate" in out
    running = [
        line
        for line in out.splitlines()
        if line.startswith("nginx-deployment-") and " Running " in line
    ]
    assert len(running) == 3


def test_the_same_seed_prints_the_same_thing_twice(capsys):
    args = (str(EXAMPLES / "nginx-deployment.yaml"), "--seed", "4", "--nodes", "2")
    assert simulate(capsys, *args) == simulate(capsys, *args)


def test_a_missing_file_or_a_bad_manifest_is_one_line_of_error(capsys, tmp_path):
    code, _, err = simulate(capsys, str(tmp_path / "absent.yaml"))
    assert code == 2 and "cannot read" in err and "Traceback" not in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [unclosed\n")
    code, _, err = simulate(capsys, str(bad))
    assert code == 2 and "bad.yaml" in err
    code, _, err = simulate(capsys, str(EXAMPLES / "nginx-pod.yaml"), "--nodes", "many")
    assert code == 2 and "--nodes" in err


def test_replay_runs_a_saved_history_and_reports_how_it_went(capsys, tmp_path):
    history = tmp_path / "history.yaml"
    history.write_text(
        "kind: KubepropHistory\nseed: 0\nnodes: 2\nsteps:\n"
        "- action: apply_deployment\n  args: {name: web, replicas: 2, image: 'nginx:1.23',"
        " strategy: {type: RollingUpdate}}\n"
        "- action: advance\n  args: {seconds: 30}\n"
    )
    assert main(["replay", str(history)]) == 0
    out = capsys.readouterr().out
    assert "1. t=" in out and "apply_deployment" in out and "PASSED" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Pod\n", 'kind: Required value: must be "KubepropHistory"'),
        (
            "kind: KubepropHistory\nsteps:\n- action: explode\n",
            'steps[0].action: Unsupported value: "explode"',
        ),
        ("kind: KubepropHistory\nseed: many\n", "seed: Invalid value"),
    ],
)
def test_replay_of_something_that_is_not_a_history_names_the_field(capsys, tmp_path, text, message):
    path = tmp_path / "h.yaml"
    path.write_text(text)
    assert main(["replay", str(path)]) == 2
    assert message in capsys.readouterr().err
