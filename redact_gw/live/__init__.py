"""Live calls: speech-recognition partials and finals redacted as they arrive.

``holdback`` (pure: what of a partial may be shown), ``messages`` (what comes in),
``assist`` (forwarding to an agent-assist service), ``limits`` (open sessions, rates),
``session`` (one call's segments, sans WebSocket), ``handler`` (``GET /v1/live``) and
``vendor`` (ASR vendors' own messages in and out, ``?format=``).
"""
