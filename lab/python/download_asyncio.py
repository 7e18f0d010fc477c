#!/usr/bin/env python3
"""The asyncio downloader (Real Python notes): one aiohttp.ClientSession, one task per site, gather.

tandem's peer:  download_asyncio.py SITES URL [URL ...]
Changes from the seed: no nest_asyncio (a notebook's workaround: a script has no running loop), the
body is read as bytes (read(), not text()) so that its length is the byte count tandem reports, and
gather does not return exceptions as values (a failed download fails the run).
"""

import asyncio
import sys
import time

import aiohttp

from peer import report_json
from sites import sites_from

USAGE = 'SITES URL [URL ...]'


async def download_site(session, url):
    async with session.get(url) as response:
        body = await response.read()
        print("Read {0} from {1}".format(len(body), url))
        return body


async def download_all_sites(sites):
    async with aiohttp.ClientSession() as session:
        tasks = []
        for url in sites:
            task = asyncio.create_task(download_site(session, url))
            tasks.append(task)
        res = await asyncio.gather(*tasks)
        total = sum(map(len, res))
        print('total len:', total)
        return total


if __name__ == "__main__":
    sites = sites_from(sys.argv[1:], USAGE)
    start_time = time.perf_counter()
    total_len = asyncio.run(download_all_sites(sites))
    duration = time.perf_counter() - start_time
    print(f"Downloaded {len(sites)} sites in {duration} seconds")
    report_json('download', 'coroutines', 1, duration, sites=len(sites), bytes=total_len)
