"""Open a local HTML file in headless Chromium through the DevTools protocol (aiohttp websocket):
collect console errors, uncaught exceptions and every network request, take a screenshot, and
optionally run a JavaScript check. Used by test_chromium.py; skipped when Chromium is absent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
]


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    script_result: Any = None


class _Session:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def pump(self) -> None:
        import aiohttp

        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
            else:
                await self.events.put(data)

    async def send(self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None) -> Any:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, timeout=30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})


async def _visit(ws_url: str, url: str, screenshot: Path, width: int, script: str | None) -> PageVisit:
    import aiohttp

    visit = PageVisit()
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
        session = _Session(ws)
        pump = asyncio.create_task(session.pump())
        try:
            target = await session.send("Target.createTarget", {"url": "about:blank"})
            attached = await session.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
            sid = attached["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                await session.send(f"{domain}.enable", session_id=sid)
            await session.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session_id=sid,
            )
            await session.send("Page.navigate", {"url": url}, session_id=sid)
            loaded = False
            while not loaded:
                event = await asyncio.wait_for(session.events.get(), timeout=30)
                loaded = _record(event, visit)
            await asyncio.sleep(0.3)  # late console messages and requests
            while not session.events.empty():
                _record(session.events.get_nowait(), visit)
            if script is not None:
                result = await session.send(
                    "Runtime.evaluate", {"expression": script, "returnByValue": True}, session_id=sid
                )
                if "exceptionDetails" in result:
                    visit.exceptions.append(str(result["exceptionDetails"]))
                visit.script_result = result.get("result", {}).get("value")
            metrics = await session.send("Page.getLayoutMetrics", session_id=sid)
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = await session.send(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": width, "height": min(size["height"], 16000), "scale": 1},
                },
                session_id=sid,
            )
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            visit.screenshot = screenshot
            while not session.events.empty():
                _record(session.events.get_nowait(), visit)
        finally:
            pump.cancel()
    return visit


def _record(event: dict[str, Any], visit: PageVisit) -> bool:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        visit.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
    elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
        visit.console_errors.append(params["entry"].get("text", ""))
    elif method == "Runtime.exceptionThrown":
        visit.exceptions.append(
            params["exceptionDetails"].get("text", "")
            + " "
            + str(params["exceptionDetails"].get("exception", {}).get("description", ""))
        )
    elif method == "Network.requestWillBeSent":
        visit.requests.append(params["request"]["url"])
    elif method == "Network.loadingFailed":
        visit.failed_requests.append(f"{params.get('errorText')} {params.get('blockedReason', '')}")
    return method == "Page.loadEventFired"


def visit(html: Path, screenshot: Path, *, width: int = 1280, script: str | None = None) -> PageVisit:
    """Load ``html`` as a file:// URL in headless Chromium and report what happened."""
    binary = find_chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed")
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        # its own process group, so the browser's helper processes end with it
        process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            ws_url = _devtools_url(process)
            return asyncio.run(_visit(ws_url, html.resolve().as_uri(), screenshot, width, script))
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    time.sleep(0.2)  # helpers of the group exit right after the browser


def _devtools_url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        match = re.search(r"DevTools listening on (ws://\S+)", line)
        if match:
            # keep draining stderr so a chatty browser never blocks on a full pipe
            threading.Thread(target=lambda: [None for _ in process.stderr or ()], daemon=True).start()
            return match.group(1)
        if len(lines) > 200:
            break
    raise RuntimeError("chromium did not start its DevTools endpoint:\n" + "".join(lines[-20:]))
