#!/usr/bin/env python3
"""sequential.py (Fluent Python 2e, ch. 19): check the numbers one after another.

tandem's peer:  primes_sequential.py [NUMBER ...]   (default: the published list)
"""

import sys
from time import perf_counter
from typing import NamedTuple

from peer import report_json, whole_number
from primes import is_prime, NUMBERS

USAGE = '[NUMBER ...]'


class Result(NamedTuple):  # The boolean value of the is_prime call and the elapsed time.
    prime: bool
    elapsed: float


def check(n: int) -> Result:
    t0 = perf_counter()
    prime = is_prime(n)
    return Result(prime, perf_counter() - t0)


def main() -> None:
    numbers = [whole_number(a, 'NUMBER', USAGE) for a in sys.argv[1:]] or NUMBERS
    print(f'Checking {len(numbers)} numbers sequentially:')
    t0 = perf_counter()
    primes = []
    for n in numbers:
        prime, elapsed = check(n)
        label = 'P' if prime else ' '
        print(f'{n:16}  {label} {elapsed:9.6f}s')
        if prime:
            primes.append(n)

    elapsed = perf_counter() - t0
    print(f'Total time: {elapsed:.2f}s')
    report_json('primes', 'sequential', 1, elapsed, checked=len(numbers), primes=sorted(primes))


if __name__ == '__main__':
    main()
