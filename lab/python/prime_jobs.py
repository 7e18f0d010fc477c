"""prime_jobs.py: the job protocol that procs.py and threads.py (Fluent Python 2e, ch. 19) share.

The two programs differ only in what runs `worker`: a multiprocessing.Process fed by
multiprocessing's SimpleQueue, or a threading.Thread fed by queue.SimpleQueue. Everything else —
the numbers in, one PrimeResult out per number, a 0 to stop each worker — is here, once.
"""

from time import perf_counter
from typing import NamedTuple

from primes import is_prime


class PrimeResult(NamedTuple):
    n: int
    prime: bool
    elapsed: float


def check(n: int) -> PrimeResult:
    t0 = perf_counter()
    res = is_prime(n)
    return PrimeResult(n, res, perf_counter() - t0)


def worker(jobs, results) -> None:
    while n := jobs.get():
        results.put(check(n))  # Enqueue PrimeResult
    results.put(PrimeResult(0, False, 0.0))  # Let the main loop know that this worker is done.


def report(workers: int, results, primes: list[int]) -> int:
    checked = 0
    workers_done = 0
    while workers_done < workers:
        n, prime, elapsed = results.get()
        if n == 0:
            workers_done += 1
        else:
            checked += 1
            label = 'P' if prime else ' '
            print(f'{n:16}  {label} {elapsed:9.6f}s')
            if prime:
                primes.append(n)
    return checked
