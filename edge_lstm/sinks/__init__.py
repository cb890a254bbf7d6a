"""Sinks: where alert events go."""
