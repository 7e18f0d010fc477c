"""CPython's ProcessPoolExecutor round trips, as bench_process_pool measures tandem's.

unbatched: fs = [pool.submit(echo, i) ...]; [f.result() for f in fs]
chunked:   list(pool.map(echo, range(n), chunksize=1000))
One JSON line per repetition and mode.
"""
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def echo(x):
    return x


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    items = int(sys.argv[3]) if len(sys.argv) > 3 else 2_000_000
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    impl = f"CPython {sys.version_info.major}.{sys.version_info.minor}"
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(echo, range(workers * 4)))  # workers started before the clock
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


if __name__ == "__main__":
    main()
