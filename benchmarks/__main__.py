"""Run the benchmarks and print kieframe's figures next to their baselines, as ratios.

    python -m benchmarks                    # the full run (several minutes)
    python -m benchmarks --quick            # a short run (what CI does)
    python -m benchmarks --only download    # some of them: validation, download, receiver,
                                            # waits, lifecycle, import, batch

Each figure pairs kieframe with a baseline measured in the same invocation, alternating repeats;
the ratio is kieframe's figure over the baseline's, median [min–max]. Exits non-zero only if a
benchmark breaks: ratios past their goal are marked, not failed, because shared machines are
noisy and goals are read by people, not enforced by CI.
"""

from __future__ import annotations

import argparse
import logging

from . import (
    bench_batch,
    bench_download,
    bench_import,
    bench_lifecycle,
    bench_postgres,
    bench_receiver,
    bench_validation,
    bench_waits,
)
from ._common import Figure, machine, table

BENCHMARKS = {
    "validation": bench_validation,
    "download": bench_download,
    "receiver": bench_receiver,
    "waits": bench_waits,
    "lifecycle": bench_lifecycle,
    "import": bench_import,
    "batch": bench_batch,
    "postgres": bench_postgres,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smaller runs, for CI")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    figures: list[Figure] = []
    for name, bench in BENCHMARKS.items():
        if args.only is None or name in args.only:
            figures += bench.run(quick=args.quick)
    print(f"Machine: {machine()}")
    print(table(figures))


if __name__ == "__main__":
    main()
