"""`python -m benchmarks` (what `scripts/bench` runs): measure the import path, print a table.

Options: `--repeats N` CPU passes (the fastest is reported, default 5), `--profile` prints
where the CPU time of parsing and aggregation goes (cProfile), `--cpu-only` skips the
Home Assistant part, `--blockers` prints what the event loop was doing while blocked.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import platform
import sys
import time

import pytest

from benchmarks.measure import BLOCKERS, OPTIONS, RESULTS

TARGET_CPU_S = 0.3
MIB = 1024 * 1024
TARGET_BLOCK_S = 0.05


def _run(cpu_only: bool, blockers: bool) -> int:
    """Run the benchmark module under pytest (it needs Home Assistant's test harness, which
    must be imported before Home Assistant itself: nothing here imports the integration)."""
    module = Path(__file__).with_name("bench_import.py")
    args = [str(module), "-q", "-p", "no:logging"]
    code = pytest.main([*args, "-k", "cpu"] if cpu_only else args)
    if "cpu_profile" in RESULTS:
        print(RESULTS["cpu_profile"])
    if blockers:
        for phase, stacks in BLOCKERS.items():
            print(f"\n== loop blocked > 20 ms during {phase} (samples of 5 ms, top 6)")
            for stack, count in stacks.most_common(6):
                print(f"{count} samples:\n{stack}")
    return int(code)


def _row(name: str, value: str, target: str = "") -> str:
    return f"| {name} | {value} | {target} |"


def _table() -> list[str]:
    r = RESULTS
    lines = ["| Measure | Result | Target |", "|---|---|---|"]
    if "requests" in r:
        floor = int(r["requests_floor"])
        lines += [
            _row(
                "Requests, complete back-fill of one PDL (36 months daily + 24 months hourly)",
                f"**{r['requests']}** = {r['requests_floor']} floor x "
                f"{int(r['requests']) / floor:.2f} ({r['requests_by_type']}; "
                f"{r['requests_not_200']} not 200)",
                f"floor {floor}",
            ),
            _row(
                "Runs / simulated time to complete it (cap 50 per 12 h)",
                f"{r['runs']} runs, {float(r['simulated_days']):.2f} days "
                f"(hourly progress {float(r['hourly_progress']) * 100:.1f} %; longest loop "
                f"block {float(r['frozen_import_max_block_s']) * 1000:.0f} ms under "
                "freezegun, which slows every clock read)",
            ),
        ]
    if "cpu_total_s" in r:
        total = float(r["cpu_total_s"])
        points = int(r["points"])
        lines += [
            _row(
                f"CPU, parse + aggregate 24 months ({points} points, {r['bodies']} bodies, "
                f"{r['rows']} hourly rows)",
                f"**{total:.3f} s** = target x {total / TARGET_CPU_S:.2f} "
                f"({total / points * 1e6:.1f} µs/point; "
                f"median of runs {float(r['cpu_median_s']):.3f} s)",
                f"< {TARGET_CPU_S} s",
            ),
            _row(
                "... of which json.loads / parse_load_curve / hourly rows / plan_write",
                " / ".join(
                    f"{float(r[key]):.3f} s"
                    for key in ("cpu_json_s", "cpu_parse_s", "cpu_hourly_s", "cpu_plan_s")
                ),
            ),
        ]
    if "bulk_write_s" in r:
        bulk = float(r["bulk_write_s"])
        lines += [
            _row(
                f"Recorder write, {r['bulk_rows']} hourly rows in one plan (SQLite file)",
                f"{bulk:.1f} s ({bulk / int(r['bulk_rows']) * 1000:.2f} ms/row, in the "
                f"recorder thread; queueing on the loop {float(r['bulk_queue_s']):.3f} s)",
            ),
            _row(
                f"Recorder write, as the import does it ({r['backfill_plans']} plans, "
                f"{r['backfill_rows']} rows)",
                f"{float(r['backfill_write_s']):.1f} s",
            ),
        ]
    if "real_import_s" in r:
        lines += [
            _row(
                f"Whole import on the real clock, no cap ({r['real_requests']} requests)",
                f"{float(r['real_fetch_s']):.1f} s fetched and queued, "
                f"{float(r['real_import_s']):.1f} s until recorded",
            ),
            _row(
                "Peak memory during that import (RSS above start)",
                f"{int(r['real_rss_growth']) / MIB:.1f} MiB (parse + aggregate alone: "
                f"{int(r['cpu_traced_peak']) / MIB:.1f} MiB traced peak)"
                if "cpu_traced_peak" in r
                else f"{int(r['real_rss_growth']) / MIB:.1f} MiB",
            ),
            _row(
                "Longest event-loop block during that import",
                f"**{float(r['real_max_block_s']) * 1000:.0f} ms** = target x "
                f"{float(r['real_max_block_s']) / TARGET_BLOCK_S:.2f} "
                f"(99th percentile of {r['real_monitor_samples']} probes: "
                f"{float(r['real_p99_block_s']) * 1000:.0f} ms)",
                f"< {TARGET_BLOCK_S * 1000:.0f} ms",
            ),
            _row(
                "Longest block while writing: one 17k-row plan / the import's plans",
                f"{float(r['bulk_max_block_s']) * 1000:.0f} ms / "
                f"{float(r['backfill_max_block_s']) * 1000:.0f} ms",
                f"< {TARGET_BLOCK_S * 1000:.0f} ms",
            ),
        ]
    return lines


def main() -> int:
    """Run the benchmarks and print the results table (Markdown)."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cpu-only", action="store_true")
    parser.add_argument("--blockers", action="store_true")
    args = parser.parse_args()
    OPTIONS.update(repeats=args.repeats, profile=int(args.profile))
    code = _run(args.cpu_only, args.blockers)
    print(
        f"\nLinky import benchmark, {time.strftime('%Y-%m-%d')}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}\n"
    )
    print("\n".join(_table()))
    return code


if __name__ == "__main__":
    sys.exit(main())
