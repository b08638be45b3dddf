"""kubeprop.reference: the executable model of every component, on a simulated clock."""
