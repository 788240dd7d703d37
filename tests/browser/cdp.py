# SPDX-License-Identifier: Apache-2.0
"""Just enough of the Chrome DevTools Protocol to drive headless Chromium from a test:
start the browser, open a page, run JavaScript in it, read its console, take a
screenshot. One websocket to the browser, pages attached with flattened sessions.

>>> with Browser.launch(tmp_dir) as browser:
...     page = browser.new_page()
...     page.navigate("http://127.0.0.1:8000/player.html")
...     page.evaluate("document.title")
"""
from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

try:
    import websocket  # websocket-client (PyPI; in kvsmux's test extra)
except ImportError:  # conftest reports it
    websocket = None

#: How Chromium is started (TESTING-TOOLS.md). The background-networking flags keep it off
#: the network (the CI machine has none beyond the package registries).
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0", "--no-first-run", "--no-default-browser-check", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows", "--mute-audio", "--window-size=800,600",
]


class CdpError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """The Chromium executable: $CHROMIUM, else chromium / chromium-browser / google-chrome on PATH."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


class Connection:
    """A CDP websocket: commands by id (answered in order of arrival by a reader thread),
    events handed to listeners and kept per session."""

    def __init__(self, ws_url: str) -> None:
        self._ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True,
                                               enable_multithread=True)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, dict] = {}
        self._answers: dict[int, dict] = {}
        self._cond = threading.Condition()
        self._listeners: list[Callable[[dict], None]] = []
        self.closed = False
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                raw = self._ws.recv()
                if not raw:
                    break
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._answers[message["id"]] = message
                        self._cond.notify_all()
                else:
                    for listener in list(self._listeners):
                        listener(message)
        except (websocket.WebSocketException, OSError):
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def listen(self, listener: Callable[[dict], None]) -> None:
        self._listeners.append(listener)

    def send(self, method: str, params: dict | None = None, *, session_id: str | None = None,
             timeout: float = 30) -> dict:
        msg_id = next(self._ids)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        with self._lock:
            self._ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        with self._cond:
            while msg_id not in self._answers:
                left = deadline - time.monotonic()
                if self.closed:
                    raise CdpError(f"{method}: the DevTools connection closed")
                if left <= 0:
                    raise CdpError(f"{method}: no answer in {timeout} s")
                self._cond.wait(left)
            answer = self._answers.pop(msg_id)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def close(self) -> None:
        try:
            self._ws.close()
        except (websocket.WebSocketException, OSError):
            pass


class Page:
    """One tab, attached with a flattened session. ``console`` collects console messages,
    uncaught exceptions and log entries as text lines."""

    def __init__(self, conn: Connection, target_id: str, session_id: str) -> None:
        self.conn, self.target_id, self.session_id = conn, target_id, session_id
        self.console: list[str] = []
        self._loaded = threading.Event()
        conn.listen(self._on_event)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Log.enable")

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        return self.conn.send(method, params, session_id=self.session_id, timeout=timeout)

    def _on_event(self, message: dict) -> None:
        if message.get("sessionId") != self.session_id:
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", a.get("type")))) for a in params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            self.console.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
        elif method == "Log.entryAdded":
            e = params.get("entry", {})
            self.console.append(f"log.{e.get('level')} [{e.get('source')}]: {e.get('text')} {e.get('url', '')}")

    def navigate(self, url: str, timeout: float = 30) -> None:
        self._loaded.clear()
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CdpError(f"navigating to {url}: {result['errorText']}")
        if not self._loaded.wait(timeout):
            raise CdpError(f"{url} did not load in {timeout} s")

    def evaluate(self, expression: str, *, timeout: float = 30) -> Any:
        """The value of a JavaScript expression (promises awaited), as JSON."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True, "timeout": int(timeout * 1000)},
                           timeout=timeout + 5)
        if "exceptionDetails" in result:
            d = result["exceptionDetails"]
            raise CdpError(f"JavaScript error in {expression[:80]!r}: "
                           f"{d.get('exception', {}).get('description') or d.get('text')}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path, clip: dict | None = None) -> Path:
        """A PNG of the viewport (or of ``clip``: x, y, width, height in CSS pixels)."""
        params: dict[str, Any] = {"format": "png"}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.conn.send("Target.closeTarget", {"targetId": self.target_id}, timeout=5)
        except CdpError:
            pass


class Browser:
    """A headless Chromium process with its own throwaway profile."""

    def __init__(self, process: subprocess.Popen, conn: Connection, profile: Path, log_path: Path) -> None:
        self.process, self.conn, self.profile, self.log_path = process, conn, profile, log_path

    @classmethod
    def launch(cls, work_dir: Path, executable: str | None = None, timeout: float = 30) -> "Browser":
        executable = executable or find_chromium()
        if executable is None:
            raise CdpError("Chromium is not installed (apt-get install chromium)")
        work_dir.mkdir(parents=True, exist_ok=True)
        profile = Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=work_dir))
        log_path = work_dir / "chromium-stderr.log"
        log = open(log_path, "wb")
        process = subprocess.Popen([executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        # Chromium writes the port to DevToolsActivePort in the profile, and the websocket
        # URL to stderr ("DevTools listening on ws://...").
        deadline = time.monotonic() + timeout
        ws_url = None
        while ws_url is None:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise CdpError(f"Chromium exited with {process.returncode}: {tail}")
            if time.monotonic() > deadline:
                process.kill()
                raise CdpError(f"Chromium did not open its DevTools port in {timeout} s: "
                               f"{log_path.read_text(errors='replace')[-2000:]}")
            m = re.search(r"DevTools listening on (ws://\S+)", log_path.read_text(errors="replace"))
            if m:
                ws_url = m.group(1)
            else:
                time.sleep(0.05)
        return cls(process, Connection(ws_url), profile, log_path)

    @property
    def version(self) -> dict:
        return self.conn.send("Browser.getVersion")

    def new_page(self, width: int = 800, height: int = 600) -> Page:
        target_id = self.conn.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session_id = self.conn.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})["sessionId"]
        page = Page(self.conn, target_id, session_id)
        page.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False})
        return page

    def close(self) -> None:
        try:
            self.conn.send("Browser.close", timeout=5)
        except CdpError:
            pass
        self.conn.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the browser's own process group (start_new_session)
            self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
