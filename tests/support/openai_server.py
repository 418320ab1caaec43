"""A scripted, OpenAI-compatible HTTP server for tests, built on the standard library only.

    with OpenAIServer() as server:
        server.script(Reply(text="hello"), Fail(429), Reply(tool_calls=[ToolCall("add", {"a": 1})]))
        client = OpenAIChatClient(DEFAULT_MODEL, api_key=server.api_key, base_url=server.base_url)

`POST /v1/chat/completions` answers with the next scripted step, in order, as JSON or (for
``"stream": true``) as server-sent events; `GET /v1/models` lists the known models. Every request body is
kept in `requests`. A wrong bearer token gets 401 and an unknown model 404 without using a step. When
the script runs out the server answers 500 and notes the problem in `problems`, which `check` turns into
a test failure.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

DEFAULT_API_KEY = "test-key"
DEFAULT_MODEL = "test-model"


@dataclass(frozen=True)
class ToolCall:
    """A function call in a `Reply`; `arguments` is sent as is when a string, else as JSON."""

    name: str
    arguments: str | Mapping[str, Any] = "{}"
    id: str | None = None
    """Defaults to ``call_<position>``."""

    def arguments_text(self) -> str:
        """The arguments as the raw string the server sends."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """A successful completion: text and/or tool calls, with usage."""

    text: str | None = None
    tool_calls: Sequence[ToolCall] = ()
    finish_reason: str | None = None
    """Defaults to `tool_calls` when there are tool calls, else `stop`."""
    input_tokens: int = 11
    output_tokens: int = 7
    fragment_size: int = 3
    """Streamed text and tool-call arguments go out in pieces of this many characters."""


@dataclass(frozen=True)
class Fail:
    """An error status with OpenAI's error body; 429 and 5xx carry a 1 ms ``retry-after-ms``."""

    status: int
    message: str = "scripted failure"
    type: str = "server_error"
    code: str | None = None


