"""The seed's prime checker on mpi4py.futures' MPIPoolExecutor, as `tandem primes --model mpi --baseline`
measures tandem's: the seed's sequential run, then the pool (Fluent Python 2e's procs.py shape: one task
per number, `pool.map(is_prime, NUMBERS)`), each repeated, on rank 0 of the same mpirun.

Run as `mpirun -n N python3 -m mpi4py.futures primes_mpi.py [reps]` (rank 0 runs this, the other
ranks serve). The numbers and is_prime are the lab's (lab/python/primes.py). One JSON line per run.
"""
import json
import os
import sys
import time

from mpi4py.futures import MPIPoolExecutor

# Every rank imports this file, so every rank finds the lab's module (the pool pickles is_prime by name).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab", "python"))
from primes import NUMBERS, is_prime  # noqa: E402


def emit(impl, mode, workers, seconds):
    print(json.dumps({"impl": impl, "mode": mode, "workers": workers, "tasks": len(NUMBERS),
                      "seconds": seconds}), flush=True)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    impl = f"mpi4py.futures (CPython {sys.version_info.major}.{sys.version_info.minor})"
    with MPIPoolExecutor() as pool:
        workers = pool._max_workers  # mpi4py 3.1 has no public count; 3.1.4 sets it to the world size - 1
        list(pool.map(is_prime, range(4 * workers)))  # workers up before the clock
        for _ in range(reps):
            t0 = time.perf_counter()
            expected = [is_prime(n) for n in NUMBERS]
            emit(impl, "sequential", 1, time.perf_counter() - t0)
            t0 = time.perf_counter()
            got = list(pool.map(is_prime, NUMBERS))
            emit(impl, "parallel", workers, time.perf_counter() - t0)
            assert got == expected, "the pool's answers differ from the sequential ones"


if __name__ == "__main__":
    main()
