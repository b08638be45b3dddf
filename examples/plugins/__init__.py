"""Example third-party components for ``kubeprop conform --sut python:examples.plugins.<x>:<y>``.

Each module is one protocol of ``kubeprop.spec.contracts``, written from the
contract alone (none of them imports the reference model): read one top to
bottom to see how to plug in your own (docs/validating.md).
"""
