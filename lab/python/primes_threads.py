#!/usr/bin/env python3
"""threads.py (Fluent Python 2e, ch. 19): the thread-based nonsolution.

procs.py with threading.Thread and queue.SimpleQueue in place of processes: on CPython the GIL lets
one thread run Python code at a time, so CPU-bound checks get no faster (tandem's threads-gil model
reproduces this).

tandem's peer:  primes_threads.py [WORKERS [NUMBER ...]]   (default: os.cpu_count(), the published list)
"""

import os
import sys
from queue import SimpleQueue
from threading import Thread
from time import perf_counter

from peer import report_json, whole_number
from prime_jobs import PrimeResult, report, worker
from primes import NUMBERS

USAGE = '[WORKERS [NUMBER ...]]'

JobQueue = SimpleQueue[int]
ResultQueue = SimpleQueue[PrimeResult]


def start_jobs(workers: int, numbers: list[int], jobs: JobQueue, results: ResultQueue) -> None:
    for n in numbers:
        jobs.put(n)
    for _ in range(workers):
        thread = Thread(target=worker, args=(jobs, results))  # A thread, not a process.
        thread.start()
        jobs.put(0)


def main() -> None:
    workers = whole_number(sys.argv[1], 'WORKERS', USAGE) if len(sys.argv) > 1 else os.cpu_count()
    numbers = [whole_number(a, 'NUMBER', USAGE) for a in sys.argv[2:]] or NUMBERS

    print(f'Checking {len(numbers)} numbers with {workers} threads:')
    t0 = perf_counter()
    jobs: JobQueue = SimpleQueue()
    results: ResultQueue = SimpleQueue()
    primes: list[int] = []
    start_jobs(workers, numbers, jobs, results)
    checked = report(workers, results, primes)
    elapsed = perf_counter() - t0
    print(f'{checked} checks in {elapsed:.2f}s')
    report_json('primes', 'threads', workers, elapsed, checked=checked, primes=sorted(primes))


if __name__ == '__main__':
    main()
