"""spec/api."""
