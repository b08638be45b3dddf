"""conformance/mutants."""
