"""Runs tandem and its peers side by side and prints one table per benchmark: medians of several runs,
ratios, and the machine they ran on. Called by bench/run after a Release build."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "release", "bin")
PY = "/usr/bin/python3"  # Debian's CPython, the peer the issues name


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run_json_lines(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def rates_by_impl(rows, unit_key="tasks"):
    rates = {}
    for r in rows:
        rates.setdefault(r["impl"], []).append(r[unit_key] / r["seconds"])
    return rates


def fmt_rate(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f} M/s"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k/s"
    return f"{x:.0f} /s"


def print_table(title, rates, baseline, ours="tandem"):
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"\n{title}")
    print(f"| implementation | median | min .. max | runs | vs {baseline} | tandem is |")
    print("|---|---:|---:|---:|---:|---:|")
    for impl, m in sorted(med.items(), key=lambda kv: -kv[1]):
        vs_base = f"{m / med[baseline]:.1f}x" if baseline in med else "-"
        ours_ratio = f"{med[ours] / m:.2f}x" if ours in med else "-"
        print(f"| {impl} | {fmt_rate(m)} | {fmt_rate(min(rates[impl]))} .. {fmt_rate(max(rates[impl]))} "
              f"| {len(rates[impl])} | {vs_base} | {ours_ratio} |")
    return med


def bench_thread_pool(args):
    cpp = os.path.join(BIN, "bench_thread_pool")
    py = [PY, os.path.join(ROOT, "bench", "python", "thread_pool.py")]
    for window, label in ((None, "all futures in flight: fs = [submit() ...]; [f.result() for f in fs]"),
                          (args.window, f"{args.window:,} futures in flight: submit a window, read it, repeat")):
        rows = run_json_lines([cpp, str(args.workers), str(args.tasks), str(args.reps), str(window or args.tasks)])
        rows += run_json_lines(py + [str(args.workers), str(args.py_tasks), str(args.reps),
                                     str(window or args.py_tasks)])
        rates = rates_by_impl(rows)
        base = next(k for k in rates if k.startswith("CPython"))
        print_table(f"Thread pool, empty tasks, submit -> result, {args.workers} workers; {label}\n"
                    f"({args.tasks:,} tasks per C++ run, {args.py_tasks:,} per CPython run)", rates, base)


BENCHES = {"thread_pool": bench_thread_pool}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reps", type=int, default=5, help="runs per implementation (median reported)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--tasks", type=int, default=2_000_000, help="tasks per C++ run")
    p.add_argument("--py-tasks", type=int, default=200_000, help="tasks per CPython run")
    p.add_argument("--window", type=int, default=1000, help="futures in flight in the windowed pass")
    p.add_argument("--only", choices=sorted(BENCHES), action="append", help="run only these tables")
    args = p.parse_args()
    cores = os.cpu_count()
    print(f"machine: {cores} cores ({cpu_model()}), {platform.system()} {platform.release()}, "
          f"{sys.implementation.name} {platform.python_version()}")
    for name in args.only or BENCHES:
        BENCHES[name](args)


if __name__ == "__main__":
    main()
