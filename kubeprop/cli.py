"""The ``kubeprop`` command line: the invariant catalogue and the conformance suite.

Contract:
- ``main(argv)`` returns the exit code and never lets a traceback out: a usage
  error or a failure to load what a command needs is one line on stderr
  (``kubeprop <command>: error: ...``) and exit code 2.
- ``kubeprop spec`` prints ``kubeprop.spec.invariants.catalogue()`` as a table
  (the default: id, kind, statement), as markdown (one table per component,
  with the source of each rule) or as JSON (a list of ``Invariant.as_dict()``).
- ``kubeprop conform`` runs the installed suite (``kubeprop.conformance.suites``)
  with pytest in this process and returns pytest's exit code; with ``--report
  DIR`` the suite's plugin writes the report there (``--kubeprop-report``). It
  ignores any pytest configuration of the directory it runs in, so it behaves
  the same from a checkout, from a project of the user's, or from an empty
  directory.
- ``kubeprop schedule`` (``_add_schedule_command``, ``run_schedule``; the work is in
  ``kubeprop.schedule``) places pods on nodes one by one and explains the scores; input
  it cannot use (a missing or unparsable file, an invalid object, a bad
  ``--config``) is one line ``error: <file>: document <n>: ...`` on stderr and exit
  code 1, as kubectl fails; its usage errors are exit code 2 like the others.
- ``kubeprop bench`` (``_add_bench_command``, ``run_bench``; the work is in
  ``kubeprop.bench``) measures the scheduler core alone and whole scheduling
  cycles, compiled and pure, at several cluster sizes, prints the pods per second
  and their ratio, and with ``--plot FILE`` draws them into a PNG (matplotlib).
- ``kubeprop serve`` (``kubeprop.serve``) serves a reference cluster over the
  Kubernetes REST API on 127.0.0.1 until interrupted.
- ``kubeprop mutants`` (``kubeprop.mutants``) hunts the deliberately broken
  implementations through their protocols' suites and reports, per mutant, the
  invariant that caught it and the shrunk history length; exit 1 if any escaped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Sequence

from kubeprop import __version__

# The package whose test modules ``kubeprop conform`` collects.
SUITES = "kubeprop.conformance.suites"
# The pytest plugin of the suite, and the name its pytest11 entry point registers.
PLUGIN = "kubeprop.conformance.plugin"
PLUGIN_ENTRY_POINT = "kubeprop"
REWRITE_WARNING = "pytest.PytestAssertRewriteWarning"
FORMATS = ("table", "markdown", "json")
PROFILES = ("ci", "thorough")


class UsageError(Exception):
    """A command cannot run as asked; the message is the one line shown to the user."""

    def __init__(self, message: str, prog: str | None = None):
        super().__init__(message)
        self.prog = prog  # the (sub)command that failed, when known


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, with a pointer to ``--help``."""

    def error(self, message: str):
        raise UsageError(f"{message} (see '{self.prog} --help')", prog=self.prog)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kubeprop",
        description="An executable, property-based specification of Kubernetes v1.35.",
    )
    parser.add_argument("--version", action="version", version=f"kubeprop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    spec = commands.add_parser(
        "spec",
        help="print the invariant catalogue",
        description="Print the invariant catalogue: every rule of the spec, with its id, "
        "kind (safety | liveness | contract), statement and source.",
    )
    spec.add_argument(
        "--component", metavar="C", help="only the invariants of component C (e.g. store)"
    )
    spec.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help="output format (default: table)",
    )
    spec.set_defaults(run=run_spec)

    conform = commands.add_parser(
        "conform",
        help="run the conformance suite against a system under test",
        description="Run the conformance suite (pytest and Hypothesis underneath) against a "
        "system under test. Arguments after '--' go to pytest unchanged.",
        usage="kubeprop conform [--sut SUT] [--profile ci|thorough] [--report DIR] [-n N] "
        "[-- PYTEST ARGS]",
    )
    conform.add_argument(
        "--sut",
        default="reference",
        help="the system under test: reference | python:MODULE:ATTR | etcd+http://HOST:PORT | "
        "kube+http(s)://HOST:PORT | KUBECONFIG-PATH (default: reference; see docs/validating.md)",
    )
    conform.add_argument(
        "--profile",
        choices=PROFILES,
        default="ci",
        help="Hypothesis profile: ci (fast, derandomised) or thorough (default: ci)",
    )
    conform.add_argument(
        "--report",
        metavar="DIR",
        help="write the report to DIR: the per-invariant table (invariants.md, "
        "invariants.html, invariants.json), junit.xml and the failing histories (histories/)",
    )
    conform.add_argument(
        "-n",
        dest="workers",
        metavar="N",
        type=_workers,
        help="run in N processes with pytest-xdist (a number, or 'auto')",
    )
    conform.set_defaults(run=run_conform)
    _add_cluster_commands(commands)
    _add_schedule_command(commands)
    _add_bench_command(commands)
    _add_mutants_command(commands)
    _add_serve_command(commands)
    return parser


