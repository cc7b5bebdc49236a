"""Headless Debian Chromium driven over the DevTools protocol, for checking reports as people see them.

Chromium listens on a loopback port it picks itself (`--remote-debugging-port=0`,
announced in `DevToolsActivePort`); a page target is driven with `websocket-client`
(already installed with kubernetes). Network features are switched off, and a
report is a local file, so nothing leaves the machine.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import websocket

from brownout.processes import pdeathsig
from tests.support.debian import find_or_install

__all__ = ["Browser", "PageLoad", "find_or_install_chromium"]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars"]


def find_or_install_chromium() -> str | None:
    """The chromium binary, installing Debian's package when missing; None when impossible."""
    return find_or_install("chromium", "chromium")


@dataclass
class PageLoad:
    """What one page load showed: console errors, uncaught exceptions, failed loads, the text, the layout."""

    errors: list[str] = field(default_factory=list)
    text: str = ""
    title: str = ""
    scroll_width: int = 0
    requests: list[str] = field(default_factory=list)   # every URL the page asked for


class Browser:
    """One headless Chromium with one page; use as a context manager (the process group is killed on exit)."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 900) -> None:
        self.width, self.height = width, height
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "DevToolsActivePort").unlink(missing_ok=True)   # a stale one names a dead port
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=pdeathsig)  # noqa: PLW1509 (one syscall)
        self._ids = 0
        self._events: list[dict[str, Any]] = []
        self.ws: websocket.WebSocket | None = None
        try:
            self.ws = self._connect(profile / "DevToolsActivePort")
        except BaseException:
            self.close()
            raise

    def _connect(self, port_file: Path, timeout: float = 30.0) -> websocket.WebSocket:
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit code {self.process.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        browser = websocket.create_connection(f"ws://127.0.0.1:{port}{port_file.read_text().splitlines()[1]}",
                                              timeout=timeout, suppress_origin=True)
        try:
            self.ws = browser
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
        finally:
            browser.close()
        page = websocket.create_connection(f"ws://127.0.0.1:{port}/devtools/page/{target}", timeout=timeout,
                                           suppress_origin=True)
        return page

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept for `load`."""
        assert self.ws is not None
        self._ids += 1
        self.ws.send(json.dumps({"id": self._ids, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._ids:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def _wait_event(self, method: str, timeout: float) -> None:
        assert self.ws is not None
        if any(e.get("method") == method for e in self._events):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            message = json.loads(self.ws.recv())
            self._events.append(message)
            if message.get("method") == method:
                return
        raise TimeoutError(f"no {method} within {timeout}s")

    def load(self, url: str, timeout: float = 30.0) -> PageLoad:
        """Open `url` at the browser's width and report what a reader (and the console) would see."""
        self._events.clear()
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1,
                  mobile=False)
        self.call("Page.navigate", url=url)
        self._wait_event("Page.loadEventFired", timeout)
        time.sleep(0.3)   # late console messages and exceptions
        self.call("Runtime.evaluate", expression="0")  # drains pending events
        result = PageLoad()
        for event in self._events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                result.errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                            for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                result.errors.append("exception: " + details.get("exception", {}).get("description", details.get("text", "")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                result.errors.append(f"log: {params['entry'].get('text', '')} {params['entry'].get('url', '')}".strip())
            elif method == "Network.requestWillBeSent":
                result.requests.append(params.get("request", {}).get("url", ""))
            elif method == "Network.loadingFailed":
                result.errors.append(f"load failed: {params.get('errorText', '')}")
        result.text = self.evaluate("document.body.innerText")
        result.title = self.evaluate("document.title")
        result.scroll_width = self.evaluate("document.documentElement.scrollWidth")
        return result

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """A full-page PNG at the browser's width."""
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def screenshot_of(self, selector: str, index: int, path: Path) -> Path:
        """A PNG of the `index`-th element matching `selector`, as laid out at the browser's width."""
        box = self.evaluate(f"(() => {{ const r = document.querySelectorAll({json.dumps(selector)})[{index}]"
                            ".getBoundingClientRect(); return [r.x, r.y + window.scrollY, r.width, r.height]; })()")
        x, y, width, height = box
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": x, "y": y, "width": width, "height": height, "scale": 1})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