@dataclass(frozen=True)
class Hang:
    """Answer nothing for `seconds` (less if the server stops), then close the connection."""

    seconds: float


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering."""


@dataclass(frozen=True)
class BrokenStream:
    """Stream `text`, then send an error event with `message`, or cut the connection if it is None."""

    text: str = ""
    message: str | None = "scripted mid-stream failure"


@dataclass(frozen=True)
class Malformed:
    """Answer 200 with `body` verbatim (JSON unless a str); to a streaming request as one event."""

    body: Any


Step = Reply | Fail | Hang | Drop | BrokenStream | Malformed


class OpenAIServer:
    """The server; start it with ``with`` (or `start`/`stop`), script it, read `requests`."""

    def __init__(
        self,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        models: Collection[str] | None = (DEFAULT_MODEL,),
    ) -> None:
        self.api_key = api_key
        """The bearer token requests must carry; None accepts any."""
        self.models = frozenset(models) if models is not None else None
        """The models that exist; None accepts any."""
        self.requests: list[dict[str, Any]] = []
        """Every chat-completion request body, in arrival order."""
        self.problems: list[str] = []
        """Things that went wrong on the server side; `check` fails the test when there are any."""
        self._steps: deque[Step] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._httpd is None:
            raise RuntimeError("the test server is not running; use `with OpenAIServer() as s:`")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The URL to pass as `base_url`, e.g. ``http://127.0.0.1:50123/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pending(self) -> int:
        """How many scripted steps are not used yet."""
        with self._lock:
            return len(self._steps)

    def script(self, *steps: Step) -> None:
        """Queue `steps`; each chat-completion request uses the next one."""
        with self._lock:
            self._steps.extend(steps)

    def check(self) -> None:
        """Raise `AssertionError` listing the server-side problems, if any."""
        if self.problems:
            raise AssertionError(
                "the OpenAI test server saw problems:\n" + "\n".join(self.problems)
            )

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and join every thread."""
        if self._httpd is None or self._thread is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # the client may have closed it already
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()  # joins the request threads
        self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, body: dict[str, Any]) -> int:
        with self._lock:
            self.requests.append(body)
            return len(self.requests)

    def _next_step(self) -> Step | None:
        with self._lock:
            return self._steps.popleft() if self._steps else None

    def _note(self, problem: str) -> None:
        with self._lock:
            self.problems.append(problem)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # so `server_close` joins the request threads
    block_on_close = True

    def __init__(self, owner: OpenAIServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]  # a client that went away is no problem; anything else is
        if not isinstance(error, ConnectionError | TimeoutError):
            self.owner._note(f"the handler raised {error!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection does not hold a thread forever
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.owner._lock:
            self.server.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.owner._lock:
            self.server.owner._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # keep test output clean

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self._send_error(404, f"no route GET {self.path}", "invalid_request_error")
            return
        models = sorted(self.server.owner.models or ())
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in models]
        self._send_json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, f"no route POST {self.path}", "invalid_request_error")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            owner._note(f"a request body was not JSON: {raw[:200]!r}")
            self._send_error(400, "the request body is not JSON", "invalid_request_error")
            return
        number = owner._record(body)
        expected = f"Bearer {owner.api_key}"
        if owner.api_key is not None and self.headers.get("Authorization") != expected:
            message = "Incorrect API key provided. You can find your API key in your settings."
            self._send_error(401, message, "invalid_request_error", "invalid_api_key")
            return
        model = body.get("model")
        if owner.models is not None and model not in owner.models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            self._send_error(404, message, "invalid_request_error", "model_not_found")
            return
        step = owner._next_step()
        if step is None:
            problem = f"request #{number} arrived after the script ran out"
            owner._note(problem)
            self._send_error(500, f"test server: {problem}", "server_error", retry=False)
            return
        self._answer(step, body)

    def _answer(self, step: Step, body: dict[str, Any]) -> None:
        streaming = bool(body.get("stream"))
        match step:
            case Reply():
                if streaming:
                    self._stream_reply(step, body)
                else:
                    self._send_json(200, self._completion(step, body))
            case Fail(status, message, kind, code):
                self._send_error(status, message, kind, code)
            case Hang(seconds):
                self.server.owner._stopping.wait(seconds)
                self.close_connection = True
            case Drop():
                self.close_connection = True
            case BrokenStream():
                self._stream_broken(step, body)
            case Malformed(payload):
                text = payload if isinstance(payload, str) else json.dumps(payload)
                if streaming:
                    self._start_stream()
                    self._send_event(text)
                    self._send_event("[DONE]")
                    self._end_stream()
                else:
                    self._send_body(200, text.encode(), "application/json")

    def _completion(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": _call_id(call, position),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_text()},
                }
                for position, call in enumerate(reply.tool_calls)
            ]
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": _finish_reason(reply),
        }
        return {
            **self._envelope(body, "chat.completion"),
            "choices": [choice],
            "usage": _usage(reply),
        }

    def _stream_reply(self, reply: Reply, body: dict[str, Any]) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self._start_stream()
        for chunk in self._reply_chunks(reply, body):
            if include_usage:
                chunk["usage"] = None
            self._send_event(json.dumps(chunk))
        if include_usage:
            usage_chunk = {**self._envelope(body, "chat.completion.chunk"), "choices": []}
            self._send_event(json.dumps({**usage_chunk, "usage": _usage(reply)}))
        self._send_event("[DONE]")
        self._end_stream()

    def _reply_chunks(self, reply: Reply, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return {**self._envelope(body, "chat.completion.chunk"), "choices": [choice]}

        yield chunk({"role": "assistant", "content": ""})
        for piece in _pieces(reply.text or "", reply.fragment_size):
            yield chunk({"content": piece})
        for index, call in enumerate(reply.tool_calls):
            function = {"name": call.name, "arguments": ""}
            first = {"index": index, "id": _call_id(call, index), "type": "function"}
            yield chunk({"tool_calls": [{**first, "function": function}]})
            for piece in _pieces(call.arguments_text(), reply.fragment_size):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, _finish_reason(reply))

    def _stream_broken(self, broken: BrokenStream, body: dict[str, Any]) -> None:
        self._start_stream()
        for chunk in self._reply_chunks(Reply(text=broken.text), body):
            if chunk["choices"][0]["finish_reason"] is None:
                self._send_event(json.dumps(chunk))
        if broken.message is None:
            self.close_connection = True  # no terminating chunk: the body is incomplete
            return
        error = {"message": broken.message, "type": "server_error", "param": None, "code": None}
        self._send_event(json.dumps({"error": error}))
        self._end_stream()

    def _envelope(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{len(self.server.owner.requests)}",
            "object": kind,
            "created": int(time.time()),
            "model": body.get("model"),
        }

    def _send_error(
        self, status: int, message: str, kind: str, code: str | None = None, *, retry: bool = True
    ) -> None:
        headers = {}
        if status == 429 or status >= 500:
            headers["retry-after-ms"] = "1"
        if not retry:
            headers["x-should-retry"] = "false"
        error = {"message": message, "type": kind, "param": None, "code": code}
        self._send_json(status, {"error": error}, headers)

    def _send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        self._send_body(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_body(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send_event(self, data: str) -> None:
        event = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _pieces(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), max(size, 1))]


def _call_id(call: ToolCall, position: int) -> str:
    return call.id if call.id is not None else f"call_{position}"


def _finish_reason(reply: Reply) -> str:
    if reply.finish_reason is not None:
        return reply.finish_reason
    return "tool_calls" if reply.tool_calls else "stop"


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }
