"""A local OpenAI-compatible demo model, and the quickstart that runs it beside the gateway.

``python -m redact_gw.demo`` starts the demo model on 127.0.0.1:8099 (``--port`` or
``REDACT_GW_DEMO_PORT``) and then the gateway (``redact-gw serve --init-dev``) on its
configured port (``REDACT_GW_PORT``), forwarding to the demo model unless
``REDACT_GW_UPSTREAM_URL`` says otherwise, so the whole round trip runs on one machine
without any AI account. A port already in use ends the demo with one line saying which
variable moves it. The model speaks OpenAI chat, Responses and completions, and
Anthropic Messages (``demo_dialects``). It answers by quoting the last user message back
("You said: ..."), calls the first tool offered when the prompt mentions a tool, rejects
a model it does not serve with a 404 as the real services do, streams word by word when
asked to, and prints every request body it receives: that is what an AI service behind
the gateway gets to see (tokens). It also serves the demo live assist service
(``demo_assist``, ``live.assist.demo``), which ``python -m redact_gw.demo_live`` shows.

``python -m redact_gw.demo model`` starts only the model. The chunk and completion
builders are shared with ``redact_gw.testing.FakeUpstream``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from redact_gw.errors import ConfigError
from redact_gw.settings import Settings, load_settings

MODEL = "demo-echo-1"
_WORDS = re.compile(r"\S+\s*|\s+")


def completion(text: str, *, model: str = MODEL,
               tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` answering ``text``."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-demo", "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": "fp_demo",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def chunk(delta: dict[str, Any], *, finish_reason: str | None = None, index: int = 0,
          model: str = MODEL, **extra: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with ``delta`` for choice ``index``."""
    return {"id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": 1,
            "model": model, "system_fingerprint": "fp_demo",
            "choices": [{"index": index, "delta": delta, "logprobs": None,
                         "finish_reason": finish_reason}], **extra}


def chat_chunks(pieces: Sequence[str], *, model: str = MODEL) -> list[dict[str, Any]]:
    """A whole streamed answer: role chunk, one chunk per piece, finish chunk."""
    out = [chunk({"role": "assistant", "content": ""}, model=model)]
    out += [chunk({"content": p}, model=model) for p in pieces]
    out.append(chunk({}, finish_reason="stop", model=model))
    return out


def tool_call_chunks(call_id: str, name: str, argument_pieces: Sequence[str]
                     ) -> list[dict[str, Any]]:
    """A streamed tool call: header chunk, argument pieces, finish chunk."""
    out = [chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": call_id, "type": "function",
         "function": {"name": name, "arguments": ""}}]})]
    out += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]})
            for p in argument_pieces]
    out.append(chunk({}, finish_reason="tool_calls"))
    return out


def words(text: str) -> list[str]:
    """``text`` split into words, each with its trailing whitespace."""
    return _WORDS.findall(text)


def sse(data: Any) -> bytes:
    """One SSE event carrying ``data`` (JSON-encoded unless it is a string)."""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"data: {payload}\n\n".encode()


def echo_text(body: dict[str, Any]) -> str:
    """What the demo model answers: the last user message, quoted back."""
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return f"You said: {content}"
    return "You said nothing."


def embeddings_answer(body: dict[str, Any]) -> dict[str, Any]:
    """Tiny deterministic vectors (length-based), one per input."""
    inputs = body.get("input")
    items = inputs if isinstance(inputs, list) else [inputs]
    data = [{"object": "embedding", "index": i, "embedding": [float(len(str(x))), 1.0]}
            for i, x in enumerate(items)]
    return {"object": "list", "data": data, "model": MODEL,
            "usage": {"prompt_tokens": 1, "total_tokens": 1}}


def models_answer() -> dict[str, Any]:
    """The one demo model."""
    return {"object": "list", "data": [
        {"id": MODEL, "object": "model", "created": 0, "owned_by": "redact-gw-demo"}]}