def _add_serve_command(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve the reference cluster over the Kubernetes REST API",
        description="Serve a simulated cluster (API server, scheduler, controllers, "
        "kubelets) over the Kubernetes REST API on 127.0.0.1, so that kubectl and "
        "Kubernetes clients can use it; simulated time runs at --time-scale x real time.",
    )
    serve.add_argument(
        "--port", type=_port, default=8080, metavar="P", help="port (default: 8080; 0: any free)"
    )
    serve.add_argument("--nodes", type=_count, default=3, metavar="N", help="nodes (default: 3)")
    serve.add_argument(
        "--etcd",
        default=None,
        metavar="URL",
        help="store objects in a real etcd at URL (http://HOST:PORT) instead of the embedded store",
    )
    serve.add_argument(
        "--time-scale",
        type=_scale,
        default=1.0,
        metavar="X",
        help="simulated seconds per real second (default: 1; 0 freezes the clock)",
    )
    serve.add_argument(
        "--seed", type=_count, default=0, metavar="S", help="random seed (default: 0)"
    )
    serve.add_argument("--verbose", action="store_true", help="log every HTTP request")
    serve.set_defaults(run=run_serve)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {value!r}: use 0-65535")
    return port


def _scale(value: str) -> float:
    try:
        scale = float(value)
    except ValueError:
        scale = -1.0
    if not 0 <= scale < float("inf"):
        raise argparse.ArgumentTypeError(f"invalid time scale {value!r}: use a number >= 0")
    return scale


def run_serve(args: argparse.Namespace) -> int:
    from kubeprop.serve import run

    return run(args)


def _add_cluster_commands(commands) -> None:
    simulate = commands.add_parser(
        "simulate",
        help="run manifests on a simulated cluster",
        description="Run manifests on a simulated cluster (API server, scheduler, "
        "controllers, kubelets on a simulated clock) and print the event timeline, "
        "then the pods as 'kubectl get pods -o wide' shows them.",
    )
    simulate.add_argument("files", nargs="+", metavar="FILE", help="YAML or JSON manifests")
    simulate.add_argument("--nodes", type=_count, default=3, metavar="N", help="nodes (default: 3)")
    simulate.add_argument(
        "--seed", type=_count, default=0, metavar="S", help="random seed (default: 0)"
    )
    simulate.add_argument(
        "--for",
        dest="seconds",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="simulated seconds to run after applying (default: 60)",
    )
    simulate.set_defaults(run=run_simulate)
    replay = commands.add_parser(
        "replay",
        help="run a saved failing history again",
        description="Run a cluster history saved by the suite (YAML) again, with the "
        "same checks; exit 1 if an invariant fails.",
    )
    replay.add_argument("file", metavar="FILE", help="a history YAML file")
    replay.set_defaults(run=run_replay)


