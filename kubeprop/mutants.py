"""``kubeprop mutants``: hunt the catalogued mutants and print what caught each one.

Contract:
- ``main(argv)`` parses ``[--protocol P] [--mutant ID]... [--cluster] [--list]
  [--report DIR] [--max-examples N] [--no-shrink]`` and returns the exit code;
  ``add_arguments(parser)`` and ``run(args)`` are the same command for a parent
  parser (``kubeprop.cli``).
- It prints one row per mutant as its hunt ends (NAME PROTOCOL CAUGHT-BY STEPS),
  then the catch rate, and exits 1 if any mutant escaped or failed by something
  other than an InvariantViolation, else 0. ``--list`` prints the catalogue
  (NAME PROTOCOL HUNTER BUG) and hunts nothing.
- ``--report DIR`` also writes DIR/mutants.json and DIR/mutants.md
  (``kubeprop.conformance.mutants.hunt.write``).
- Input it cannot use (an unknown mutant id, a report folder it cannot write)
  is one line ``kubeprop mutants: error: ...`` on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

PROG = "kubeprop mutants"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: want a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kubeprop.conformance.mutants.catalogue import PROTOCOLS

    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        metavar="P",
        help=f"only the mutants of protocol P ({', '.join(PROTOCOLS)})",
    )
    parser.add_argument(
        "--mutant",
        action="append",
        metavar="ID",
        default=[],
        help="only mutant ID (protocol/name, as --list shows it); repeatable",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="also hunt the mutants the whole-cluster machine hunts (slow: minutes)",
    )
    parser.add_argument("--list", action="store_true", help="print the catalogue and hunt nothing")
    parser.add_argument(
        "--report", metavar="DIR", help="also write DIR/mutants.json and DIR/mutants.md"
    )
    parser.add_argument(
        "--max-examples",
        type=_positive,
        metavar="N",
        help="examples per hunt (default: each mutant's budget in the catalogue)",
    )
    parser.add_argument(
        "--no-shrink",
        dest="shrink",
        action="store_false",
        help="report the first failing history found instead of the shrunk one (faster)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run every deliberately broken implementation through its protocol's "
        "suite and report the invariant that caught it and the shrunk history length.",
    )
    add_arguments(parser)
    return parser


class _Error(Exception):
    """A one-line reason the command cannot run as asked."""


def _selected(args: argparse.Namespace) -> list:
    from kubeprop.conformance.mutants import catalogue

    entries = catalogue.catalogue(args.protocol)
    if args.cluster:
        entries += [e for e in catalogue.cluster_hunts() if args.protocol in (None, e.protocol)]
    if args.mutant:
        known = {entry.id: entry for entry in (*catalogue.catalogue(), *catalogue.cluster_hunts())}
        unknown = [m for m in args.mutant if m not in known]
        if unknown:
            raise _Error(f"no mutant {unknown[0]!r} in the catalogue (see '{PROG} --list')")
        wanted = set(args.mutant)
        entries = [known[m] for m in known if m in wanted]
    return entries


def _print_list(entries: Sequence) -> None:
    width = max((len(e.id) for e in entries), default=4)
    hunter = max((len(e.hunter) for e in entries), default=6)
    print(f"{'NAME':<{width}}  {'PROTOCOL':<16}  {'HUNTER':<{hunter}}  BUG")
    for e in entries:
        print(f"{e.id:<{width}}  {e.protocol:<16}  {e.hunter:<{hunter}}  {e.description}")


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _Error(f"--report {folder}: {error.strerror or error}") from None
    if not os.access(folder, os.W_OK):
        raise _Error(f"--report {folder}: Permission denied")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except _Error as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from kubeprop.conformance.mutants import hunt

    entries = _selected(args)
    if args.list:
        _print_list(entries)
        return 0
    if not entries:
        raise _Error("no mutant selected")
    if args.report:
        _check_writable(Path(args.report))  # fail now, not after minutes of hunting
    width = max(len(e.id) for e in entries)
    print(f"{'NAME':<{width}}  {'PROTOCOL':<16}  {'CAUGHT-BY':<40}  STEPS", flush=True)

    def show(result: hunt.HuntResult) -> None:
        steps = "-" if result.steps is None else str(result.steps)
        cell = hunt.caught_by(result)
        print(f"{result.id:<{width}}  {result.protocol:<16}  {cell:<40}  {steps}", flush=True)

    results = hunt.hunt_all(
        entries, max_examples=args.max_examples, shrink=args.shrink, progress=show
    )
    print(hunt.summary_line(results))
    if args.report:
        as_json, as_md = hunt.write(args.report, results)
        print(f"report: {as_md} {as_json}")
    return 0 if hunt.totals(results)["all_caught"] else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as done:  # --help prints and exits 0; a usage error exits 2
        return done.code if isinstance(done.code, int) else 0
    try:
        return run(args)
    except BrokenPipeError:  # ``kubeprop mutants --list | head``: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
