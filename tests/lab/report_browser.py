#!/usr/bin/env python3
"""The report in a real browser (issue 13, "Tested in a real browser").

Renders report.html from the fixtures (results.json, trace.json) with lab_report_render, loads it in
headless chromium (scripts/chromium_page.py), takes a screenshot, and asserts, against counts taken
from the fixtures themselves (not from the generator):
  - no console error, uncaught exception or failed load, and no request but the page itself;
  - per program, the cases chart has one bar and one whisker per case, each bar laid out no shorter than
    any bar of a shorter median; the sweep chart one point per sweep entry and the ideal line;
  - per traced case, the timeline has one lane per worker (tid) of its pid in trace.json;
  - the latency and CPython tables have one row per entry;
  - the screenshot is a PNG of the window's width and at least its height.
Exit 0: passed; 1: failed (each failure listed); 77: chromium is absent (ctest shows it skipped).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
import chromium_page  # noqa: E402

WIDTH, HEIGHT = 1280, 900

COLLECT = r"""
JSON.stringify({
  charts: [...document.querySelectorAll('svg.chart')].map(svg => ({
    kind: svg.classList.contains('sweep') ? 'sweep' : 'cases',
    program: svg.dataset.program,
    shown: svg.getBoundingClientRect().width > 0 && svg.getBoundingClientRect().height > 0,
    bars: [...svg.querySelectorAll('rect.bar')].map(r => ({model: r.dataset.model,
      workers: parseInt(r.dataset.workers), width: r.getBBox().width})),
    whiskers: svg.querySelectorAll('g.whisker').length,
    points: [...svg.querySelectorAll('circle.point')].map(c => c.dataset.model + '/' + c.dataset.workers),
    ideal: svg.querySelectorAll('line.ideal').length,
  })),
  timelines: [...document.querySelectorAll('svg.timeline')].map(svg => ({
    pid: svg.dataset.pid,
    lanes: [...svg.querySelectorAll('g.lane')].map(g => g.dataset.tid),
    shown: svg.getBoundingClientRect().width > 0,
  })),
  latencyRows: document.querySelectorAll('table.latency tr.latency-row').length,
  pythonRows: document.querySelectorAll('table.python tr.python-row').length,
  summaryLines: document.querySelectorAll('ul.summary li.summary-line').length,
})
"""


def expected_lanes(trace):
    """pid → the set of tids (lanes) that trace.json gives it."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    lanes = {}
    for e in events:
        tid = int(e.get("tid", 0))
        if tid != 0 and (e["ph"] == "X" or (e["ph"] == "M" and e.get("name") == "thread_name")):
            lanes.setdefault(int(e["pid"]), set()).add(str(tid))
    return lanes


