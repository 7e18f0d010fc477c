#!/usr/bin/env python3
"""procs.py (Fluent Python 2e, ch. 19): the multicore prime checker, one process per worker.

tandem's peer:  primes_procs.py [WORKERS [NUMBER ...]]   (default: cpu_count(), the published list)
The job protocol (PrimeResult, check, worker, report) is the seed's, in prime_jobs.py.
"""

import sys
from time import perf_counter
from multiprocessing import Process, SimpleQueue, cpu_count
from multiprocessing import queues

from peer import report_json, whole_number
from prime_jobs import PrimeResult, report, worker
from primes import NUMBERS

USAGE = '[WORKERS [NUMBER ...]]'

JobQueue = queues.SimpleQueue[int]  # Send numbers to the processes that will do the work
ResultQueue = queues.SimpleQueue[PrimeResult]  # Collect the results in main


def start_jobs(procs: int, numbers: list[int], jobs: JobQueue, results: ResultQueue) -> None:
    for n in numbers:
        jobs.put(n)  # Enqueue the numbers to be checked in jobs.
    for _ in range(procs):
        proc = Process(target=worker, args=(jobs, results))  # A child process for each worker.
        proc.start()
        jobs.put(0)  # One 0 for each process, to terminate them.


def main() -> None:
    procs = whole_number(sys.argv[1], 'WORKERS', USAGE) if len(sys.argv) > 1 else cpu_count()
    numbers = [whole_number(a, 'NUMBER', USAGE) for a in sys.argv[2:]] or NUMBERS

    print(f'Checking {len(numbers)} numbers with {procs} processes:')
    t0 = perf_counter()
    jobs: JobQueue = SimpleQueue()
    results: ResultQueue = SimpleQueue()
    primes: list[int] = []
    start_jobs(procs, numbers, jobs, results)  # Start proc processes to consume jobs and post results.
    checked = report(procs, results, primes)  # Retrieve the results and display them.
    elapsed = perf_counter() - t0
    print(f'{checked} checks in {elapsed:.2f}s')
    report_json('primes', 'processes', procs, elapsed, checked=checked, primes=sorted(primes))


if __name__ == '__main__':
    main()
