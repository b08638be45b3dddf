"""conformance/checkers."""
