"""kubeprop: an executable, property-based specification of Kubernetes (v1.35)."""

__version__ = "0.1.0"
