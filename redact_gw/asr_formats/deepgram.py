"""Deepgram: live ``Results`` messages and the pre-recorded response JSON.

* Live: ``{"type": "Results", "channel_index": [0, 1], "start", "duration",
  "is_final", "speech_final", "channel": {"alternatives": [{"transcript",
  "confidence", "words": [{"word", "start", "end", "confidence", "punctuated_word",
  "speaker"}]}]}, "metadata": {...}}``; ``Metadata``, ``UtteranceEnd`` and
  ``SpeechStarted`` carry no transcript.
* Pre-recorded: ``{"metadata": {...}, "results": {"channels": [{"alternatives":
  [{"transcript", "words", "paragraphs": {...}}]}], "utterances": [{"transcript",
  "words", "speaker", "channel", ...}], "summary": ...}}``. Paragraph sentences are
  pieces of the transcript, rewritten with it.
"""

from __future__ import annotations

from typing import Any

from redact_gw.asr_formats.base import (
    Utterance,
    WordSpec,
    as_number,
    need_list,
    need_obj,
    need_text,
)
from redact_gw.asr_formats.document import Parsed
from redact_gw.jsonpaths import Path

WORDS = WordSpec(text=(("punctuated_word",), ("word",)), end=(("end",),),
                 confidence=(("confidence",),))
_SAFE = frozenset({
    "type", "request_id", "sha256", "created", "model_uuid", "models", "model_info",
    "name", "version", "arch", "language", "languages", "detected_language", "id",
    "transaction_key", "warnings", "extra", "tags",
})


def _alternatives(doc: dict[str, Any], base: Path, holder: Any, *, live: bool,
                  **fields: Any) -> list[Utterance]:
    holder = need_obj(holder, base)
    alts = need_list(holder.get("alternatives", []), (*base, "alternatives"))
    if live:
        del alts[1:]  # a session follows one hypothesis
    out = []
    for k, alt in enumerate(alts):
        ap: Path = (*base, "alternatives", k)
        alt = need_obj(alt, ap)
        out.append(_utterance(doc, ap, alt, **fields))
    return out


def _utterance(doc: dict[str, Any], path: Path, node: dict[str, Any],
               **fields: Any) -> Utterance:
    words = (*path, "words") if "words" in node else None
    utt = Utterance((*path, "transcript"), need_text(doc, (*path, "transcript"),
                                                     "transcript"),
                    words, WORDS if words else None, **fields)
    first = node.get("words")
    if utt.speaker is None and isinstance(first, list) and first and isinstance(
            first[0], dict) and isinstance(first[0].get("speaker"), int):
        utt.speaker = f"speaker {first[0]['speaker']}"
    return utt


class DeepgramFormat:
    """Deepgram live and pre-recorded JSON."""

    name = "deepgram"
    safe_keys = _SAFE

    def utterances(self, doc: dict[str, Any], *, live: bool) -> list[Utterance]:
        if "results" in doc and not live:
            return self._prerecorded(doc)
        if "channel" not in doc:
            return []  # Metadata, UtteranceEnd, SpeechStarted: no transcript
        index = doc.get("channel_index")
        channel = str(index[0]) if isinstance(index, list) and index else "0"
        start, duration = as_number(doc.get("start")), as_number(doc.get("duration"))
        end = start + duration if start is not None and duration is not None else None
        return _alternatives(doc, ("channel",), doc["channel"], live=live,
                             channel=channel, final=doc.get("is_final") is True or not live,
                             start=start, end=end)

    def _prerecorded(self, doc: dict[str, Any]) -> list[Utterance]:
        results = need_obj(doc["results"], ("results",))
        out = []
        channels = need_list(results.get("channels", []), ("results", "channels"))
        for c, chan in enumerate(channels):
            out += _alternatives(doc, ("results", "channels", c), chan, live=False)
        utterances = need_list(results.get("utterances", []), ("results", "utterances"))
        for u, node in enumerate(utterances):
            path: Path = ("results", "utterances", u)
            out.append(_utterance(doc, path, need_obj(node, path)))
        return out

    def finish(self, out: dict[str, Any], parsed: Parsed,
               merged: dict[int, list[tuple[int, int]]]) -> None:
        """Nothing refers to word items by position."""


DEEPGRAM = DeepgramFormat()
