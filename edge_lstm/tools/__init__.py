"""Operator tools, off the device path: simulate, the alerts viewer, benchmarks, the demo, synthetic data, plots."""
