"""conformance/strategies."""
