"""kubeprop bench: the summary of pods per second, compiled and pure, and the optional plot."""

from __future__ import annotations

import importlib.util

import pytest

from kubeprop import bench
from kubeprop.cli import main
from kubeprop.reference.scheduler import core


def test_bench_prints_the_core_and_the_whole_cycle_for_each_size(capsys):
    assert main(["bench", "--nodes", "10,20", "--pods", "30", "--pure-pods", "3"]) == 0
    out = capsys.readouterr().out
    core_table, cycle_table = out.split("\n\n")
    for table in (core_table, cycle_table):
        rows = [line.split() for line in table.splitlines()[2:]]
        assert [row[0] for row in rows] == ["10", "20"]
        for row in rows:
            assert float(row[2]) > 0  # the pure twin always runs
            if core.COMPILED is not None:
                assert float(row[1]) > 0 and row[3].endswith("x")


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_bench_plot_writes_a_png(tmp_path, capsys):
    target = tmp_path / "bench.png"
    assert (
        main(["bench", "--nodes", "10", "--pods", "10", "--pure-pods", "2", "--plot", str(target)])
        == 0
    )
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--nodes", "10,x"], "must be node counts > 0 separated by commas"),
        (["--nodes", "0"], "must be node counts > 0 separated by commas"),
        (["--pods", "-1"], "must be a non-negative integer"),
        (["--pods", "0"], "--pods and --pure-pods must be at least 1"),
    ],
)
def test_bad_bench_arguments_are_one_line_and_exit_2(args, message, capsys):
    assert main(["bench", *args]) == 2
    assert message in capsys.readouterr().err


def test_more_pods_than_the_nodes_hold_is_an_error_not_a_traceback(capsys):
    # 2 nodes of 4 cpu hold 80 pods of 100m
    assert main(["bench", "--nodes", "2", "--pods", "100", "--pure-pods", "100"]) == 1
    assert "the cluster is full" in capsys.readouterr().err


def test_the_core_places_every_pod_and_binds_each_on_the_table():
    measured = bench.measure_core(12, core.PURE, 24)
    assert measured.pods == 24 and measured.seconds > 0