def _add_schedule_command(commands) -> None:
    schedule = commands.add_parser(
        "schedule",
        help="place pods on nodes as kube-scheduler would, and explain the scores",
        description="Read Nodes and Pods (and Namespaces, Services, ReplicaSets, "
        "ReplicationControllers, StatefulSets) from YAML or JSON files; pods with "
        "spec.nodeName are already running, the others are scheduled one by one in file "
        "order, each placement counted before the next. Other kinds are ignored with a note.",
        usage="kubeprop schedule FILE... [--config FILE] [--seed S] [--explain] [-o json|table]",
    )
    schedule.add_argument("files", nargs="+", metavar="FILE", help="YAML or JSON manifests")
    schedule.add_argument(
        "--config",
        metavar="FILE",
        help="a KubeSchedulerConfiguration file (default: kube-scheduler's default profile)",
    )
    schedule.add_argument(
        "--seed", type=_count, default=0, metavar="S", help="tie-breaking seed (default: 0)"
    )
    schedule.add_argument(
        "--explain",
        action="store_true",
        help="show, per pod, why each node was filtered out and each plugin's score",
    )
    schedule.add_argument(
        "-o",
        "--output",
        choices=("table", "json"),
        default="table",
        help="output format (default: table)",
    )
    schedule.set_defaults(run=run_schedule)


def _add_mutants_command(commands) -> None:
    from kubeprop import mutants

    parser = commands.add_parser(
        "mutants",
        help="hunt the deliberately broken implementations and report what caught each",
        description="Run every deliberately broken implementation (mutant) through its "
        "protocol's suite; print the invariant that caught it and the shrunk history length, "
        "and the catch rate. Exit 1 if any mutant escaped.",
        usage="kubeprop mutants [--protocol P] [--mutant ID]... [--cluster] [--list] "
        "[--report DIR] [--max-examples N] [--no-shrink]",
    )
    mutants.add_arguments(parser)
    parser.set_defaults(run=mutants.run)


def _add_bench_command(commands) -> None:
    bench = commands.add_parser(
        "bench",
        help="measure the scheduler core's pods per second, compiled and pure",
        description="Schedule pods of scheduler_perf's pod-default shape onto nodes of its "
        "node-default shape with the default profile scanning 100 %% of the nodes: the "
        "scoring core alone (fused kernels over the node table) and whole cycles "
        "(schedule_one), with the compiled kernels and their pure-Python twin in the same "
        "run. Prints pods per second and the compiled/pure ratio.",
        usage="kubeprop bench [--nodes N,N,...] [--pods N] [--pure-pods N] [--plot FILE]",
    )
    bench.add_argument(
        "--nodes",
        type=_sizes,
        default=(100, 1000, 5000, 15000),
        metavar="N,N,...",
        help="cluster sizes (default: 100,1000,5000,15000)",
    )
    bench.add_argument(
        "--pods",
        type=_count,
        default=2000,
        metavar="N",
        help="pods the compiled core places per size (default: 2000; whole cycles: a tenth)",
    )
    bench.add_argument(
        "--pure-pods",
        type=_count,
        default=10,
        metavar="N",
        help="pods the pure twin places per size (default: 10)",
    )
    bench.add_argument("--plot", metavar="FILE", help="also draw pods/s against nodes into a PNG")
    bench.set_defaults(run=run_bench)


def _sizes(value: str) -> tuple[int, ...]:
    parts = [part.strip() for part in value.split(",")]
    if parts and all(part.isdigit() and int(part) > 0 for part in parts):
        return tuple(int(part) for part in parts)
    raise argparse.ArgumentTypeError(
        f"invalid value {value!r}: must be node counts > 0 separated by commas"
    )


def _count(value: str) -> int:
    if value.isdigit():
        return int(value)
    raise argparse.ArgumentTypeError(f"invalid value {value!r}: must be a non-negative integer")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds >= 0 and seconds < float("inf"):
        return seconds
    raise argparse.ArgumentTypeError(f"invalid value {value!r}: must be a number of seconds >= 0")


