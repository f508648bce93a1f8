"""A small OpenAI-compatible server for tests and benchmarks (aiohttp, 127.0.0.1, own thread).

It answers multiple-choice prompts deterministically (the option picked from a hash of the
question, or the key written after ``[answer:`` in the question) and can be told to misbehave:
latency, 429 with Retry-After, 500, hanging past the client's timeout, dropping the connection,
malformed JSON, requiring a key, returning logprobs. It counts every request per question.

Run standalone for benchmarks: ``python tests/models/fake_openai.py --latency 0.05`` prints the port.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import sys
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MODEL = "fake-mc"


@dataclass
class Behaviour:
    latency: float = 0.0
    #: what the next requests do, consumed one per request: "429", "500", "hang", "drop", "malformed", "ok"
    script: deque[str] = field(default_factory=deque)
    #: a question containing this marker always gets this behaviour (per-item failures)
    always: dict[str, str] = field(default_factory=dict)
    retry_after: str = "0"
    hang_seconds: float = 5.0
    api_key: str | None = None
    models: list[str] = field(default_factory=lambda: [MODEL])
    models_endpoint: bool = True
    support_n: bool = True
    reply: str = "{letter}"  # how the answer is phrased
    reject_logprobs: bool = False
    #: how long GET /models takes (pre-flight ordering tests)
    models_latency: float = 0.0


class FakeOpenAI:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests = 0
        self.http_requests = 0  # every HTTP request, pre-flight probes and GET /models included
        self.completed = 0
        self.per_question: Counter[str] = Counter()
        self.payloads: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        #: the order pre-flight requests were seen in: "models:start", "models:end", "probe"
        self.events: list[str] = []
        self.keep_payloads = True
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ---- control --------------------------------------------------------------------------------
    def reset(self) -> None:
        self.behaviour = Behaviour()
        self.requests = 0
        self.http_requests = 0
        self.completed = 0
        self.per_question.clear()
        self.payloads.clear()
        self.headers.clear()
        self.events.clear()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ---- answering ---------------------------------------------------------------------------------
    @staticmethod
    def question_of(payload: dict[str, Any]) -> str:
        if "prompt" in payload:
            text = str(payload["prompt"])
        else:
            content = payload["messages"][-1]["content"]
            text = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
        match = re.findall(r"Question: (.*)", text)
        return match[-1] if match else text

    @staticmethod
    def letter_for(payload: dict[str, Any]) -> tuple[str, list[str]]:
        if "prompt" in payload:
            text = str(payload["prompt"]).split("\n\n")[-1]
        else:
            content = payload["messages"][-1]["content"]
            text = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
        keys = re.findall(r"^([A-Z])\. ", text, flags=re.MULTILINE) or ["A", "B", "C", "D"]
        question = FakeOpenAI.question_of(payload)
        forced = re.search(r"\[answer:([A-Z])\]", question)
        if forced:
            return forced.group(1), keys
        digest = hashlib.sha1(question.encode()).digest()
        return keys[digest[0] % len(keys)], keys

    def _completion(self, payload: dict[str, Any], chat: bool) -> dict[str, Any]:
        letter, keys = self.letter_for(payload)
        n = int(payload.get("n", 1)) if self.behaviour.support_n else 1
        text = self.behaviour.reply.format(letter=letter)
        choices = []
        for index in range(n):
            choice: dict[str, Any] = {"index": index, "finish_reason": "stop"}
            if payload.get("temperature", 0) > 0 and index % 3 == 2:
                letter_i = keys[(keys.index(letter) + 1) % len(keys)]  # sampled answers disagree now and then
                text_i = self.behaviour.reply.format(letter=letter_i)
            else:
                letter_i, text_i = letter, text
            if chat:
                choice["message"] = {"role": "assistant", "content": text_i}
                if payload.get("logprobs"):
                    top = [{"token": letter_i, "logprob": -0.2231}]  # p = 0.8
                    others = [k for k in keys if k != letter_i]
                    for other in others:
                        top.append({"token": other, "logprob": round(float(__import__("math").log(0.2 / len(others))), 6)})
                    choice["logprobs"] = {"content": [{"token": letter_i, "logprob": -0.2231,
                                                       "top_logprobs": top[: int(payload.get("top_logprobs", 5))]}]}
            else:
                choice["text"] = " " + text_i
            choices.append(choice)
        return {"id": "cmpl-fake", "object": "chat.completion" if chat else "text_completion", "model": payload["model"],
                "choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}}

    async def _handle(self, request: web.Request, chat: bool) -> web.StreamResponse:
        behaviour = self.behaviour
        self.http_requests += 1
        if behaviour.api_key is not None and request.headers.get("Authorization") != f"Bearer {behaviour.api_key}":
            return web.json_response({"error": {"message": "Incorrect API key provided"}}, status=401)
        payload = await request.json()
        if self.keep_payloads:
            self.payloads.append(payload)
            self.headers.append(dict(request.headers))
        if payload.get("model") not in behaviour.models:
            return web.json_response({"error": {"message": f"model {payload.get('model')} does not exist"}}, status=404)
        if behaviour.reject_logprobs and "logprobs" in payload:
            return web.json_response({"error": {"message": "logprobs are not supported"}}, status=400)
        question = self.question_of(payload)
        if question == "ping":  # a pre-flight probe: answered, never counted or scripted
            self.events.append("probe")
            return web.json_response(self._completion(payload, chat))
        self.requests += 1
        self.per_question[question] += 1
        action = behaviour.script.popleft() if behaviour.script else "ok"
        for marker, forced in behaviour.always.items():
            if marker in question:
                action = forced
        if behaviour.latency:
            await asyncio.sleep(behaviour.latency)
        if action == "429":
            return web.json_response({"error": {"message": "rate limited"}}, status=429,
                                     headers={"Retry-After": behaviour.retry_after})
        if action == "500":
            return web.json_response({"error": {"message": "internal error"}}, status=500)
        if action == "400":
            return web.json_response({"error": {"message": "context too long"}}, status=400)
        if action == "hang":
            await asyncio.sleep(behaviour.hang_seconds)
        if action == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=200)
        if action == "malformed":
            return web.Response(text='{"choices": [', content_type="application/json")
        self.completed += 1
        return web.json_response(self._completion(payload, chat))

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, chat=True)

    async def _text(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, chat=False)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        self.http_requests += 1
        self.events.append("models:start")
        if self.behaviour.models_latency:
            await asyncio.sleep(self.behaviour.models_latency)
        self.events.append("models:end")
        if not self.behaviour.models_endpoint:
            return web.json_response({"error": "not found"}, status=404)
        if self.behaviour.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.behaviour.api_key}":
            return web.json_response({"error": {"message": "Incorrect API key provided"}}, status=401)
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model"} for m in self.behaviour.models]})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._text)
        app.router.add_get("/v1/models", self._models)
        return app

    # ---- lifecycle ------------------------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeOpenAI:
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=1024)
            self._loop.run_until_complete(site.start())
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined,union-attr]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = FakeOpenAI()
    server.keep_payloads = False
    server.behaviour.latency = args.latency
    server.start(args.port)
    print(server.port, flush=True)
    try:
        sys.stdin.read()  # run until the parent closes our stdin
    finally:
        server.stop()


if __name__ == "__main__":
    main()
