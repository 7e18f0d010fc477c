"""The seed's site downloader (Real Python, "Speed up your program with concurrency") as a benchmark peer.

Usage: download.py sync|threads|asyncio|uvloop N WORKERS URL [URL ...]
Downloads N sites (the URLs given, repeated in turn, as the seed's list * 80) and prints one JSON line:
{"impl", "sites", "seconds", "bytes"}. WORKERS: the thread pool's max_workers (threads), the
TCPConnector limit (asyncio/uvloop; 100 is aiohttp's default, 0 none); ignored by sync.
The code is the seed's, without the per-site print (it would time the terminal).
"""
import concurrent.futures
import json
import sys
import threading
import time

thread_local = threading.local()


def get_session():
    import requests
    if not hasattr(thread_local, "session"):
        thread_local.session = requests.Session()
    return thread_local.session


def download_site(url, session=None):
    session = session or get_session()
    with session.get(url) as response:
        response.raise_for_status()
        return len(response.content)


def download_all_sync(sites, _workers):
    import requests
    with requests.Session() as session:
        return sum(download_site(url, session) for url in sites)


def download_all_threads(sites, workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
        return sum(executor.map(download_site, sites))


async def download_site_async(session, url):
    async with session.get(url) as response:
        response.raise_for_status()
        return len(await response.read())


async def download_all_async(sites, limit):
    import asyncio
    import aiohttp
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:
        tasks = [asyncio.create_task(download_site_async(session, url)) for url in sites]
        return sum(await asyncio.gather(*tasks))


def main():
    model, n, workers, urls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    sites = [urls[i % len(urls)] for i in range(n)]
    # Imports happen before the clock starts (aiohttp's import alone takes ~0.2 s).
    import requests  # noqa: F401
    if model in ("asyncio", "uvloop"):
        import aiohttp  # noqa: F401
    if model == "uvloop":
        import uvloop
        uvloop.install()
    start = time.perf_counter()
    if model == "sync":
        total, impl = download_all_sync(sites, workers), "requests"
    elif model == "threads":
        total, impl = download_all_threads(sites, workers), f"requests + ThreadPoolExecutor({workers})"
    else:
        import asyncio
        total = asyncio.run(download_all_async(sites, workers))
        impl = f"aiohttp on {model}, limit {workers or 'none'}"
    seconds = time.perf_counter() - start
    print(json.dumps({"impl": impl, "sites": n, "seconds": seconds, "bytes": total}))


if __name__ == "__main__":
    main()
