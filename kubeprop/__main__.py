"""``python -m kubeprop``: the same command line as the ``kubeprop`` script."""

from kubeprop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
