"""reference/apiserver."""
