"""``openai:MODEL`` — any OpenAI-compatible endpoint (vLLM, Ollama, TGI, llama.cpp server, LiteLLM,
OpenAI, Azure behind a proxy).

Requests run on an asyncio loop in a background thread (aiohttp, a semaphore-sized worker pool,
an optional requests-per-minute limiter); each answer is handed back through a queue the moment
it completes, so the runner stores it at once. Transient failures (429, 5xx, timeouts, dropped
connections) are retried with exponential backoff and jitter, honouring ``Retry-After``; a 200
whose body is not a completion is retried once only (a server that answers garbage keeps doing
so); after the last retry the item becomes a Prediction with ``error`` set and the run goes on.
A cheap pre-flight request (``GET /models``, else a 1-token completion) turns a wrong URL, key or
model name into one clear line — sent only when a request is really needed (:meth:`prepare`), so
a fully cached re-run makes no request at all.

The API key lives only in the request headers: never in the fingerprint, ``repr``, errors or logs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import json
import math
import os
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..errors import ModelError, UsageError
from ..items import Item, Prediction
from ..redact import redact_text, redact_url
from .base import BaseModel, sampling_temperature, vote_prediction
from .parsing import PARSER_VERSION, parse_answer
from .prompting import PromptTemplate, load_template

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
ADAPTER_VERSION = 1
#: workers started per turn of the event loop while the pool fills up (see ``_run``)
RAMP_STEP = 4
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


class _Transient(Exception):
    """A failed attempt worth retrying; ``wait`` is the server's Retry-After, if it sent one."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