def dialect_answer(path: str, body: dict[str, Any], *, check_model: bool = False
                   ) -> tuple[int, Any, list[Any] | None] | None:
    """The other dialects' answers (``demo_dialects``): ``(status, json, events)``
    for ``path``, or ``None`` for chat completions and unknown paths."""
    from redact_gw import demo_dialects as dd
    model = body.get("model")
    anthropic = path.endswith(("/messages", "/messages/count_tokens"))
    if check_model and not dd.known_model(model) and (
            anthropic or path.endswith(("/responses", "/completions"))):
        if anthropic:
            return 404, dd.anthropic_error(404, "not_found_error", f"model: {model}"), None
        return 404, dd.openai_model_error(model), None
    stream = body.get("stream") is True
    if path.endswith("/messages/count_tokens"):
        return 200, {"input_tokens": len(json.dumps(body.get("messages"))) // 4}, None
    if path.endswith("/messages"):
        message = dd.anthropic_message(body)
        return (200, None, dd.anthropic_events(message)) if stream else (200, message, None)
    if path.endswith("/responses"):
        if stream:
            return 200, None, dd.responses_events(body)
        return 200, dd.response(body, dd.responses_output(body)), None
    if path.endswith("/completions") and not path.endswith("/chat/completions"):
        if stream:
            return 200, None, dd.completion_events(body)
        return 200, dd.text_completion(dd.completion_text(body), model or MODEL), None
    return None


class DemoModel:
    """The demo model's aiohttp app: echo chat completions, embeddings, models."""

    def __init__(self, *, verbose: bool = True, word_delay_s: float = 0.05) -> None:
        self.verbose = verbose
        self.word_delay_s = word_delay_s

    def app(self) -> web.Application:
        """Build the app."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/v1/models/{model}", self.model)
        for path in ("/v1/messages", "/v1/messages/count_tokens", "/v1/responses",
                     "/v1/completions"):
            app.router.add_post(path, self.dialect)
        from redact_gw.demo_assist import FakeAssist
        FakeAssist(verbose=self.verbose).add_routes(app)  # live.assist.demo
        return app

    async def dialect(self, request: web.Request) -> web.StreamResponse:
        """Anthropic Messages, OpenAI Responses and completions (``demo_dialects``)."""
        body = await request.json()
        self._show(request, body)
        status, doc, events = dialect_answer(request.path, body, check_model=True) or (
            404, {"error": {"message": "not found"}}, None)
        if events is None:
            return web.json_response(doc, status=status)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for event in events:
            await resp.write(event)
            await asyncio.sleep(self.word_delay_s)
        await resp.write_eof()
        return resp

    async def model(self, request: web.Request) -> web.Response:
        """One model, or 404 like the real service."""
        from redact_gw import demo_dialects as dd
        model = request.match_info["model"]
        if not dd.known_model(model):
            return web.json_response(dd.openai_model_error(model), status=404)
        return web.json_response(dd.model_info(model))

    def _show(self, request: web.Request, body: Any) -> None:
        if self.verbose:
            print(f"\n[demo model] {request.method} {request.path} received:\n"
                  + json.dumps(body, indent=2, ensure_ascii=False), flush=True)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        """Quote the prompt back, streamed word by word when ``stream`` is set."""
        from redact_gw import demo_dialects as dd
        body = await request.json()
        self._show(request, body)
        model = body.get("model") or MODEL
        if not dd.known_model(model):
            return web.json_response(dd.openai_model_error(model), status=404)
        text = echo_text(body)
        tool = dd.wants_tool(body, text)
        function = tool.get("function") if tool is not None else None
        if isinstance(function, dict):  # asked for a tool: call it, quoting the prompt
            args = json.dumps({"text": text[len("You said: "):]})
            name = str(function.get("name", "tool"))
            call = {"id": "call_demo1", "type": "function",
                    "function": {"name": name, "arguments": args}}
            items = tool_call_chunks("call_demo1", name, words(args))
            answer = completion("", model=model, tool_calls=[call])
        else:
            items = chat_chunks(words(text), model=model)
            answer = completion(text, model=model)
        if not body.get("stream"):
            return web.json_response(answer)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for item in items:
            await resp.write(sse(item))
            await asyncio.sleep(self.word_delay_s)
        await resp.write(sse("[DONE]"))
        await resp.write_eof()
        return resp

    async def embeddings(self, request: web.Request) -> web.Response:
        """Tiny deterministic vectors (length-based), one per input."""
        body = await request.json()
        self._show(request, body)
        return web.json_response(embeddings_answer(body))

    async def models(self, request: web.Request) -> web.Response:
        """One model."""
        return web.json_response(models_answer())


#: Environment variable moving the demo model's port (the gateway's is ``REDACT_GW_PORT``).
DEMO_PORT_ENV = "REDACT_GW_DEMO_PORT"
DEFAULT_DEMO_PORT = 8099


class PortBusy(Exception):
    """A port the demo needs is taken; the message is the one line the user sees."""


def _busy(host: str, port: int, what: str, env_name: str, exc: OSError) -> PortBusy:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return PortBusy(f"demo: cannot listen on {host}:{port} for the {what} ({reason});"
                    f" stop what uses it, or choose another port: {env_name}={port + 1}"
                    " make run")


def check_port(host: str, port: int, what: str, env_name: str) -> None:
    """Raise ``PortBusy`` when ``host:port`` cannot be listened on (bind, then let go)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
        try:
            s.bind((host, port))
        except OSError as exc:
            raise _busy(host, port, what, env_name, exc) from None


async def serve_model(host: str, port: int, started: asyncio.Event | None = None) -> None:
    """Run the demo model until cancelled."""
    runner = web.AppRunner(DemoModel().app())
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise _busy(host, port, "demo model", DEMO_PORT_ENV, exc) from None
        print(f"[demo model] OpenAI-compatible demo model on http://{host}:{port}/v1",
              flush=True)
        if started is not None:
            started.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _gateway(config: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c",  # noqa: S603 (fixed argv, no shell)
                             "from redact_gw.cli import main; raise SystemExit(main())",
                             "--config", config, "--log-format", "text", "serve",
                             "--init-dev"], env=env)


