"""asyncio (or uvloop): spawn and complete N tasks that each yield once, gathered.

Usage: aio_tasks.py asyncio|uvloop N. Prints one JSON line with the time and the peak resident
memory of this process (run it fresh per measurement).
"""
import asyncio
import json
import resource
import sys
import time


async def yield_once():
    await asyncio.sleep(0)


async def spawn_all(n):
    t0 = time.perf_counter()
    await asyncio.gather(*[asyncio.create_task(yield_once()) for _ in range(n)])
    return time.perf_counter() - t0


def main():
    flavour = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    if flavour == "uvloop":
        import uvloop
        seconds = uvloop.run(spawn_all(n)) if hasattr(uvloop, "run") else None
        if seconds is None:
            uvloop.install()
            seconds = asyncio.run(spawn_all(n))
        impl = "uvloop " + uvloop.__version__
    else:
        seconds = asyncio.run(spawn_all(n))
        impl = f"asyncio (CPython {sys.version_info.major}.{sys.version_info.minor})"
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"impl": impl, "tasks": n, "seconds": seconds, "peak_rss_kib": peak_kib}), flush=True)


if __name__ == "__main__":
    main()
