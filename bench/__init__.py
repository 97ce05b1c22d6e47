"""Benchmarks: figures, not pass/fail. `make bench` runs every `bench/bench_*.py` module."""
