"""CPython's ProcessPoolExecutor round trips (round_trips.py), as bench_process_pool measures tandem's.

Usage: process_pool.py [workers] [tasks] [items] [reps]
"""
import sys
from concurrent.futures import ProcessPoolExecutor

import round_trips


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    tasks, items, reps = round_trips.parse_args(sys.argv[2:])
    with ProcessPoolExecutor(max_workers=workers) as pool:
        round_trips.run(pool, f"CPython {round_trips.python_version()}", workers, tasks, items, reps)


if __name__ == "__main__":
    main()
