"""Hypothesis strategies shared by the property tests (route selection, the backend's frame
parsing, the whole path through the local stack) and by ``make soak``."""
