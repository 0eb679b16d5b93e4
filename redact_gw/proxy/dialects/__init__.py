"""Every API an AI service speaks, one small module each.

``openai_chat``, ``openai_responses``, ``openai_completions``, ``openai_embeddings``
and ``anthropic_messages`` each describe one API as a ``base.Dialect``: where the
protocol leaves of a request are (everything else is tokenized), which answer strings
are protocol, and a ``streaming.dialect.StreamDialect`` saying which event carries which
channel of text. The engine (``base.proxy``, ``upstream.py``, ``streaming/``) never
knows which dialect it runs. A new API (Gemini, Bedrock Converse) is one more module
with its ``DIALECT``, listed in ``DIALECTS``, plus its tests.
"""

from __future__ import annotations

from aiohttp import web

from redact_gw.proxy.dialects import (
    anthropic_messages,
    openai_chat,
    openai_completions,
    openai_embeddings,
    openai_responses,
)
from redact_gw.proxy.dialects.base import Dialect, handler

DIALECTS: tuple[Dialect, ...] = (
    openai_chat.DIALECT, openai_responses.DIALECT, openai_completions.DIALECT,
    openai_embeddings.DIALECT, anthropic_messages.DIALECT,
    anthropic_messages.COUNT_TOKENS)

def add_routes(app: web.Application) -> None:
    """Register every dialect's route, and the models routes."""
    for dialect in DIALECTS:
        app.router.add_post(dialect.route, handler(dialect))
    app.router.add_get("/v1/models", openai_embeddings.models)
    app.router.add_get("/v1/models/{model}", openai_embeddings.models)