def _workers(value: str) -> str:
    if value in ("auto", "logical") or (value.isdigit() and int(value) >= 0):
        return value
    raise argparse.ArgumentTypeError(f"invalid worker count {value!r}: use a number or 'auto'")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first "--" belongs to pytest (``kubeprop conform -- -k watch``).
    passthrough: list[str] = []
    if "--" in arguments:
        cut = arguments.index("--")
        arguments, passthrough = arguments[:cut], arguments[cut + 1 :]
    parser = build_parser()
    prog = "kubeprop"
    try:
        try:
            args = parser.parse_args(arguments)
        except SystemExit as done:  # --help and --version print and exit
            return done.code if isinstance(done.code, int) else 0
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        prog = f"kubeprop {args.command}"
        if passthrough and args.command != "conform":
            raise UsageError(f"unexpected arguments after '--': {' '.join(passthrough)}")
        args.pytest_args = passthrough
        return args.run(args)
    except UsageError as error:
        print(f"{error.prog or prog}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # ``kubeprop spec | head``: the reader left; stay quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


# -- kubeprop spec -----------------------------------------------------------


def _catalogue(component: str | None):
    """The catalogue (of one component); UsageError if it cannot be loaded or C is unknown."""
    from kubeprop.spec import invariants

    try:
        entries = invariants.catalogue()
    except Exception as error:  # a component module that fails to import
        raise UsageError(f"cannot load the invariant catalogue: {error}") from None
    if component is None:
        return entries
    known = sorted(set(invariants.COMPONENT_MODULES) | {entry.component for entry in entries})
    if component not in known:
        raise UsageError(
            f"unknown component {component!r}: known components are {', '.join(known)}"
        )
    return [entry for entry in entries if entry.component == component]


def run_spec(args: argparse.Namespace) -> int:
    entries = _catalogue(args.component)
    render = {"table": render_table, "markdown": render_markdown, "json": render_json}
    sys.stdout.write(render[args.output](entries))
    return 0


def render_table(entries) -> str:
    """kubectl-style columns: ID, KIND, STATEMENT."""
    rows = [("ID", "KIND", "STATEMENT")] + [(e.id, e.kind, e.statement) for e in entries]
    id_width = max(len(row[0]) for row in rows)
    kind_width = max(len(row[1]) for row in rows)
    return "".join(
        f"{row[0]:<{id_width}}   {row[1]:<{kind_width}}   {row[2]}\n".rstrip() + "\n"
        for row in rows
    )


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(entries) -> str:
    """One section and table per component: id, kind, statement, source link."""
    components = sorted({entry.component for entry in entries})
    parts = []
    for component in components:
        lines = [
            f"## {component}",
            "",
            f"Stated in `spec/{component}.md`.",
            "",
            "| id | kind | statement | source |",
            "|---|---|---|---|",
        ]
        for entry in entries:
            if entry.component == component:
                lines.append(
                    f"| `{entry.id}` | {entry.kind} | {_cell(entry.statement)} "
                    f"| [source]({entry.source}) |"
                )
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def render_json(entries) -> str:
    return json.dumps([entry.as_dict() for entry in entries], indent=2) + "\n"


# -- kubeprop conform --------------------------------------------------------


def _suites_folder() -> str:
    """Where the installed ``kubeprop.conformance.suites`` package lives."""
    spec = importlib.util.find_spec(SUITES)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"the conformance suite ({SUITES}) is not installed")
    return os.path.abspath(list(spec.submodule_search_locations)[0])


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    """The pytest command line that ``kubeprop conform`` runs."""
    suites = _suites_folder()
    command = [
        # The folder of the installed package, as ``--pyargs SUITES`` would find
        # it; given as a path so that pytest anchors its conftest lookup there
        # and never loads a conftest.py of the working directory.
        suites,
        # Ignore the pytest configuration (pytest.ini, pyproject.toml, tox.ini)
        # of whatever directory the user runs from; test ids read
        # conformance/suites/test_*.py.
        "-c",
        os.devnull,
        "--rootdir",
        os.path.dirname(os.path.dirname(suites)),
        "-p",
        "no:cacheprovider",
        # This process imported kubeprop before pytest started, so pytest cannot
        # rewrite the asserts of those modules; the suites it imports later are.
        "-W",
        f"ignore:Module already imported so cannot be rewritten; kubeprop:{REWRITE_WARNING}",
        # Load the suite's plugin exactly once, whether or not its pytest11 entry
        # point is active (it is not when plugin autoloading is disabled).
        "-p",
        f"no:{PLUGIN_ENTRY_POINT}",
        "-p",
        PLUGIN,
        "--sut",
        args.sut,
        "--kubeprop-profile",
        args.profile,
    ]
    if args.report:
        command += ["--kubeprop-report", args.report]
    if args.workers is not None:
        command += ["-n", args.workers]
    return command + list(args.pytest_args)


