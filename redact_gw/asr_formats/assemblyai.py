"""AssemblyAI: streaming v3 ``Turn``, v2 real-time ``PartialTranscript`` /
``FinalTranscript``, and the post-call transcript JSON.

* v3: ``{"type": "Turn", "turn_order", "turn_is_formatted", "end_of_turn",
  "transcript", "utterance", "end_of_turn_confidence", "words": [{"text", "start",
  "end", "confidence", "word_is_final"}]}``: ``transcript`` holds the final words
  only; trailing words not final yet are held back in what the gateway sends.
  ``Begin``, ``SpeechStarted``, ``Termination`` carry no transcript.
* v2: ``{"message_type": "PartialTranscript" | "FinalTranscript", "audio_start",
  "audio_end", "confidence", "text", "words": [{"text", "start", "end",
  "confidence"}], "created"}``.
* Post-call: ``{"id", "status", "text", "words": [{"text", "start", "end",
  "confidence", "speaker"}], "utterances": [{"speaker", "text", "words", ...}],
  "entities", "sentiment_analysis_results", "chapters", "summary", ...}``, and the
  ``unredacted_text``/``_words``/``_utterances`` AssemblyAI's own PII redaction adds.
Times are milliseconds.
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
from redact_gw.asr_formats.offsets import Remap
from redact_gw.jsonpaths import Path

WORDS = WordSpec(text=(("text",),), end=(("end",),), confidence=(("confidence",),),
                 all_true=(("word_is_final",),), tentative=("word_is_final",))
_SAFE = frozenset({
    "id", "type", "message_type", "status", "created", "language_code", "speaker",
    "entity_type", "audio_url", "acoustic_model", "language_model", "speech_model",
    "webhook_url", "webhook_auth_header_name", "session_id", "expires_at", "sentiment",
    "format_text", "redact_pii_sub", "speech_models", "domain", "label", "channel",
    "boost_param", "custom_topics", "error", "speaker_labels", "punctuate",
})


def _ms(value: Any) -> float | None:
    n = as_number(value)
    return n / 1000 if n is not None else None


def _speaker(node: dict[str, Any]) -> str | None:
    s = node.get("speaker")
    return f"speaker {s}" if isinstance(s, str) else None


class AssemblyAIFormat:
    """AssemblyAI streaming (v3 and v2) and post-call JSON."""

    name = "assemblyai"
    safe_keys = _SAFE

    def utterances(self, doc: dict[str, Any], *, live: bool) -> list[Utterance]:
        words = ("words",) if "words" in doc else None
        spec = WORDS if words else None
        if doc.get("type") == "Turn":
            order = doc.get("turn_order")
            final = doc.get("end_of_turn") is True
            formatted = doc.get("turn_is_formatted") is True
            sid = f"{order}{'f' if final and formatted else ''}" if isinstance(
                order, int) else ""
            return [Utterance(("transcript",), need_text(doc, ("transcript",), "transcript"),
                              words, spec, segment_id=sid, final=final or not live,
                              start=_ms(_first(doc, "start")), end=_ms(_last(doc, "end")))]
        kind = doc.get("message_type")
        if kind in ("PartialTranscript", "FinalTranscript"):
            return [Utterance(("text",), need_text(doc, ("text",), "text"), words, spec,
                              final=kind == "FinalTranscript" or not live,
                              start=_ms(doc.get("audio_start")),
                              end=_ms(doc.get("audio_end")))]
        if live or "text" not in doc:
            return []  # Begin, SessionBegins, Termination...: no transcript
        out = []
        # ``unredacted_*``: the transcript as spoken when AssemblyAI's own PII redaction
        # was on; its words carry a value split over items, so they are words too.
        for prefix in ("", "unredacted_"):
            if prefix and f"{prefix}text" not in doc and f"{prefix}words" not in doc:
                continue
            text: Path = (f"{prefix}text",)
            tw = (f"{prefix}words",) if f"{prefix}words" in doc else None
            if f"{prefix}text" in doc:
                out.append(Utterance(text, need_text(doc, text, "text"), tw,
                                     WORDS if tw else None))
            elif tw is not None:
                out.append(Utterance(None, "", tw, WORDS))
            utterances = doc.get(f"{prefix}utterances")
            for u, node in enumerate(need_list(utterances, (f"{prefix}utterances",))
                                     if utterances is not None else []):
                path: Path = (f"{prefix}utterances", u)
                node = need_obj(node, path)
                uw = (*path, "words") if "words" in node else None
                out.append(Utterance((*path, "text"), need_text(doc, (*path, "text"),
                                                                "text"),
                                     uw, WORDS if uw else None, speaker=_speaker(node)))
        return out

    def finish(self, out: dict[str, Any], parsed: Parsed, remap: Remap) -> None:
        """Nothing points into a transcript by character or word index: entities,
        highlights, sentiments and chapters carry times (unchanged) and text (rewritten
        with the transcript or scanned on its own)."""


def _first(doc: dict[str, Any], key: str) -> Any:
    words = doc.get("words")
    return words[0].get(key) if isinstance(words, list) and words and isinstance(
        words[0], dict) else None


def _last(doc: dict[str, Any], key: str) -> Any:
    words = doc.get("words")
    return words[-1].get(key) if isinstance(words, list) and words and isinstance(
        words[-1], dict) else None


ASSEMBLYAI = AssemblyAIFormat()
