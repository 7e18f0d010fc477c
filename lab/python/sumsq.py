#!/usr/bin/env python3
"""test_multiple_process_computing.py (Real Python notes): the CPU-bound demo, sum of i*i below N.

tandem's peer:  sumsq.py single_process|multiple_threads|multiple_processing [N [WORKERS]]
                (default N: the seed's 100_000_000; WORKERS: cpu_count())

Two changes from the seed, both so that tandem's sumsq (lab/sumsq.hpp) can be compared with it:
- the seed's split_data ends its last part at slice(..., -1) and so drops i = N-1 (it printed
  333333318333333549999999 for the true 333333328333333350000000); here the last part runs to N, and
  single_process sums all of range(N);
- the number of parts and workers is WORKERS for both pools (the seed: 4 threads, cpu_count()
  processes), one part per worker as tandem's sumsq splits it.
"""

import concurrent.futures
import multiprocessing
import sys
from functools import partial
from time import perf_counter

from peer import report_json, usage, whole_number

USAGE = 'single_process|multiple_threads|multiple_processing [N [WORKERS]]'
elapsed_seconds = 0.0


def timethis(func):
    def wrapper(*args, **kwargs):
        global elapsed_seconds
        begin = perf_counter()
        res = func(*args, **kwargs)
        elapsed_seconds = perf_counter() - begin
        print(f'{func.__name__} costs:{elapsed_seconds:.6f}s')
        return res
    return wrapper


def square_sums(nums, idxs):
    return sum(i*i for i in nums[idxs])


def split_data(nums, part_num):
    batch = len(nums)//part_num
    samples = [slice(i*batch, i*batch+batch) for i in range(part_num-1)]
    samples.append(slice(samples[-1].stop if samples else 0, len(nums)))  # the seed: slice(..., -1)
    return samples


def pooled_sum(nums, workers, executor_class):
    samples = split_data(nums, workers)

    with executor_class(max_workers=workers) as pool:
        res = sum(pool.map(partial(square_sums, nums), samples))
        print(res)
    return res


@timethis
def multiple_process(nums, workers):
    print(f'multiple processes: {workers}')
    return pooled_sum(nums, workers, concurrent.futures.ProcessPoolExecutor)


@timethis
def multiple_threads(nums, workers):
    print(f'multiple threads:{workers}')
    return pooled_sum(nums, workers, concurrent.futures.ThreadPoolExecutor)


@timethis
def single_process(nums):
    print('single process, single thread')
    res = square_sums(nums, slice(0, len(nums)))  # the seed: slice(0, -1)
    print(res)
    return res


MODELS = {'single_process': 'sequential', 'multiple_threads': 'threads', 'multiple_processing': 'processes'}

if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] not in MODELS:
        usage(USAGE)
    concurrent_type = sys.argv[1]
    n = whole_number(sys.argv[2], 'N', USAGE) if len(sys.argv) > 2 else 100_000_000
    workers = whole_number(sys.argv[3], 'WORKERS', USAGE) if len(sys.argv) > 3 else multiprocessing.cpu_count()
    numbers = range(n)
    if concurrent_type == 'multiple_processing':
        total = multiple_process(numbers, workers)
    elif concurrent_type == 'multiple_threads':
        total = multiple_threads(numbers, workers)
    else:
        total = single_process(numbers)
        workers = 1
    report_json('sumsq', MODELS[concurrent_type], workers, elapsed_seconds, n=n, sum=total)
