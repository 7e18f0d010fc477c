#!/usr/bin/env python3
"""The multiprocessing downloader (Real Python notes): a ProcessPoolExecutor whose initializer gives
each worker process one requests.Session.

tandem's peer:  download_processes.py WORKERS SITES URL [URL ...]   (the seed: cpu_count() workers)
"""

import concurrent.futures
import multiprocessing
import sys
import time

import requests

from peer import report_json
from sites import workers_and_sites

USAGE = 'WORKERS SITES URL [URL ...]'
session = None


def set_global_session():
    global session
    if not session:
        session = requests.Session()


def download_site(url):
    with session.get(url) as response:
        name = multiprocessing.current_process().name
        print(f"{name}:Read {len(response.content)} from {url}")
        return len(response.content)


def download_all_sites(sites, workers):
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, initializer=set_global_session) as pool:
        total = sum(pool.map(download_site, sites))
        print('total_len:', total)
    return total


if __name__ == "__main__":
    workers, sites = workers_and_sites(sys.argv[1:], USAGE)
    start_time = time.perf_counter()
    total_len = download_all_sites(sites, workers)
    duration = time.perf_counter() - start_time
    print(f"Downloaded {len(sites)} in {duration} seconds")
    report_json('download', 'processes', workers, duration, sites=len(sites), bytes=total_len)
