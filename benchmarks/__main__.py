"""Run every benchmark and print kieframe's figures next to their baselines, as ratios.

    python -m benchmarks            # the full run
    python -m benchmarks --quick    # a short run (what CI does)

Exits non-zero only if a benchmark breaks; ratios over target are flagged, not failed: shared
machines are noisy, so targets are read by people, not enforced by CI.
"""

from __future__ import annotations

import argparse
import logging

from . import bench_batch, bench_lifecycle, bench_memory, bench_validation
from ._common import table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, for CI")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    figures = []
    for bench in (bench_validation, bench_lifecycle, bench_memory, bench_batch):
        figures += bench.run(quick=args.quick)
    print(table(figures))


if __name__ == "__main__":
    main()
