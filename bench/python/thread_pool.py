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
    window = int(sys.argv[4]) if len(sys.argv) > 4 else tasks
    for _ in range(reps):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pool.submit(empty).result()
            t0 = time.perf_counter()
            done = 0
            while done < tasks:
                n = min(window, tasks - done)
                futures = [pool.submit(empty) for _ in range(n)]
                for f in futures:
                    f.result()
                done += n
            seconds = time.perf_counter() - t0
        impl = f"CPython {sys.version_info.major}.{sys.version_info.minor}"
        print(json.dumps({"impl": impl, "workers": workers, "tasks": tasks, "window": window, "seconds": seconds}),
              flush=True)


if __name__ == "__main__":
    main()
