"""What every accuracy benchmark's command line does (`benchmarks.insights`, `.signature`,
`.works`): parse `--seeds`, `--first-seed`, `--jobs` and `--out`, run one function per seed
in a process pool, render the results as Markdown, write and print the report.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from multiprocessing import Pool
import os
from pathlib import Path
import time


def run_seeds[R](
    module: str,
    description: str | None,
    default_out: Path,
    one_seed: Callable[[int], R],
    render: Callable[[list[R], range, int, float], str],
) -> int:
    """Run `one_seed` over the seeds (results in seed order), `render(results, seeds, jobs,
    elapsed seconds)`, write the report to `--out` and print it."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.monotonic()
    with Pool(args.jobs) as pool:
        results = list(pool.imap(one_seed, seeds))
    report = render(results, seeds, args.jobs, time.monotonic() - started)
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0