def check(results, trace, page, failures):
    def fail(message):
        failures.append(message)

    for problem in page.console_errors:
        fail(f"console: {problem}")
    for url in page.requests:
        if not url.startswith("file:") and not url.startswith("data:"):
            fail(f"the page requested {url}: report.html must be self-contained")

    values = json.loads(page.values["collect"])
    charts = {(c["kind"], c["program"]): c for c in values["charts"]}
    for program in results.get("programs", []):
        name, cases, sweep = program["name"], program.get("cases", []), program.get("sweep", [])
        if cases:
            chart = charts.get(("cases", name))
            if not chart:
                fail(f"{name}: no cases chart")
            else:
                if not chart["shown"]:
                    fail(f"{name}: the cases chart has no size on the page")
                if sorted(b["model"] for b in chart["bars"]) != sorted(c["model"] for c in cases):
                    fail(f"{name}: bars {[b['model'] for b in chart['bars']]}, cases {[c['model'] for c in cases]}")
                if chart["whiskers"] != len(cases):
                    fail(f"{name}: {chart['whiskers']} whiskers for {len(cases)} cases")
                # A longer median (results.json's) never draws a shorter bar (0.15 px: the drawing rounds
                # to 0.1 px).
                medians = {(c["model"], int(c.get("workers", 1))): c["median_s"] for c in cases}
                for b in chart["bars"]:
                    b["median"] = medians.get((b["model"], b["workers"]), float("nan"))
                for a in chart["bars"]:
                    for b in chart["bars"]:
                        if a["median"] < b["median"] and a["width"] > b["width"] + 0.15:
                            fail(f"{name}: {a['model']}'s bar ({a['width']:.1f} px, median {a['median']} s) is "
                                 f"longer than {b['model']}'s ({b['width']:.1f} px, median {b['median']} s)")
        if sweep:
            chart = charts.get(("sweep", name))
            if not chart:
                fail(f"{name}: no sweep chart")
            else:
                want = sorted(f"{s['model']}/{int(s['workers'])}" for s in sweep)
                if sorted(chart["points"]) != want:
                    fail(f"{name}: sweep points {sorted(chart['points'])}, results.json {want}")
                if chart["ideal"] < 1:
                    fail(f"{name}: the sweep has no ideal line")
        elif ("sweep", name) in charts:
            fail(f"{name}: a sweep chart for an empty sweep")

    lanes = expected_lanes(trace)
    timelines = {t["pid"]: t for t in values["timelines"]}
    traced = [int(c["trace_pid"]) for p in results.get("programs", []) for c in p.get("cases", [])
              if c.get("trace_pid") is not None and int(c["trace_pid"]) in lanes]
    if len(timelines) != len(traced):
        fail(f"{len(timelines)} timelines for {len(traced)} traced cases")
    for pid in traced:
        timeline = timelines.get(str(pid))
        if not timeline:
            fail(f"pid {pid}: no timeline")
        elif sorted(timeline["lanes"]) != sorted(lanes[pid]):
            fail(f"pid {pid}: lanes {sorted(timeline['lanes'])}, trace.json has tids {sorted(lanes[pid])}")
        elif not timeline["shown"]:
            fail(f"pid {pid}: the timeline has no size on the page")

    if values["latencyRows"] != len(results.get("latency", [])):
        fail(f"{values['latencyRows']} latency rows for {len(results.get('latency', []))} in results.json")
    python_cases = (results.get("python") or {}).get("cases", [])
    if values["pythonRows"] != len(python_cases):
        fail(f"{values['pythonRows']} CPython rows for {len(python_cases)} in results.json")
    if values["summaryLines"] == 0:
        fail("the summary has no lines")

    width, height = chromium_page.png_size(page.png)
    if width != WIDTH or height < HEIGHT:
        fail(f"screenshot is {width}x{height}, expected {WIDTH} wide and at least {HEIGHT} high")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render", required=True, help="the lab_report_render executable")
    parser.add_argument("--fixtures", required=True, help="folder with results.json and trace.json")
    parser.add_argument("--out", help="folder for report.html, report.png and dom.html (default: a temporary one)")
    args = parser.parse_args()

    if not chromium_page.find_chromium():
        print("SKIPPED: chromium is not installed; scripts/bootstrap installs it (Debian package chromium)")
        return 77
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="tandem-report-browser-"))
    out.mkdir(parents=True, exist_ok=True)
    fixtures = pathlib.Path(args.fixtures)
    html = out / "report.html"
    subprocess.run([args.render, fixtures / "results.json", fixtures / "trace.json", html], check=True,
                   stdin=subprocess.DEVNULL, timeout=60)
    results = json.loads((fixtures / "results.json").read_text())
    trace = json.loads((fixtures / "trace.json").read_text())

    page = chromium_page.load_page(html.resolve().as_uri(), WIDTH, HEIGHT, expressions={"collect": COLLECT})
    (out / "report.png").write_bytes(page.png)
    (out / "dom.html").write_text(page.dom)

    failures = []
    check(results, trace, page, failures)
    for f in failures:
        print(f"FAIL: {f}")
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failures; screenshot {out / 'report.png'}, "
          f"DOM {out / 'dom.html'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