def gateway_env(host: str, port: int, environ: Mapping[str, str]) -> dict[str, str]:
    """The gateway child's environment: its upstream and its ``demo`` live assist
    service are this demo model, unless the user chose others with
    ``REDACT_GW_UPSTREAM_URL`` and ``REDACT_GW_ASSIST_DEMO_URL``."""
    env = dict(environ)
    if not env.get("REDACT_GW_UPSTREAM_URL"):
        env["REDACT_GW_UPSTREAM_URL"] = f"http://{host}:{port}/v1"
    if not env.get("REDACT_GW_ASSIST_DEMO_URL"):
        env["REDACT_GW_ASSIST_DEMO_URL"] = f"http://{host}:{port}/v1/assist"
    return env


def lost_keys_hint(config: str) -> str:
    """What ``make run`` says when the demo API keys were made (and shown) before."""
    return ("demo: the demo API keys were shown when they were made; lost them? new key:"
            f" .venv/bin/redact-gw --config {config} apikey create --tenant demo"
            " --role ai-service --name me   (or start over: make clean-state)")


async def _run(args: argparse.Namespace, settings: Settings | None) -> None:
    gateway: subprocess.Popen[bytes] | None = None
    # SIGTERM ends the demo like Ctrl+C does, at an await (never halfway through starting
    # the gateway child), and the gateway is stopped too: it drains, closes the vault and
    # stops its detection workers.
    me = asyncio.current_task()
    assert me is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, me.cancel)
    started = asyncio.Event()
    model = asyncio.create_task(serve_model(args.host, args.port, started))
    listening = asyncio.create_task(started.wait())
    try:
        done, _ = await asyncio.wait({model, listening}, return_when=asyncio.FIRST_COMPLETED)
        listening.cancel()
        if model in done:
            model.result()  # PortBusy
        if settings is not None:  # the model listens: start the gateway in front of it
            if settings.resolve(settings.auth.principals_file).exists():
                print(lost_keys_hint(args.config), file=sys.stderr, flush=True)
            gateway = _gateway(args.config, gateway_env(args.host, args.port, os.environ))
        await model
    finally:
        model.cancel()
        with contextlib.suppress(asyncio.CancelledError, PortBusy):
            await model
        if gateway is not None:
            gateway.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                gateway.wait(10)


def main(argv: list[str] | None = None) -> int:
    """``python -m redact_gw.demo [model] [--config PATH] [--port 8099]``."""
    p = argparse.ArgumentParser(prog="python -m redact_gw.demo", description=__doc__)
    p.add_argument("what", nargs="?", choices=["all", "model"], default="all")
    p.add_argument("--config", default="config/redact-gw.yaml")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None,
                   help=f"demo model port (default: ${DEMO_PORT_ENV} or {DEFAULT_DEMO_PORT})")
    args = p.parse_args(argv)
    try:
        if args.port is None:
            raw = os.environ.get(DEMO_PORT_ENV) or str(DEFAULT_DEMO_PORT)
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise PortBusy(f"demo: {DEMO_PORT_ENV}={raw!r} is not a port number")
            args.port = int(raw)
        settings = None
        if args.what == "all":
            settings = load_settings(args.config)
            check_port(settings.server.host, settings.server.port, "gateway", "REDACT_GW_PORT")
        check_port(args.host, args.port, "demo model", DEMO_PORT_ENV)
    except (PortBusy, ConfigError) as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        asyncio.run(_run(args, settings))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl+C, SIGTERM
        pass
    except PortBusy as exc:  # taken between the check and the start
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
