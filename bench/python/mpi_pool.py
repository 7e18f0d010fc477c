"""mpi4py.futures' MPIPoolExecutor round trips, as bench_mpi_pool measures tandem's.

Run under mpirun -n N with `python3 -m mpi4py.futures mpi_pool.py ...` (rank 0 runs this, the others
serve), the way mpi4py documents for an existing MPI world.
unbatched: fs = [pool.submit(echo, i) ...]; [f.result() for f in fs]
chunked:   list(pool.map(echo, range(n), chunksize=1000))
One JSON line per repetition and mode.
"""
import json
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def echo(x):
    return x


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    items = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    impl = f"mpi4py.futures (CPython {sys.version_info.major}.{sys.version_info.minor})"
    with MPIPoolExecutor() as pool:
        workers = pool._max_workers  # mpi4py 3.1 has no public count; 3.1.4 sets it to the world size - 1
        list(pool.map(echo, range(64)))  # workers up before the clock
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
