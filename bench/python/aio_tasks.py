"""asyncio (or uvloop): spawn and complete N tasks that each yield once, gathered.

Usage: aio_tasks.py asyncio|uvloop N [ROUNDS]. Runs the burst ROUNDS times (default 1) in this
process and prints one JSON line per round: its time and the process's peak resident memory so far.
Round 1 is the cold start; later rounds reuse what the allocator kept, as bench_aio's do.
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
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if flavour == "uvloop":
        import uvloop
        impl = "uvloop " + uvloop.__version__
        new_loop = uvloop.new_event_loop
    else:
        impl = f"asyncio (CPython {sys.version_info.major}.{sys.version_info.minor})"
        new_loop = asyncio.new_event_loop
    for r in range(1, rounds + 1):
        loop = new_loop()  # a fresh loop per round, as asyncio.run() would make
        try:
            seconds = loop.run_until_complete(spawn_all(n))
        finally:
            loop.close()
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"impl": impl, "tasks": n, "round": r, "seconds": seconds, "peak_rss_kib": peak_kib}),
              flush=True)


if __name__ == "__main__":
    main()
