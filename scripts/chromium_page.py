"""Load one page in headless chromium and bring back what a test needs: the DOM after scripts ran,
answers to JavaScript expressions, a PNG screenshot, and every console error, uncaught exception and
network request the page made.

It drives chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
separated by NUL on fds 3 and 4), with the standard library only. The protocol reports a console
message's level and an exception as such, where `--enable-logging=stderr` prints console.log and
console.error alike as INFO lines whose format changes between versions.

Used by tests/lab/report_browser.py and scripts/report-screenshot. Robust under CI: stdin is
/dev/null, the profile is a fresh temporary directory, and every wait has a deadline.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time


class BrowserError(RuntimeError):
    pass


def find_chromium():
    """The chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class PageResult:
    def __init__(self):
        self.dom = ""
        self.values = {}          # name → the value of an evaluated expression
        self.png = b""
        self.console_errors = []  # console.error/assert, uncaught exceptions, browser log errors
        self.requests = []        # URLs the page requested


def load_page(url, width=1280, height=900, full_page=True, expressions=None, timeout=60):
    """Loads `url` at a window of width×height CSS pixels, waits for the load event, then evaluates
    `expressions` (name → JavaScript expression, returned by value) and takes a screenshot (of the
    whole page when full_page)."""
    chromium = find_chromium()
    if not chromium:
        raise BrowserError("chromium not found (scripts/bootstrap installs it)")
    deadline = time.monotonic() + timeout
    profile = tempfile.mkdtemp(prefix="tandem-chromium-")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()

    def child_fds():
        os.dup2(to_browser_r, 3)
        os.dup2(from_browser_w, 4)
        os.set_inheritable(3, True)  # dup2 onto itself keeps close-on-exec: clear it explicitly
        os.set_inheritable(4, True)

    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
            "--remote-debugging-pipe", f"--user-data-dir={profile}", f"--window-size={width},{height}",
            "about:blank"]
    log = tempfile.TemporaryFile()
    browser = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                               preexec_fn=child_fds, close_fds=False)
    os.close(to_browser_r)
    os.close(from_browser_w)
    buffer = b""
    next_id = 0
    events = []
    result = PageResult()

    def stderr_tail():
        log.seek(0)
        lines = [l for l in log.read().decode(errors="replace").splitlines() if "dbus" not in l]
        return "\n".join(lines[-15:])

    def receive(wanted):
        nonlocal buffer
        while True:
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" not in message:
                    events.append(message)
                if wanted(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"chromium did not answer within {timeout} s\n{stderr_tail()}")
            ready, _, _ = select.select([from_browser_r], [], [], left)
            if ready:
                chunk = os.read(from_browser_r, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium exited (status {browser.poll()})\n{stderr_tail()}")
                buffer += chunk

    def call(method, params=None, session=None):
        nonlocal next_id
        next_id += 1
        message = {"id": next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(to_browser_w, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise BrowserError(f"chromium exited (status {browser.poll()})\n{stderr_tail()}")
        answer = receive(lambda m, i=next_id: m.get("id") == i)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer["result"]

    try:
        target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            call(domain, session=session)
        call("Emulation.setDeviceMetricsOverride",
             {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        navigation = call("Page.navigate", {"url": url}, session=session)
        if navigation.get("errorText"):
            raise BrowserError(f"{url}: {navigation['errorText']}")
        receive(lambda m: m.get("method") == "Page.loadEventFired")
        for name, expression in (expressions or {}).items():
            answer = call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
            if "exceptionDetails" in answer:
                raise BrowserError(f"evaluating {name}: {answer['exceptionDetails']}")
            result.values[name] = answer["result"].get("value")
        result.dom = call("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                               "returnByValue": True}, session=session)["result"]["value"]
        shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": full_page},
                    session=session)
        result.png = base64.b64decode(shot["data"])
        try:
            call("Browser.close")
        except BrowserError:
            pass  # it may exit before answering
    finally:
        os.close(to_browser_w)
        os.close(from_browser_r)
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)

    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            result.console_errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            result.console_errors.append(
                "uncaught: " + details.get("exception", {}).get("description", details.get("text", "")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            result.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            result.requests.append(params.get("request", {}).get("url", ""))
    return result


def png_size(data):
    """(width, height) of a PNG, from its IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise BrowserError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
