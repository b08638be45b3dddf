"""kubeprop.conformance: the suite that checks a system under test against the spec.

Rules generate histories (Hypothesis), adapters run them on a system under test
(SUT), and every check names the invariant it evaluates through ``check``.
"""
