"""Runs tandem and its peers side by side and prints one table per benchmark: medians of several runs,
ratios, and the machine they ran on. Called by bench/run after a Release build."""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time

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


def mpi_launch(args, table):
    """(mpirun prefix for 1 + workers ranks, its environment), or (None, None) and a note when this
    build has no mpi layer (no bench_mpi_pool) or mpirun is missing."""
    mpirun = shutil.which("mpirun")
    if not os.path.exists(os.path.join(BIN, "bench_mpi_pool")) or not mpirun:
        print(f"\n({table} table skipped: build with Open MPI installed, and mpirun on PATH)")
        return None, None
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return [mpirun, "--oversubscribe", "-n", str(args.workers + 1)], env


def bench_mpi_pool(args):
    """tandem::mpi::PoolExecutor vs mpi4py.futures on the same mpirun (1 + workers ranks); skipped
    without the mpi layer (no bench_mpi_pool) or without mpirun / Debian's python3-mpi4py."""
    cpp = os.path.join(BIN, "bench_mpi_pool")
    launch, env = mpi_launch(args, "MPI pool")
    if not launch:
        return
    rows = run_json_lines(launch + [cpp, str(args.proc_tasks), str(args.proc_items), str(args.reps)], env=env)
    rows += run_json_lines(launch + ["/usr/bin/python3", "-m", "mpi4py.futures",
                                     os.path.join(ROOT, "bench", "python", "mpi_pool.py"),
                                     str(args.py_proc_tasks), str(args.py_proc_items), str(args.reps)], env=env)
    for mode in ("unbatched", "chunksize 1000"):
        rates = rates_by_impl([r for r in rows if r["mode"] == mode])
        base = next(k for k in rates if k.startswith("mpi4py"))
        what = "round trips (submit -> result)" if mode == "unbatched" else "items through map(echo, range(n), 1000)"
        print_table(f"MPI pool, mpirun -n {args.workers + 1} ({args.workers} worker ranks), {what}", rates, base)


def fmt_median_range(ts):
    return f"{fmt_s(statistics.median(ts))} ({fmt_s(min(ts))} .. {fmt_s(max(ts))})"


