"""Runs tandem and its peers side by side and prints one table per benchmark: medians of several runs,
ratios, and the machine they ran on. Called by bench/run after a Release build."""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TANDEM_BENCH_BIN", os.path.join(ROOT, "build", "release", "bin"))
# Debian's CPython, the peer the issues name; TANDEM_BENCH_PYTHON picks another (one with uvloop).
PY = os.environ.get("TANDEM_BENCH_PYTHON", "/usr/bin/python3")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def py_version():
    """major.minor of the Python the peers run on (PY, not necessarily this interpreter)."""
    return subprocess.run([PY, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
                          check=True, capture_output=True, text=True).stdout.strip()


def run_json_lines(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
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


def fmt_ms(seconds):
    return f"{seconds * 1e3:.1f} ms"


def bench_fork_join(args):
    """Recursive fork-join (tzcnt/runtime-benchmarks' workloads): the same recursion run sequentially,
    on tandem's pool and on TBB's task_group, in one process; times, lower is better."""
    rows = run_json_lines([os.path.join(BIN, "bench_thread_pool"), "fork-join", str(args.workers), str(args.reps)])
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    impls = ["sequential", "tandem", "tbb task_group"]
    times = {(w, i): [r["seconds"] for r in rows if r["workload"] == w and r["impl"] == i] for w in workloads for i in impls}
    med = {k: statistics.median(v) for k, v in times.items() if v}
    print(f"\nFork-join, {args.workers} workers (tandem: ThreadPoolExecutor submit + result; TBB: task_group "
          f"run + wait, an arena of {args.workers}); median (min .. max) of {args.reps} runs, lower is better")
    print("| workload | sequential | tandem | TBB task_group | tandem vs sequential | TBB / tandem |")
    print("|---|---:|---:|---:|---:|---:|")
    for w in workloads:
        cells = [f"{fmt_ms(med[(w, i)])} ({fmt_ms(min(times[(w, i)]))} .. {fmt_ms(max(times[(w, i)]))})"
                 if (w, i) in med else "-" for i in impls]
        speedup = f"{med[(w, 'sequential')] / med[(w, 'tandem')]:.2f}x"
        vs_tbb = f"{med[(w, 'tbb task_group')] / med[(w, 'tandem')]:.2f}x" if (w, "tbb task_group") in med else "-"
        print(f"| {w} | {' | '.join(cells)} | {speedup} | {vs_tbb} |")


def bench_process_pool(args):
    rows = run_json_lines([os.path.join(BIN, "bench_process_pool"), str(args.workers), str(args.proc_tasks),
                           str(args.proc_items), str(args.reps)])
    rows += run_json_lines([PY, os.path.join(ROOT, "bench", "python", "process_pool.py"), str(args.workers),
                            str(args.py_proc_tasks), str(args.py_proc_items), str(args.reps)])
    for mode in ("unbatched", "chunksize 1000"):
        rates = rates_by_impl([r for r in rows if r["mode"] == mode])
        base = next(k for k in rates if k.startswith("CPython"))
        what = "round trips (submit -> result)" if mode == "unbatched" else "items through map(echo, range(n), 1000)"
        print_table(f"Process pool, {args.workers} workers, {what}", rates, base)


def bench_mpi_pool(args):
    """tandem::mpi::PoolExecutor vs mpi4py.futures on the same mpirun (1 + workers ranks); skipped
    without the mpi layer (no bench_mpi_pool) or without mpirun / Debian's python3-mpi4py."""
    cpp = os.path.join(BIN, "bench_mpi_pool")
    mpirun = shutil.which("mpirun")
    if not os.path.exists(cpp) or not mpirun:
        print("\n(MPI pool table skipped: build with Open MPI installed, and mpirun on PATH)")
        return
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    launch = [mpirun, "--oversubscribe", "-n", str(args.workers + 1)]
    rows = run_json_lines(launch + [cpp, str(args.proc_tasks), str(args.proc_items), str(args.reps)], env=env)
    rows += run_json_lines(launch + ["/usr/bin/python3", "-m", "mpi4py.futures",
                                     os.path.join(ROOT, "bench", "python", "mpi_pool.py"),
                                     str(args.py_proc_tasks), str(args.py_proc_items), str(args.reps)], env=env)
    for mode in ("unbatched", "chunksize 1000"):
        rates = rates_by_impl([r for r in rows if r["mode"] == mode])
        base = next(k for k in rates if k.startswith("mpi4py"))
        what = "round trips (submit -> result)" if mode == "unbatched" else "items through map(echo, range(n), 1000)"
        print_table(f"MPI pool, mpirun -n {args.workers + 1} ({args.workers} worker ranks), {what}", rates, base)


def bench_wordcount(args):
    """tandem wordcount (map-reduce, MIT 6.824 lab 1) on a generated corpus under every model: the
    output must be the same bytes; seconds from the CLI's stderr line (the job, without the start)."""
    cli = os.path.join(BIN, "tandem")
    if not os.path.exists(cli):
        print("\n(wordcount table skipped: no tandem CLI in " + BIN + ")")
        return
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    mpirun = shutil.which("mpirun")
    launches = {m: [cli] for m in ("sequential", "threads", "processes")}
    if mpirun and os.path.exists(os.path.join(BIN, "bench_mpi_pool")):
        launches["mpi"] = [mpirun, "--oversubscribe", "-n", str(args.workers + 1), cli]
    times, reference = {}, None
    for model, launch in launches.items():
        for _ in range(args.reps):
            done = subprocess.run(launch + ["wordcount", "--model", model, "--workers", str(args.workers),
                                            "--generate-mb", str(args.wordcount_mb)],
                                  check=True, capture_output=True, text=True, env=env)
            reference = reference or done.stdout
            if done.stdout != reference:
                raise SystemExit(f"wordcount --model {model}: output differs from the sequential one")
            times.setdefault(model, []).append(float(done.stderr.strip().rsplit(" ", 1)[-1].rstrip("s")))
    base = statistics.median(times["sequential"])
    print(f"\nwordcount, {args.wordcount_mb} MiB generated corpus, 16 map / 8 reduce tasks, {args.workers} workers "
          f"(identical output checked)\n| model | median | speedup vs sequential |\n|---|---:|---:|")
    for model, ts in times.items():
        print(f"| {model} | {statistics.median(ts):.2f} s | {base / statistics.median(ts):.2f}x |")


def bench_aio_tasks(args):
    rows, peaks = [], {}  # peaks: impl -> each process's peak RSS (KiB)

    def run_process(cmd):
        proc_rows = run_json_lines(cmd)
        rows.extend(proc_rows)
        peaks.setdefault(proc_rows[0]["impl"], []).append(max(r["peak_rss_kib"] for r in proc_rows))

    for rep in range(args.reps):  # a fresh process per run: round 1 is its cold start, peak RSS is its own
        run_process([os.path.join(BIN, "bench_aio"), "tasks", str(args.aio_tasks), str(args.aio_rounds)])
        if rep < args.py_aio_reps:  # a CPython round takes ~20 s: fewer of them
            for flavour in ("asyncio", "uvloop"):
                run_process([PY, os.path.join(ROOT, "bench", "python", "aio_tasks.py"), flavour,
                             str(args.py_aio_tasks), str(args.py_aio_rounds)])
    base = next(r["impl"] for r in rows if r["impl"].startswith("asyncio"))
    what = (f"spawn + complete tasks that each yield once, gathered ({args.aio_tasks:,} per tandem round, "
            f"{args.py_aio_tasks:,} per Python round)")
    print_table(f"Coroutines, cold: {what}; the first round of a fresh process (its memory is new to the kernel)",
                rates_by_impl([r for r in rows if r["round"] == 1]), base)
    print_table(f"Coroutines, warm: {what}; later rounds of the same process (memory reused, as in a "
                f"long-running program)", rates_by_impl([r for r in rows if r["round"] > 1]), base)
    print("\n| implementation | peak RSS (median of processes) | per task |\n|---|---:|---:|")
    for impl, ps in peaks.items():
        tasks = next(r["tasks"] for r in rows if r["impl"] == impl)
        peak = statistics.median(ps)
        print(f"| {impl} | {peak / 1024:.0f} MiB | {peak * 1024 / tasks:.0f} B |")


def serve_and_load(server_cmd, port, args):
    server = subprocess.Popen(server_cmd, stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{server_cmd[0]} did not start")
        out = subprocess.run([os.path.join(BIN, "bench_echo_client"), str(port), str(args.echo_connections),
                              str(args.echo_messages), "64", str(args.echo_client_threads)],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)
    finally:
        server.terminate()
        server.wait()


def bench_echo(args):
    servers = {
        "tandem": [os.path.join(BIN, "bench_aio"), "echo-server"],
        f"asyncio (CPython {py_version()})": [PY, os.path.join(ROOT, "bench", "python", "aio_echo_server.py"), "asyncio"],
        "uvloop": [PY, os.path.join(ROOT, "bench", "python", "aio_echo_server.py"), "uvloop"],
    }
    results = {name: [] for name in servers}
    port = 18700
    for _ in range(args.reps):
        for name, cmd in servers.items():
            port += 1
            results[name].append(serve_and_load(cmd + [str(port)], port, args))
    print(f"\nTCP echo on loopback, one load client (bench_echo_client, {args.echo_client_threads} thread(s)): "
          f"{args.echo_connections} connections, {args.echo_messages:,} ping-pong messages of 64 B each")
    print("| server | messages/s (median) | p50 latency | p99 latency | vs uvloop |")
    print("|---|---:|---:|---:|---:|")
    med = {n: statistics.median(r["per_second"] for r in rs) for n, rs in results.items()}
    for name, rs in sorted(results.items(), key=lambda kv: -med[kv[0]]):
        p50 = statistics.median(r["p50_us"] for r in rs)
        p99 = statistics.median(r["p99_us"] for r in rs)
        print(f"| {name} | {fmt_rate(med[name])} | {p50:.0f} µs | {p99:.0f} µs | {med[name] / med['uvloop']:.2f}x |")


BENCHES = {"thread_pool": bench_thread_pool, "fork_join": bench_fork_join, "process_pool": bench_process_pool, "aio_tasks": bench_aio_tasks,
           "echo": bench_echo, "mpi_pool": bench_mpi_pool,
           "wordcount": bench_wordcount}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reps", type=int, default=5, help="runs per implementation (median reported)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--tasks", type=int, default=2_000_000, help="tasks per C++ run")
    p.add_argument("--py-tasks", type=int, default=200_000, help="tasks per CPython run")
    p.add_argument("--window", type=int, default=1000, help="futures in flight in the windowed pass")
    p.add_argument("--proc-tasks", type=int, default=200_000, help="unbatched round trips per tandem run")
    p.add_argument("--proc-items", type=int, default=20_000_000, help="items mapped per tandem run")
    p.add_argument("--py-proc-tasks", type=int, default=20_000, help="unbatched round trips per CPython run")
    p.add_argument("--py-proc-items", type=int, default=2_000_000, help="items mapped per CPython run")
    p.add_argument("--aio-tasks", type=int, default=1_000_000, help="coroutine tasks per tandem round")
    p.add_argument("--py-aio-tasks", type=int, default=1_000_000, help="coroutine tasks per Python round")
    p.add_argument("--aio-rounds", type=int, default=5, help="bursts per tandem process (1 cold, the rest warm)")
    p.add_argument("--py-aio-rounds", type=int, default=2, help="bursts per Python process")
    p.add_argument("--py-aio-reps", type=int, default=2, help="Python processes per flavour")
    p.add_argument("--echo-connections", type=int, default=50)
    p.add_argument("--echo-messages", type=int, default=2_000, help="messages per echo connection")
    p.add_argument("--echo-client-threads", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                   help="load-client threads (default: half the cores; the server's loop is one thread)")
    p.add_argument("--wordcount-mb", type=int, default=200, help="MiB of generated text for the wordcount table")
    p.add_argument("--only", choices=sorted(BENCHES), action="append", help="run only these tables")
    args = p.parse_args()
    cores = os.cpu_count()
    print(f"machine: {cores} cores ({cpu_model()}), {platform.system()} {platform.release()}, "
          f"{sys.implementation.name} {platform.python_version()}")
    for name in args.only or BENCHES:
        BENCHES[name](args)


if __name__ == "__main__":
    main()
