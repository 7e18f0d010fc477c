#!/usr/bin/env python3
"""The synchronous downloader (Real Python notes): one requests.Session, one site after another.

tandem's peer:  download_sync.py SITES URL [URL ...]
"""

import sys
import time

import requests

from peer import report_json
from sites import sites_from

USAGE = 'SITES URL [URL ...]'
total_len = 0


def download_site(url, session):
    with session.get(url) as response:
        print(f"Read {len(response.content)} from {url}")
        global total_len
        total_len += len(response.content)


def download_all_sites(sites):
    with requests.Session() as session:
        for url in sites:
            download_site(url, session)


if __name__ == "__main__":
    sites = sites_from(sys.argv[1:], USAGE)
    start_time = time.perf_counter()
    download_all_sites(sites)
    duration = time.perf_counter() - start_time
    print(f"total len:{total_len}")
    print(f"Downloaded {len(sites)} in {duration} seconds")
    report_json('download', 'sequential', 1, duration, sites=len(sites), bytes=total_len)