def bench_mpi_primes(args):
    """The seed's 20 numbers: each side's sequential check, then its MPI pool, on rank 0 of one mpirun
    (the worker ranks wait meanwhile), alternating; speedup over its own sequential median. tandem runs the
    lab's workload (`tandem primes --model mpi --baseline`: each number's divisors in chunks of 2^21),
    mpi4py.futures the seed's procs.py shape (bench/python/primes_mpi.py: one task per number)."""
    launch, env = mpi_launch(args, "MPI primes")
    if not launch:
        return
    cli = os.path.join(BIN, "tandem")
    load_before = os.getloadavg()[0]
    times = {}  # (impl, "sequential" | "parallel") -> seconds of each run
    tasks = {}
    for _ in range(args.primes_reps):  # one job per run, each its baseline then its pool, as the Python side
        cmd = launch + [cli, "primes", "--model", "mpi", "--workers", str(args.workers), "--baseline", "--runs", "1",
                        "--json"]
        doc = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
        times.setdefault(("tandem", "sequential"), []).extend(doc["baseline"]["measurement"]["runs"])
        times.setdefault(("tandem", "parallel"), []).extend(doc["run"]["measurement"]["runs"])
        tasks["tandem"] = doc["run"]["tasks"]
    for r in run_json_lines(launch + ["/usr/bin/python3", "-m", "mpi4py.futures",
                                      os.path.join(ROOT, "bench", "python", "primes_mpi.py"), str(args.primes_reps)],
                            env=env):
        times.setdefault((r["impl"], r["mode"]), []).append(r["seconds"])
        tasks[r["impl"]] = r["tasks"]
    impls = list(tasks)
    speedup = {i: statistics.median(times[(i, "sequential")]) / statistics.median(times[(i, "parallel")])
               for i in impls}
    print(f"\nMPI pool, primes (the seed's 20 numbers), mpirun -n {args.workers + 1} ({args.workers} worker ranks), "
          f"{os.cpu_count()} cores; median (min .. max) of {args.primes_reps} runs, lower is better; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print("| implementation | sequential | MPI pool | tasks | speedup | time vs tandem | speedup, tandem / mpi4py |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    tandem_time = statistics.median(times[("tandem", "parallel")])
    for i in impls:
        print(f"| {i} | {fmt_median_range(times[(i, 'sequential')])} | {fmt_median_range(times[(i, 'parallel')])} "
              f"| {tasks[i]} | {speedup[i]:.2f}x | {statistics.median(times[(i, 'parallel')]) / tandem_time:.1f}x "
              f"| {speedup['tandem'] / speedup[i]:.2f}x |")


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
            workers = [] if model == "sequential" else ["--workers", str(args.workers)]  # sequential has no pool
            done = subprocess.run(launch + ["wordcount", "--model", model, *workers,
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


def start_tandem_serve(extra):
    """`tandem serve --port 0 ...` in the background; returns (process, base URL) once it listens."""
    proc = subprocess.Popen([os.path.join(BIN, "tandem"), "serve", "--port", "0"] + extra, stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    m = re.search(r"(http://[0-9.]+:\d+)", line)
    if not m:
        proc.terminate()
        proc.wait()
        raise RuntimeError(f"tandem serve did not start: {line!r}")
    return proc, m.group(1)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fmt_s(seconds):
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def bench_download(args):
    """The seed's downloader at --download-latency against one `tandem serve`: tandem's four models beside
    requests and aiohttp. A row whose expected time (sites x latency / concurrency) passes
    --download-max-seconds is skipped and says so; rows expected over 5 s run once."""
    latency = args.download_latency_ms / 1000
    server, base = start_tandem_serve(["--latency", f"{args.download_latency_ms}ms"])
    urls = [base + "/jython", base + "/dice"]
    tandem = os.path.join(BIN, "tandem")
    cores = os.cpu_count() or 1
    # tandem download's coroutine default against another process: every URL within the descriptor
    # limit (lab::kept_in_flight(n, 1)), as the child inherits this process's RLIMIT_NOFILE.
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    fd_cap = 10**9 if soft == resource.RLIM_INFINITY else max(1, soft - 256)
    try:
        for n in args.download_sites:
            rows = [  # (name, concurrency for the estimate, command); tandem's print "Downloaded N in X seconds"
                ("tandem sync", 1, [tandem, "download", "--model", "sync"]),
                ("tandem threads (5)", 5, [tandem, "download", "--model", "threads", "--workers", "5"]),
                ("tandem threads (100)", 100, [tandem, "download", "--model", "threads", "--workers", "100"]),
                (f"tandem processes ({cores})", cores, [tandem, "download", "--model", "processes"]),
                (f"tandem coroutines (default: {min(n, fd_cap):,} in flight)", min(n, fd_cap),
                 [tandem, "download", "--model", "coroutines"]),
                ("requests (sync)", 1, [PY, os.path.join(ROOT, "bench", "python", "download.py"), "sync", str(n), "1"]),
            ]
            for w in (5, 100):
                rows.append((f"requests + ThreadPoolExecutor({w})", w,
                             [PY, os.path.join(ROOT, "bench", "python", "download.py"), "threads", str(n), str(w)]))
            for flavour, limit in (("asyncio", 100), ("uvloop", 100), ("uvloop", 0)):
                rows.append((f"aiohttp on {flavour}, limit {limit or 'none'}" + (" (default)" if limit else ""),
                             min(n, limit or n),
                             [PY, os.path.join(ROOT, "bench", "python", "download.py"), flavour, str(n), str(limit)]))
            times, skipped = {}, []
            for name, concurrency, cmd in rows:
                expected = -(-n // concurrency) * latency
                if expected > args.download_max_seconds:
                    skipped.append(f"{name} (~{expected:.0f} s)")
                    continue
                reps = 1 if expected > 5 else args.download_reps
                for _ in range(reps):
                    if cmd[0] == tandem:
                        # --runs 1: this loop makes the repetitions, the same way for every row.
                        out = subprocess.run(cmd + ["--runs", "1", "--sites", str(n), "--url", urls[0], "--url", urls[1]], check=True,
                                             capture_output=True, text=True).stdout
                        seconds = float(re.search(r"Downloaded \d+ in ([0-9.]+) seconds", out).group(1))
                    else:
                        seconds = run_json_lines(cmd + urls)[0]["seconds"]
                    times.setdefault(name, []).append(seconds)
            med = {k: statistics.median(v) for k, v in times.items()}
            coro = next(k for k in med if k.startswith("tandem coroutines (default"))
            aio = "aiohttp on asyncio, limit 100 (default)"
            print(f"\nDownloads: {n:,} sites (the seed's /jython and /dice in turn) at {args.download_latency_ms} ms "
                  f"latency from `tandem serve`; median (min .. max) of the runs, lower is better; {cores} cores")
            print(f"| implementation | median | min .. max | runs | vs {aio} | / tandem coroutines |")
            print("|---|---:|---:|---:|---:|---:|")
            for name, m in sorted(med.items(), key=lambda kv: kv[1]):
                vs = f"{med[aio] / m:.2f}x" if aio in med else "-"
                print(f"| {name} | {fmt_s(m)} | {fmt_s(min(times[name]))} .. {fmt_s(max(times[name]))} | "
                      f"{len(times[name])} | {vs} | {m / med[coro]:.1f}x |")
            if skipped:
                print(f"Skipped (expected over {args.download_max_seconds:g} s): {', '.join(skipped)}")
    finally:
        stop(server)


def wrk(url, args):
    """requests/s and p99 latency (ms) of `wrk -t1 -c50 -d5s --latency url`."""
    out = subprocess.run(["wrk", f"-t{args.wrk_threads}", f"-c{args.wrk_connections}", f"-d{args.wrk_seconds}s",
                          "--latency", url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    value, unit = re.search(r"\n\s+99%\s+([0-9.]+)(us|ms|s)\b", out).groups()
    p99_ms = float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: [^\n]*", out)
    if errors:
        raise RuntimeError(f"wrk saw errors against {url}: {errors.group(0)}")
    return rps, p99_ms


NGINX_CONF = """worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{ listen 127.0.0.1:{port}; root {d}/www; location / {{ default_type text/html; }} }}
}}
"""


def wait_for_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def fetch_when_up(url, name, timeout=10.0):
    """The body at url, retried while the server starts (pre-fork workers bind after the URL is printed)."""
    import urllib.error
    import urllib.request
    deadline = time.monotonic() + timeout
    while True:
        try:
            return urllib.request.urlopen(url).read()
        except urllib.error.URLError as e:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} does not answer at {url}: {e}") from e
            time.sleep(0.05)


def bench_http_server(args):
    """Requests/s of one wrk client against each server's 277-byte /dice, no latency."""
    import tempfile
    results, port = {}, 18800
    tmp = tempfile.mkdtemp(prefix="tandem-bench-nginx-")
    os.chmod(tmp, 0o755)  # nginx's worker may run as another user (nobody, when started by root)
    try:
        probe, base = start_tandem_serve([])
        dice = fetch_when_up(base + "/dice", "tandem serve")
        stop(probe)
        os.makedirs(os.path.join(tmp, "www"))
        with open(os.path.join(tmp, "www", "dice"), "wb") as f:
            f.write(dice)
        for _ in range(args.reps_server):
            for name in ("tandem serve (1 process)", "tandem serve --processes 2", "aiohttp.web (asyncio)",
                         "aiohttp.web (uvloop)", "nginx (1 worker, static file)"):
                port += 1
                if name.startswith("tandem"):
                    proc, base = start_tandem_serve(["--processes", "2"] if "2" in name else [])
                elif name.startswith("aiohttp"):
                    proc = subprocess.Popen([PY, os.path.join(ROOT, "bench", "python", "web_server.py"), str(port),
                                             "uvloop" if "uvloop" in name else "asyncio"], stdout=subprocess.PIPE,
                                            text=True)
                    if proc.stdout.readline().strip() != "ready":
                        raise RuntimeError("aiohttp.web did not start")
                    base = f"http://127.0.0.1:{port}"
                else:
                    conf = os.path.join(tmp, "nginx.conf")
                    with open(conf, "w") as f:
                        f.write(NGINX_CONF.format(d=tmp, port=port))
                    proc = subprocess.Popen(["nginx", "-p", tmp, "-c", conf], stderr=subprocess.DEVNULL)
                    wait_for_port(port, proc)
                    base = f"http://127.0.0.1:{port}"
                try:
                    body = fetch_when_up(base + "/dice", name)
                    if len(body) != 277:
                        raise RuntimeError(f"{name} served {len(body)} bytes, not 277")
                    results.setdefault(name, []).append(wrk(base + "/dice", args))
                finally:
                    stop(proc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {n: statistics.median(r[0] for r in rs) for n, rs in results.items()}
    base = "aiohttp.web (asyncio)"
    print(f"\nHTTP server: wrk -t{args.wrk_threads} -c{args.wrk_connections} -d{args.wrk_seconds}s on loopback, "
          f"GET /dice (277 bytes), keep-alive, no latency; median (min .. max) of {args.reps_server} runs; "
          f"{os.cpu_count()} cores shared by the server and wrk")
    print(f"| server | requests/s | min .. max | p99 latency | vs {base} | vs nginx |")
    print("|---|---:|---:|---:|---:|---:|")
    nginx = med.get("nginx (1 worker, static file)")
    for name, m in sorted(med.items(), key=lambda kv: -kv[1]):
        rs = [r[0] for r in results[name]]
        p99 = statistics.median(r[1] for r in results[name])
        print(f"| {name} | {fmt_rate(m)} | {fmt_rate(min(rs))} .. {fmt_rate(max(rs))} | {p99:.2f} ms | "
              f"{m / med[base]:.1f}x | {m / nginx:.2f}x |")


BENCHES = {"thread_pool": bench_thread_pool, "fork_join": bench_fork_join, "process_pool": bench_process_pool, "aio_tasks": bench_aio_tasks,
           "echo": bench_echo, "mpi_pool": bench_mpi_pool, "mpi_primes": bench_mpi_primes,
           "wordcount": bench_wordcount, "download": bench_download, "http_server": bench_http_server}


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
    p.add_argument("--primes-reps", type=int, default=3,
                   help="runs of the MPI primes table per side (a CPython run is ~15 s on one core)")
    p.add_argument("--wordcount-mb", type=int, default=200, help="MiB of generated text for the wordcount table")
    p.add_argument("--download-sites", type=int, nargs="+", default=[160, 1_000, 10_000],
                   help="site counts of the download tables")
    p.add_argument("--download-latency-ms", type=int, default=100, help="tandem serve --latency for downloads")
    p.add_argument("--download-reps", type=int, default=3, help="runs per download row expected under 5 s")
    p.add_argument("--download-max-seconds", type=float, default=60,
                   help="skip download rows expected to take longer (sites x latency / concurrency)")
    p.add_argument("--reps-server", type=int, default=3, help="wrk runs per server")
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--wrk-connections", type=int, default=50)
    p.add_argument("--wrk-seconds", type=int, default=5)
    p.add_argument("--quick", action="store_true",
                   help="download and server tables in about a minute: 160 and 1,000 sites, rows under 10 s, "
                        "one run each, 2 s of wrk")
    p.add_argument("--only", choices=sorted(BENCHES), action="append", help="run only these tables")
    args = p.parse_args()
    if args.quick:
        args.download_sites, args.download_max_seconds, args.download_reps = [160, 1_000], 10, 1
        args.reps_server, args.wrk_seconds = 1, 2
    cores = os.cpu_count()
    print(f"machine: {cores} cores ({cpu_model()}), {platform.system()} {platform.release()}, "
          f"{sys.implementation.name} {platform.python_version()}")
    for name in args.only or BENCHES:
        BENCHES[name](args)


if __name__ == "__main__":
    main()
