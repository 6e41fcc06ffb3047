"""A small OpenAI-compatible HTTP client on the standard library: streamed completions (SSE) with a
timestamp per chunk, and one error type whose message says what went wrong in words.

One connection per request (requests run concurrently from threads). ``timeout_s`` bounds the
connection and every wait for the next bytes; ``request_timeout_s`` the whole answer. The API key
is passed in per request by the caller, and scrubbed from every message this module writes.
"""

import http.client
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit


class ServerError(RuntimeError):
    """A request that failed; the message names the cause (never the API key)."""


@dataclass(frozen=True)
class Chunk:
    text: str
    at_ns: int
    token: bool
    """Carries generated output (possibly empty text: a token that ends mid-character); the role
    chunk that opens a chat stream and the closing one do not."""


class OpenAIClient:
    def __init__(self, base_url: str, *, timeout_s: float, request_timeout_s: float):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerError(f"base_url {public_url(base_url)!r} is not an http(s) URL")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.url = public_url(base_url)
        self.timeout_s, self.request_timeout_s = timeout_s, request_timeout_s

    def _connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout_s)

    def _open(self, method: str, path: str, body: dict | None, api_key: str | None):
        headers = {"Accept": "application/json, text/event-stream"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        conn = self._connection()
        url = f"{self.url}{path}"
        try:
            conn.request(method, self.prefix + path, body=json.dumps(body) if body is not None else None,
                         headers=headers)
            response = conn.getresponse()
        except (TimeoutError, socket.timeout) as exc:
            conn.close()
            raise ServerError(f"no answer from {url} within {self.timeout_s:g} s (timeout)") from exc
        except OSError as exc:
            conn.close()
            raise ServerError(f"server {self.url} unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status >= 400:
            detail = _scrub(response.read(300).decode("utf-8", "replace"), api_key)
            conn.close()
            raise ServerError(f"{url} answered HTTP {response.status} {response.reason}: {detail.strip()!r}")
        return conn, response

    def get_json(self, path: str, api_key: str | None) -> dict:
        conn, response = self._open("GET", path, None, api_key)
        try:
            raw = response.read()
        except (TimeoutError, OSError) as exc:
            raise ServerError(f"{self.url}{path}: reading the answer failed: {type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ServerError(f"{self.url}{path}: malformed JSON ({_scrub(raw[:80].decode('utf-8', 'replace'), api_key)!r}): {exc}") from exc
        if not isinstance(data, dict):
            raise ServerError(f"{self.url}{path}: expected a JSON object, got {type(data).__name__}")
        return data

    def stream(self, path: str, body: dict, api_key: str | None) -> Iterator[Chunk]:
        """The text chunks of a streamed completion, each stamped with ``perf_counter_ns`` on arrival."""
        deadline = time.monotonic() + self.request_timeout_s
        conn, response = self._open("POST", path, {**body, "stream": True}, api_key)
        try:
            done = False
            for line in self._lines(response, path, deadline):
                if not line or line.startswith(":"):
                    continue  # SSE keep-alive or comment
                if not line.startswith("data:"):
                    raise ServerError(f"{self.url}{path}: not a server-sent event stream (line {_scrub(line[:80], api_key)!r})")
                payload = line[5:].strip()
                if payload == "[DONE]":
                    done = True
                    break
                yield _chunk(payload, f"{self.url}{path}", api_key)
            if not done:
                raise ServerError(f"{self.url}{path}: the stream ended without [DONE] (connection cut?)")
        finally:
            conn.close()

    def _lines(self, response, path: str, deadline: float) -> Iterator[str]:
        while True:
            if time.monotonic() > deadline:
                raise ServerError(f"{self.url}{path}: answer not complete within {self.request_timeout_s:g} s (timeout)")
            try:
                raw = response.readline()
            except (TimeoutError, socket.timeout) as exc:
                raise ServerError(f"{self.url}{path}: no bytes for {self.timeout_s:g} s mid-stream (timeout)") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise ServerError(f"{self.url}{path}: stream broken: {type(exc).__name__}: {exc}") from exc
            if not raw:
                return
            yield raw.decode("utf-8", "replace").rstrip("\r\n")


def _chunk(payload: str, where: str, api_key: str | None) -> Chunk:
    at = time.perf_counter_ns()
    try:
        data = json.loads(payload)
        choice = data["choices"][0] if data.get("choices") else {}
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise ServerError(f"{where}: malformed JSON in the stream ({_scrub(payload[:80], api_key)!r}): {exc}") from exc
    if not isinstance(choice, dict):
        raise ServerError(f"{where}: malformed chunk in the stream ({_scrub(payload[:80], api_key)!r})")
    if "error" in data:
        raise ServerError(f"{where}: the server reported an error mid-stream: {_scrub(str(data['error'])[:200], api_key)}")
    delta = choice.get("delta") or {}
    text = choice.get("text") if "text" in choice else delta.get("content")
    return Chunk(text=text or "", at_ns=at, token=text is not None and not (text == "" and choice.get("finish_reason")))


def _scrub(text: str, api_key: str | None) -> str:
    return text.replace(api_key, "***") if api_key else text


def public_url(url: str) -> str:
    """``url`` without user:password, query or fragment: what facts, logs and errors may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path.rstrip('/')}"
