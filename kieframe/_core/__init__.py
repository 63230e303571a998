"""The lifecycle core; see the modules."""
