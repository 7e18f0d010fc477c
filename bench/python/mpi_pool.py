"""mpi4py.futures' MPIPoolExecutor round trips (round_trips.py), as bench_mpi_pool measures tandem's.

Run under mpirun -n N with `python3 -m mpi4py.futures mpi_pool.py [tasks] [items] [reps]` (rank 0 runs
this, the others serve), the way mpi4py documents for an existing MPI world.
"""
import sys

from mpi4py.futures import MPIPoolExecutor

import round_trips


def main():
    tasks, items, reps = round_trips.parse_args(sys.argv[1:])
    with MPIPoolExecutor() as pool:
        workers = pool._max_workers  # mpi4py 3.1 has no public count; 3.1.4 sets it to the world size - 1
        round_trips.run(pool, f"mpi4py.futures (CPython {round_trips.python_version()})", workers, tasks, items,
                        reps)


if __name__ == "__main__":
    main()
