"""CPython's ThreadPoolExecutor doing what bench_thread_pool does: empty tasks, submit -> result.

Prints one JSON line per repetition, like the C++ side.
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def empty():
    return None


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    for _ in range(reps):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pool.submit(empty).result()
            t0 = time.perf_counter()
            futures = [pool.submit(empty) for _ in range(tasks)]
            for f in futures:
                f.result()
            seconds = time.perf_counter() - t0
        impl = f"cpython-{sys.version_info.major}.{sys.version_info.minor}"
        print(json.dumps({"impl": impl, "workers": workers, "tasks": tasks, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
