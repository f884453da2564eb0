"""Load a page in a real headless Chromium (Debian's ``chromium`` package, no browser download)
and report what a person would meet: console errors, uncaught exceptions, images that do not
decode, and a full-page screenshot.

Driven over the Chrome DevTools Protocol with ``websockets`` (pinned, already a dependency of
bumble): no driver, no Playwright browser install. Used by ``tests/test_report_browser.py``;
``python -m imu.testing.browser PAGE.html SHOT.png`` does the same from a shell.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
"""Executables looked for on PATH (``IMU_CHROMIUM`` names one explicitly)."""

_IMAGES_JS = """
(() => Array.from(document.images).map(img => ({
  src: img.currentSrc.slice(0, 40), alt: img.alt, complete: img.complete,
  naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight})))()
"""


class BrowserMissing(RuntimeError):
    """No Chromium on this machine (``apt-get install chromium``)."""


@dataclass
class PageCheck:
    """What loading a page showed."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    """Console messages of level error, uncaught exceptions, failed loads."""
    images: list[dict[str, Any]] = field(default_factory=list)
    """Each <img>: src (start), alt, complete, naturalWidth, naturalHeight."""
    title: str = ""
    screenshot: Path | None = None
    width_px: int = 0
    height_px: int = 0

    @property
    def broken_images(self) -> list[dict[str, Any]]:
        return [i for i in self.images if not i["complete"] or i["naturalWidth"] <= 0]


def find_chromium() -> str:
    """The Chromium executable, else :class:`BrowserMissing`."""
    explicit = os.environ.get("IMU_CHROMIUM")
    if explicit:
        if shutil.which(explicit):
            return str(shutil.which(explicit))
        raise BrowserMissing(f"IMU_CHROMIUM={explicit} is not an executable")
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserMissing("no chromium on PATH: install it (Debian: apt-get install chromium)")


class _Cdp:
    """A minimal DevTools protocol session over one websocket (flattened targets)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.pending: dict[int, asyncio.Future] = {}
        self.events: asyncio.Queue = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self.pending:
                self.pending.pop(msg["id"]).set_result(msg)
            else:
                await self.events.put(msg)

    async def send(self, method: str, params: dict | None = None, session: str | None = None,
                   timeout_s: float = 30.0) -> dict:
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(fut, timeout_s)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})


async def _check(url: str, shot: Path | None, browser: str, width: int, timeout_s: float
                 ) -> PageCheck:
    with tempfile.TemporaryDirectory(prefix="imu-chromium-") as profile:
        args = [
            browser, "--headless=new", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--remote-debugging-port=0", f"--user-data-dir={profile}",
            f"--window-size={width},900", "about:blank",
        ]
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            ws_url = await asyncio.wait_for(_devtools_url(proc), timeout_s)
            async with websockets.connect(ws_url, max_size=256 * 2**20) as ws:
                cdp = _Cdp(ws)
                return await _run_page(cdp, url, shot, width, timeout_s)
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def _devtools_url(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr is not None
    while True:
        line = await proc.stderr.readline()
        if not line:
            raise RuntimeError("chromium exited before opening its DevTools port")
        m = re.search(rb"DevTools listening on (ws://\S+)", line)
        if m:
            return m.group(1).decode()


async def _run_page(cdp: _Cdp, url: str, shot: Path | None, width: int, timeout_s: float
                    ) -> PageCheck:
    target = await cdp.send("Target.createTarget", {"url": "about:blank"})
    attached = await cdp.send("Target.attachToTarget",
                              {"targetId": target["targetId"], "flatten": True})
    sid = attached["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        await cdp.send(f"{domain}.enable", session=sid)
    check = PageCheck(url)
    await cdp.send("Page.navigate", {"url": url}, session=sid)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    loaded = False
    while not loaded:
        msg = await asyncio.wait_for(cdp.events.get(), max(deadline - loop.time(), 0.1))
        loaded = _note_event(msg, check) == "load"
    # Let late console messages arrive, then drain the queue.
    await asyncio.sleep(0.5)
    while not cdp.events.empty():
        _note_event(cdp.events.get_nowait(), check)
    res = await cdp.send("Runtime.evaluate",
                         {"expression": _IMAGES_JS, "returnByValue": True}, session=sid)
    check.images = res["result"]["value"]
    res = await cdp.send("Runtime.evaluate", {"expression": "document.title",
                                              "returnByValue": True}, session=sid)
    check.title = res["result"]["value"]
    metrics = await cdp.send("Page.getLayoutMetrics", session=sid)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    check.width_px, check.height_px = int(size["width"]), int(size["height"])
    if shot is not None:
        clip = {"x": 0, "y": 0, "width": max(check.width_px, width),
                "height": check.height_px, "scale": 1}
        res = await cdp.send("Page.captureScreenshot",
                             {"format": "png", "captureBeyondViewport": True, "clip": clip},
                             session=sid, timeout_s=timeout_s)
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.write_bytes(base64.b64decode(res["data"]))
        check.screenshot = shot
    return check


def _note_event(msg: dict, check: PageCheck) -> str:
    method = msg.get("method", "")
    p = msg.get("params", {})
    if method == "Page.loadEventFired":
        return "load"
    if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
        text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
        check.console_errors.append(f"console.{p['type']}: {text}")
    elif method == "Runtime.exceptionThrown":
        d = p.get("exceptionDetails", {})
        check.console_errors.append(f"exception: {d.get('text')} {d.get('exception', {})}")
    elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
        e = p["entry"]
        check.console_errors.append(f"log: {e.get('text')} ({e.get('url', '')})")
    elif method == "Network.loadingFailed":
        check.console_errors.append(f"load failed: {p.get('errorText')}")
    return ""


def check_page(path_or_url: str | Path, screenshot: str | Path | None = None,
               width: int = 1100, timeout_s: float = 60.0) -> PageCheck:
    """Load a file (or URL) in headless Chromium; collect console errors and the images' decoded
    sizes; write a full-page PNG screenshot to ``screenshot`` if given."""
    browser = find_chromium()
    url = str(path_or_url)
    if "://" not in url:
        url = Path(url).resolve().as_uri()
    shot = Path(screenshot) if screenshot is not None else None
    return asyncio.run(_check(url, shot, browser, width, timeout_s))


def chromium_version() -> str:
    out = subprocess.run([find_chromium(), "--version"], capture_output=True, text=True,
                         timeout=30, check=False)
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m imu.testing.browser PAGE.html [SHOT.png]", file=sys.stderr)
        return 2
    check = check_page(args[0], args[1] if len(args) > 1 else None)
    print(json.dumps({"title": check.title, "console_errors": check.console_errors,
                      "images": check.images, "broken_images": len(check.broken_images),
                      "screenshot": str(check.screenshot), "size_px": [check.width_px,
                                                                       check.height_px]},
                     indent=2))
    return 0 if not check.console_errors and not check.broken_images else 1


if __name__ == "__main__":
    sys.exit(main())