class _Permanent(Exception):
    """A failed request that retrying will not fix (400, 401, 404 ...)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def resolve_base_url(base_url: str | None) -> str:
    url = base_url or os.environ.get("ROBUST_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url must start with http:// or https:// (got {redact_url(url)!r})")
    return url


class _RateLimiter:
    """Spaces request starts ``60/rpm`` seconds apart (a smooth requests-per-minute cap)."""

    def __init__(self, rpm: int) -> None:
        self.interval = 60.0 / rpm
        self.next_slot = 0.0

    async def wait(self) -> None:
        now = asyncio.get_running_loop().time()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class OpenAICompatible(BaseModel):
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = 16,
        rpm: int | None = None,
        timeout: float = 60.0,
        retries: int = 5,
        samples: int = 1,
        temperature: float | None = None,
        max_tokens: int = 32,
        completions: bool = False,
        logprobs: int | None = None,
        template: str | PromptTemplate | None = None,
        backoff: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        if not model:
            raise UsageError("openai needs a model name, e.g. openai:gpt-4o-mini or openai:meta-llama/Llama-3.1-8B-Instruct")
        if concurrency < 1 or samples < 1 or retries < 0 or timeout <= 0:
            raise UsageError("--concurrency and --samples must be >= 1, --retries >= 0 and --timeout > 0")
        self.model = model
        self.spec = f"openai:{model}"
        self.base_url = resolve_base_url(base_url)
        self.shown_url = redact_url(self.base_url)  # what is printed, written or fingerprinted: no credentials
        self.key_env = api_key_env or DEFAULT_KEY_ENV
        key = os.environ.get(self.key_env) or None
        if api_key_env and key is None:
            raise UsageError(f"--api-key-env {api_key_env}: that environment variable is not set")
        if key is None and self.base_url == DEFAULT_BASE_URL:
            raise UsageError(f"the OpenAI API needs a key: set {DEFAULT_KEY_ENV} (or point --base-url at your own server)")
        self.__key = key
        self.concurrency = concurrency
        self.batch_size = max(concurrency * 4, 64)
        self.rpm = rpm
        self.timeout = float(timeout)
        self.retries = retries
        self.samples = samples
        self.temperature = sampling_temperature(temperature, samples)
        self.max_tokens = max_tokens
        self.completions = bool(completions)
        # None = auto: ask for the top 5 when the server supports it (pre-flight probes it), for
        # per-option probabilities; sampled answers get their confidence from the votes instead
        self._logprobs_auto = logprobs is None
        self.logprobs = (0 if samples > 1 else 5) if logprobs is None else int(logprobs)
        # the fingerprint keeps what was asked for: the pre-flight runs only when a request is
        # needed, so the store key must not depend on what it finds out
        self._asked_logprobs = self.logprobs
        self.check_endpoint = True
        self._checked = False
        self._send_logprobs = self.logprobs > 0
        self.template = template if isinstance(template, PromptTemplate) else load_template(template)
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: Any = None
        self._limiter = _RateLimiter(rpm) if rpm else None
        self._n_supported = True
        self._jitter = random.Random()

    def __repr__(self) -> str:
        return f"OpenAICompatible({self.model!r}, base_url={self.shown_url!r})"

    # ---- identity -------------------------------------------------------------------------
    def fingerprint(self) -> Mapping[str, Any]:
        return {
            "adapter": "openai", "version": ADAPTER_VERSION, "base_url": self.shown_url, "model": self.model,
            "api": "completions" if self.completions else "chat", "temperature": self.temperature,
            "max_tokens": self.max_tokens, "samples": self.samples, "logprobs": self._asked_logprobs,
            "parser": PARSER_VERSION, **self.template.fingerprint(),
        }

    # ---- the event loop thread ----------------------------------------------------------------
    def _submit(self, coroutine: Any) -> concurrent.futures.Future[Any]:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="robust-openai", daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    async def _get_session(self) -> Any:
        if self._session is None or self._session.closed:
            import aiohttp

            headers = {"Content-Type": "application/json", "User-Agent": "robust-medai"}
            if self.__key:
                headers["Authorization"] = f"Bearer {self.__key}"
                headers["api-key"] = self.__key  # Azure OpenAI reads this header instead
            connector = aiohttp.TCPConnector(limit=self.concurrency + 4, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(headers=headers, connector=connector)
        return self._session

    def close(self) -> None:
        if self._thread is not None and threading.current_thread() is self._thread:
            return  # never block the loop from inside itself
        if self._loop is not None and not self._loop.is_closed():
            if self._session is not None:
                asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(timeout=5)
                self._session = None
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._loop.close()
        self._loop = None

    def __del__(self) -> None:
        try:  # a run that failed midway may not have closed us: release the socket pool quietly
            self.close()
        except Exception:
            pass

    def _scrub(self, text: str) -> str:
        text = text.replace(self.base_url, self.shown_url) if self.base_url != self.shown_url else text
        return redact_text(text.replace(self.__key, "***") if self.__key else text)

    # ---- pre-flight ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Called by the runner before the first request it really needs: the pre-flight, once."""
        if self.check_endpoint and not self._checked:
            self.preflight()
        self._checked = True

    def preflight(self) -> None:
        """One cheap request before any work: a bad URL, key or model name becomes one clear line."""
        try:
            self._submit(self._preflight()).result()
        except (UsageError, ModelError):
            raise
        except Exception as exc:  # anything unexpected still reads as one line
            raise ModelError(self._scrub(f"pre-flight request to {self.shown_url} failed: {type(exc).__name__}: {exc}")) from None

    def _key_hint(self) -> str:
        if self.__key:
            return f"check the key in ${self.key_env}"
        return f"set {self.key_env} (or --api-key-env VAR)"

    async def _preflight(self) -> None:
        import aiohttp

        session = await self._get_session()
        timeout = aiohttp.ClientTimeout(total=min(self.timeout, 20.0))
        served: list[str] = []
        # with log-probabilities wanted (the default) the probe is sent whatever GET /models says,
        # so both go out together: the check costs one round trip, not two
        early = asyncio.ensure_future(self._probe(session, timeout, with_logprobs=True)) if self.logprobs else None
        try:
            async with session.get(f"{self.base_url}/models", timeout=timeout) as response:
                if response.status in (401, 403):
                    raise UsageError(f"{self.shown_url} refused the request (HTTP {response.status}): {self._key_hint()}")
                if response.status == 200:
                    try:
                        body = json.loads(await response.text())
                        served = [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict)]
                    except (ValueError, AttributeError):
                        served = []
                    if self.model in served and not self.logprobs:
                        return
            status, detail = await (early or self._probe(session, timeout, with_logprobs=self.logprobs > 0))
            if status == 200 or status in RETRY_STATUSES:
                return
            if status in (400, 422) and self.logprobs:
                retry, _ = await self._probe(session, timeout, with_logprobs=False)
                if retry == 200 or retry in RETRY_STATUSES:
                    if not self._logprobs_auto:
                        raise UsageError(f"{self.shown_url} rejects log-probabilities ({detail}); "
                                         "drop --logprobs (or use --samples for vote confidence)")
                    self.logprobs = 0  # auto: this server has none; answers come without probabilities
                    self._send_logprobs = False
                    return
            if status in (401, 403):
                raise UsageError(f"{self.shown_url} refused the request (HTTP {status}): {self._key_hint()}")
            listed = f"; it serves: {', '.join(served[:8])}" if served else ""
            raise UsageError(self._scrub(f"model '{self.model}' is not usable at {self.shown_url} "
                                         f"(HTTP {status}: {detail}){listed}"))
        except aiohttp.ClientError as exc:
            raise UsageError(self._scrub(f"cannot reach {self.shown_url} ({type(exc).__name__}: {exc}); "
                                         "is the server running? (--base-url)")) from None
        except TimeoutError:
            raise UsageError(f"cannot reach {self.shown_url}: no answer within {min(self.timeout, 20.0):g} s "
                             "(--base-url, --timeout)") from None
        finally:
            if early is not None and not early.done():
                early.cancel()
            elif early is not None and not early.cancelled():
                early.exception()  # the GET's failure is the one reported; this one is seen, not lost

    async def _probe(self, session: Any, timeout: Any, *, with_logprobs: bool) -> tuple[int, str]:
        """One 1-token request: its HTTP status and, unless 200, the server's error detail."""
        async with session.post(self._endpoint(), json=self._probe_payload(with_logprobs=with_logprobs),
                                timeout=timeout) as response:
            if response.status == 200:
                return 200, ""
            return response.status, _error_detail(await response.text())

    def _probe_payload(self, *, with_logprobs: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.model, "max_tokens": 1, "temperature": 0}
        if self.completions:
            payload["prompt"] = "ping"
            if with_logprobs:
                payload["logprobs"] = self.logprobs
        else:
            payload["messages"] = [{"role": "user", "content": "ping"}]
            if with_logprobs:
                payload |= {"logprobs": True, "top_logprobs": self.logprobs}
        return payload

    # ---- predicting --------------------------------------------------------------------------------
    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        if not items:
            return
        self.prepare()
        out: queue.SimpleQueue[Any] = queue.SimpleQueue()
        future = self._submit(self._run(list(items), out))
        remaining = len(items)
        try:
            while remaining:
                message = out.get()
                if isinstance(message, BaseException):
                    raise message
                remaining -= 1
                yield message
        finally:
            if not future.done():
                future.cancel()

    async def _run(self, items: list[Item], out: queue.SimpleQueue[Any]) -> None:
        workers: list[asyncio.Task[None]] = []
        try:
            session = await self._get_session()
            work = iter(enumerate(items))

            async def worker() -> None:
                for index, item in work:
                    out.put((index, await self._answer(session, item)))

            for started in range(min(self.concurrency, len(items))):
                if started and started % RAMP_STEP == 0:
                    # a turn of the loop between groups: opening hundreds of connections at once
                    # is one long turn in which the first answers wait, unread, until all are open
                    await asyncio.sleep(0)
                workers.append(asyncio.ensure_future(worker()))
            await asyncio.gather(*workers)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug, not a request failure: surface it in the caller's thread
            out.put(exc)
        finally:
            for task in workers:
                task.cancel()  # (no-op for finished ones) cancelled or failed: nothing is left running

    def _endpoint(self) -> str:
        return f"{self.base_url}/{'completions' if self.completions else 'chat/completions'}"

    def _payload(self, item: Item, n: int, image_urls: Sequence[str] | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.completions:
            if item.images:  # sent without them, the question would be answered blind
                raise ModelError("the text completions API cannot send images; drop --completions")
            payload["prompt"] = self.template.text(item)
            if self._send_logprobs:
                payload["logprobs"] = self.logprobs
        else:
            messages = self.template.messages(item)
            if item.images:
                parts: list[dict[str, Any]] = [{"type": "text", "text": messages[-1]["content"]}]
                urls = image_urls if image_urls is not None else [image_url(image) for image in item.images]
                parts.extend({"type": "image_url", "image_url": {"url": url}} for url in urls)
                messages[-1] = {"role": "user", "content": parts}
            payload["messages"] = messages
            if self._send_logprobs:
                payload["logprobs"] = True
                payload["top_logprobs"] = self.logprobs
        if n > 1:
            payload["n"] = n
        return payload

    async def _answer(self, session: Any, item: Item) -> Prediction:
        began = time.perf_counter()
        texts: list[str] = []
        token_logprobs: list[tuple[str, dict[str, float]]] | None = None
        usage: Counter[str] = Counter()
        finish: list[str] = []
        try:
            urls: list[str] | None = None
            if item.images and not self.completions:
                # decoded and encoded once per item, lazily, off the event loop (other requests keep flowing)
                urls = await asyncio.to_thread(lambda: [image_url(image) for image in item.images])
            while len(texts) < self.samples:
                want = self.samples - len(texts)
                payload = self._payload(item, want if self._n_supported else 1, urls)
                try:
                    body = await self._post(session, payload)
                except _Permanent as exc:
                    if exc.status == 400 and payload.get("n", 1) > 1 and self._n_supported:
                        self._n_supported = False  # a server that rejects `n`: ask one sample at a time
                        continue
                    if (exc.status in (400, 422) and self._logprobs_auto and "logprobs" in payload
                            and "logprob" in str(exc).lower()):
                        self._send_logprobs = False  # auto logprobs the pre-flight could not check: go without
                        continue
                    raise
                choices = body["choices"][:want]
                if not choices:
                    raise _Transient("the response has no choices")
                for choice in choices:
                    texts.append(_choice_text(choice, self.completions))
                    finish.append(str(choice.get("finish_reason")))
                    if token_logprobs is None:
                        token_logprobs = _choice_logprobs(choice, self.completions)
                for key, value in (body.get("usage") or {}).items():
                    if isinstance(value, int):
                        usage[key] += value
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the last retry failed, or e.g. an unreadable image: this item fails, the run goes on
            message = str(exc) if isinstance(exc, (_Transient, _Permanent)) else f"{type(exc).__name__}: {exc}"
            return Prediction(choice=None, error=self._scrub(message), latency=time.perf_counter() - began)
        latency = time.perf_counter() - began
        extra: dict[str, Any] = {"usage": dict(usage), "finish_reason": finish[0] if len(finish) == 1 else finish}
        return self._prediction(item, texts, token_logprobs, latency, extra)

    def _prediction(self, item: Item, texts: list[str], token_logprobs: list[tuple[str, dict[str, float]]] | None,
                    latency: float, extra: dict[str, Any]) -> Prediction:
        if self.samples > 1:
            return vote_prediction(texts, item.options, latency=latency, extra=extra)
        text = texts[0]
        choice = parse_answer(text, item.options)
        probs = option_probs_from_logprobs(token_logprobs, list(item.options), choice) if token_logprobs else None
        confidence = probs[choice] if probs is not None and choice is not None else None
        return Prediction(choice=choice, probs=probs, confidence=confidence, text=text, latency=latency, extra=extra)

    async def _post(self, session: Any, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST with retries; returns the decoded body or raises _Transient/_Permanent after the last try."""
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self.timeout)
        url = self._endpoint()
        last: _Transient = _Transient("no attempt made")
        malformed = 0
        for attempt in range(self.retries + 1):
            if self._limiter is not None:
                await self._limiter.wait()
            try:
                async with session.post(url, json=payload, timeout=timeout) as response:
                    raw = await response.read()
                    if response.status == 200:
                        try:
                            body = json.loads(raw)
                            if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
                                raise ValueError("no 'choices' list")
                            return body
                        except ValueError as exc:
                            malformed += 1
                            message = (f"malformed response from the server ({exc}): "
                                       f"{raw[:120].decode('utf-8', 'replace')!r}")
                            if malformed > 1:  # twice in a row: the server is broken, not busy
                                raise _Permanent(f"{message} (twice; not retried further)", 200) from None
                            raise _Transient(message) from None
                    detail = _error_detail(raw.decode("utf-8", "replace"))
                    message = f"HTTP {response.status}: {detail}"
                    if response.status in RETRY_STATUSES:
                        raise _Transient(message, _retry_after(response.headers.get("Retry-After")))
                    raise _Permanent(message, response.status)
            except _Transient as exc:
                last = exc
            except TimeoutError:
                last = _Transient(f"no response within {self.timeout:g} s (--timeout)")
            except aiohttp.ClientError as exc:
                last = _Transient(f"connection failed ({type(exc).__name__}: {exc})")
            if attempt < self.retries:
                await asyncio.sleep(self._delay(attempt, last.wait))
        raise _Transient(f"{last} (gave up after {self.retries + 1} attempts)")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, 600.0)
        ceiling = min(self.backoff_max, self.backoff * (2 ** attempt))
        return ceiling * (0.5 + 0.5 * self._jitter.random())  # jitter: retries from many workers spread out


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _error_detail(text: str) -> str:
    try:
        body = json.loads(text)
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message", error) if isinstance(error, dict) else error
        text = str(message)
    except ValueError:
        pass
    text = " ".join(text.split())
    return text[:200] if text else "(empty body)"


def _choice_text(choice: Mapping[str, Any], completions: bool) -> str:
    if completions:
        return str(choice.get("text") or "")
    message = choice.get("message") or {}
    content = message.get("content")
    if isinstance(content, list):  # some servers return content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def _choice_logprobs(choice: Mapping[str, Any], completions: bool) -> list[tuple[str, dict[str, float]]] | None:
    """Per generated token: (token, {alternative token: logprob}) including the token itself."""
    logprobs = choice.get("logprobs")
    if not logprobs:
        return None
    out: list[tuple[str, dict[str, float]]] = []
    try:
        if completions:
            tokens = logprobs.get("tokens") or []
            values = logprobs.get("token_logprobs") or [None] * len(tokens)
            tops = logprobs.get("top_logprobs") or [None] * len(tokens)
            for token, value, top in zip(tokens, values, tops):
                alternatives = {str(t): float(v) for t, v in (top or {}).items()}
                if value is not None:
                    alternatives.setdefault(str(token), float(value))
                out.append((str(token), alternatives))
        else:
            for entry in logprobs.get("content") or []:
                alternatives = {str(a["token"]): float(a["logprob"]) for a in entry.get("top_logprobs") or []}
                alternatives.setdefault(str(entry["token"]), float(entry["logprob"]))
                out.append((str(entry["token"]), alternatives))
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return out or None


def _token_key(token: str) -> str:
    return token.strip().strip("()[]*.:").strip()


def option_probs_from_logprobs(tokens: Sequence[tuple[str, Mapping[str, float]]], keys: Sequence[str],
                               choice: str | None) -> dict[str, float] | None:
    """Per-option probabilities from the answer token's top log-probabilities.

    The answer token is the first generated token that reads as the parsed choice (so "A" the
    article before the real answer is skipped); alternatives spelling the same key (" B", "B",
    "(B") are summed, then normalised over the options.
    """
    if choice is None:
        return None
    for token, alternatives in tokens:
        if _token_key(token) != choice:
            continue
        mass = {key: 0.0 for key in keys}
        for alternative, logprob in alternatives.items():
            key = _token_key(alternative)
            if key in mass and math.isfinite(logprob):
                mass[key] += math.exp(logprob)
        total = sum(mass.values())
        if total <= 0:
            return None
        return {key: value / total for key, value in mass.items()}
    return None


def image_url(image: Any) -> str:
    """An OpenAI ``image_url`` value: http(s) and data URLs pass through; every other image (an
    ``ImageRef``, a path, bytes, an array, a PIL image) is decoded to its pixels and sent as a
    lossless PNG data URL of exactly those pixels — the ones ``image_key`` hashed into the store
    key. Files in formats servers can't read (DICOM, NIfTI, 16-bit TIFF) arrive as PNG too."""
    from ..imaging import UrlImage, load_pixels
    from ..imaging.encode import data_url

    if isinstance(image, UrlImage):
        return image.url
    if isinstance(image, str) and image.startswith(("http://", "https://", "data:")):
        return image
    return data_url(load_pixels(image))


_SETTINGS = ("base_url", "api_key_env", "concurrency", "rpm", "timeout", "retries", "samples", "temperature",
             "max_tokens", "completions", "logprobs", "template", "backoff", "backoff_max")


def create(arg: str | None, **options: Any) -> OpenAICompatible:
    """``openai:MODEL``: builds the adapter; its pre-flight check runs before the first request that
    is really needed (``preflight=False`` turns it off)."""
    preflight = options.pop("preflight", True)
    model = OpenAICompatible(arg or "", **{k: v for k, v in options.items() if k in _SETTINGS and v is not None})
    model.check_endpoint = bool(preflight)
    return model
