"""The round-trip benchmark of a concurrent.futures pool that sends tasks to other processes, as
bench/round_trips.hpp measures tandem's: process_pool.py (ProcessPoolExecutor) and mpi_pool.py
(mpi4py.futures.MPIPoolExecutor) pass their pool to run().

unbatched: fs = [pool.submit(echo, i) ...]; [f.result() for f in fs]
chunked:   list(pool.map(echo, range(n), chunksize=1000))
One JSON line per repetition and mode.
"""
import json
import sys
import time


def echo(x):
    return x


def parse_args(argv, tasks=20_000, items=2_000_000, reps=5):
    """[tasks] [items] [reps] from argv."""
    values = [int(a) for a in argv[:3]]
    defaults = [tasks, items, reps]
    return tuple(values + defaults[len(values):])


def run(pool, impl, workers, tasks, items, reps):
    list(pool.map(echo, range(64)))  # every worker started before the clock
    for _ in range(reps):
        t0 = time.perf_counter()
        futures = [pool.submit(echo, i) for i in range(tasks)]
        for f in futures:
            f.result()
        print(json.dumps({"impl": impl, "mode": "unbatched", "workers": workers, "tasks": tasks,
                          "seconds": time.perf_counter() - t0}), flush=True)
        t0 = time.perf_counter()
        out = list(pool.map(echo, range(items), chunksize=1000))
        assert len(out) == items
        print(json.dumps({"impl": impl, "mode": "chunksize 1000", "workers": workers, "tasks": items,
                          "seconds": time.perf_counter() - t0}), flush=True)


def python_version():
    return f"{sys.version_info.major}.{sys.version_info.minor}"
