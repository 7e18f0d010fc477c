#!/usr/bin/env python3
"""The threading downloader (Real Python notes): a ThreadPoolExecutor, one requests.Session per thread.

tandem's peer:  download_threads.py WORKERS SITES URL [URL ...]   (the seed: max_workers=5)
"""

import concurrent.futures
import sys
import threading
import time

import requests

from peer import report_json
from sites import workers_and_sites

USAGE = 'WORKERS SITES URL [URL ...]'
lock = threading.RLock()
thread_local = threading.local()

total_len = 0


def get_session():
    if not hasattr(thread_local, "session"):
        thread_local.session = requests.Session()
    return thread_local.session


def download_site(url):
    session = get_session()
    with session.get(url) as response:
        print(f"Read {len(response.content)} from {url}")
        global total_len
        with lock:
            total_len += len(response.content)


def download_all_sites(sites, workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
        list(executor.map(download_site, sites))  # list(): a failed download raises here


if __name__ == "__main__":
    workers, sites = workers_and_sites(sys.argv[1:], USAGE)
    start_time = time.perf_counter()
    download_all_sites(sites, workers)
    duration = time.perf_counter() - start_time
    print(f"total len:{total_len}")
    print(f"Downloaded {len(sites)} in {duration} seconds")
    report_json('download', 'threads', workers, duration, sites=len(sites), bytes=total_len)
