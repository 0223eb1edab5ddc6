"""Benchmarks of the integration's import path (run with `scripts/bench`, not by `scripts/test`).

- `cpu`: CPU time to parse and aggregate 24 months of half-hour load-curve points (no HA).
- `bench_import`: pytest module run against a real recorder and the Conso API emulator on
  127.0.0.1: requests for the complete back-fill, recorder write time, peak memory and the
  longest event-loop block.
- `measure`: the shared tools (event-loop monitor, results).
"""
