"""Benchmarks: run by hand, never by CI as timed tests; figures go to docs/performance.md."""
