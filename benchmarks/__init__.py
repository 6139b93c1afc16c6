"""Benchmarks of comfy-audit against realistic baselines, run by ``make bench`` (never by tests).

`benchmarks.bench` is the entry point; `benchmarks.naive` is the baseline client a user would
write; `benchmarks.shape` and `benchmarks.fixtures` generate real-shaped data with a seeded
random; `benchmarks.measure` runs a command and records its wall time and peak memory.
"""