def run_conform(args: argparse.Namespace) -> int:
    try:
        from kubeprop.conformance import adapters
    except Exception as error:
        raise UsageError(f"cannot load the conformance suite: {error}") from None
    try:
        adapters.resolve(args.sut)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.workers is not None and importlib.util.find_spec("xdist") is None:
        raise UsageError("-n needs pytest-xdist: pip install 'kubeprop[test]'")
    if args.report and os.path.exists(args.report) and not os.path.isdir(args.report):
        raise UsageError(f"--report {args.report!r} exists and is not a directory")

    import pytest

    return int(pytest.main(pytest_arguments(args)))


# -- kubeprop simulate / replay ------------------------------------------------


def run_simulate(args: argparse.Namespace) -> int:
    from kubeprop import tables
    from kubeprop.reference.cluster import Cluster, ClusterError
    from kubeprop.spec.api import io
    from kubeprop.spec.api.errors import ManifestError

    manifests = []
    for path in args.files:
        try:
            with open(path, encoding="utf-8") as handle:
                manifests += io.load_documents(handle.read(), path)
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror}") from None
        except ManifestError as error:
            raise UsageError(str(error)) from None
    try:
        cluster = Cluster.create(nodes=args.nodes, seed=args.seed)
    except ClusterError as error:
        raise UsageError(str(error)) from None
    cluster.advance(1.0)  # the kubelets register their nodes
    failed = 0
    for label, answer in cluster.apply(manifests):
        if answer.ok:
            print(f"{label} {'created' if answer.code == 201 else 'configured'}")
        else:
            failed += 1
            message = (answer.body or {}).get("message", answer.code)
            print(f"Error from server ({answer.reason}): {message}", file=sys.stderr)
    cluster.advance(args.seconds)
    print(f"\n# {args.nodes} nodes, seed {args.seed}, {cluster.now:g} s simulated\n")
    print(tables.events_table(cluster.events()))
    print()
    deployments = cluster.list("deployments")
    if deployments:
        print(tables.deployments_table(deployments, cluster.now))
        print()
    print(tables.pods_table(cluster.list("pods"), cluster.now))
    return 1 if failed else 0


def run_schedule(args: argparse.Namespace) -> int:
    """Exit 0 when every input was read (unschedulable pods included), 1 on bad input."""
    from kubeprop import schedule

    try:
        profiles = schedule.load_profiles(args.config)
        inputs = schedule.read_files(args.files)
        outcomes = schedule.schedule(inputs, profiles, args.seed)
    except schedule.ScheduleError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    for note in inputs.notes:
        print(f"note: {note}", file=sys.stderr)
    sys.stdout.write(schedule.render(outcomes, output=args.output, explain=args.explain))
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from kubeprop import bench

    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--plot needs matplotlib: pip install matplotlib")
    if args.pods < 1 or args.pure_pods < 1:
        raise UsageError("--pods and --pure-pods must be at least 1")
    try:
        core = bench.run(
            args.nodes, pods_compiled=args.pods, pods_pure=args.pure_pods, core_only=True
        )
        print("The scoring core alone (fused kernels, per-row results kept between pods):")
        print(bench.render(core))
        cycles = bench.run(
            args.nodes, pods_compiled=max(args.pods // 10, 1), pods_pure=args.pure_pods
        )
    except RuntimeError as problem:  # the cluster filled up: too many pods for its size
        print(f"error: {problem}: use fewer --pods or more --nodes", file=sys.stderr)
        return 1
    print()
    print("Whole scheduling cycles (schedule_one, every plugin's PreFilter and PreScore):")
    print(bench.render(cycles))
    if args.plot:
        bench.plot(core, cycles, args.plot)
        print(f"\nwrote {args.plot}")
    return 0


def run_replay(args: argparse.Namespace) -> int:
    from kubeprop.conformance.replay import replay_file

    try:
        return replay_file(args.file, sys.stdout)
    except ValueError as error:
        raise UsageError(str(error)) from None
