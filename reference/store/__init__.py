"""reference/store."""
