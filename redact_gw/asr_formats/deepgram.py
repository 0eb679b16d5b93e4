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
from redact_gw.asr_formats.offsets import Remap, remap_words
from redact_gw.jsonpaths import Path

WORDS = WordSpec(text=(("punctuated_word",), ("word",)), end=(("end",),),
                 confidence=(("confidence",),))
_SAFE = frozenset({
    "type", "request_id", "sha256", "created", "model_uuid", "models", "model_info",
    "name", "version", "arch", "language", "languages", "detected_language", "id",
    "transaction_key", "warnings", "extra", "tags",
})


def _alternatives(doc: dict[str, Any], base: Path, holder: Any,
                  **fields: Any) -> list[Utterance]:
    holder = need_obj(holder, base)
    alts = need_list(holder.get("alternatives", []), (*base, "alternatives"))
    out = []
    for k, alt in enumerate(alts):
        ap: Path = (*base, "alternatives", k)
        alt = need_obj(alt, ap)
        out.append(_utterance(doc, ap, alt, alternative=k, **fields))
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
        return _alternatives(doc, ("channel",), doc["channel"],
                             channel=channel, final=doc.get("is_final") is True or not live,
                             start=start, end=end)

    def _prerecorded(self, doc: dict[str, Any]) -> list[Utterance]:
        results = need_obj(doc["results"], ("results",))
        out = []
        channels = need_list(results.get("channels", []), ("results", "channels"))
        for c, chan in enumerate(channels):
            out += _alternatives(doc, ("results", "channels", c), chan)
        utterances = need_list(results.get("utterances", []), ("results", "utterances"))
        for u, node in enumerate(utterances):
            path: Path = ("results", "utterances", u)
            out.append(_utterance(doc, path, need_obj(node, path)))
        return out

    def finish(self, out: dict[str, Any], parsed: Parsed, remap: Remap) -> None:
        """Word indices (``start_word``/``end_word``, end exclusive) move to the merged
        word items: live ``entities`` (of the first alternative), an alternative's
        ``entities``/``summaries``/``topics``, and ``results.{topics,intents,
        sentiments}.segments`` (of the first channel's first alternative; with more
        channels the indices are dropped once words were merged, since the schema does
        not say which channel they count in). Paragraphs' ``num_words`` are recounted."""
        if "channel" in out and "results" not in out:
            first = remap.index_of(("channel", "alternatives", 0, "words"), words=True)
            remap_words(out.get("entities"), first, remap)
            return
        results = out.get("results")
        if not isinstance(results, dict):
            return
        channels = results.get("channels")
        for c, chan in enumerate(channels if isinstance(channels, list) else []):
            alts = chan.get("alternatives") if isinstance(chan, dict) else None
            for k, alt in enumerate(alts if isinstance(alts, list) else []):
                if not isinstance(alt, dict):
                    continue
                n = remap.index_of(("results", "channels", c, "alternatives", k, "words"),
                                   words=True)
                for key in ("entities", "summaries", "topics"):
                    remap_words(alt.get(key), n, remap)
                _num_words(alt.get("paragraphs"), n, remap)
        n = remap.index_of(("results", "channels", 0, "alternatives", 0, "words"),
                           words=True)
        if isinstance(channels, list) and len(channels) > 1 and remap.changed():
            n = None
        for key in ("topics", "intents", "sentiments"):
            section = results.get(key)
            if isinstance(section, dict):
                remap_words(section.get("segments"), n, remap)


def _num_words(paragraphs: Any, n: int | None, remap: Remap) -> None:
    """``paragraphs.paragraphs[].num_words`` counted again over the merged items (a
    value spanning two paragraphs counts in the first); dropped when the counts did
    not add up to the alternative's words."""
    items = paragraphs.get("paragraphs") if isinstance(paragraphs, dict) else None
    if not isinstance(items, list) or not items:
        return
    counts = [p.get("num_words") if isinstance(p, dict) else None for p in items]
    spans = remap.merged.get(n) if n is not None else None
    whole = [c for c in counts if isinstance(c, int) and not isinstance(c, bool) and c >= 0]
    if spans is not None and n is not None and len(whole) == len(counts) and sum(
            whole) == len(remap.utterances[n].offsets) and remap.shown_until is None:
        start = 0
        for p, count in zip(items, whole, strict=True):
            new = sum(1 for first, _ in spans if start <= first < start + count)
            if new != count:
                p["num_words"] = new
            start += count
        return
    if n is not None and not remap.words_kept(n):
        for p in items:
            if isinstance(p, dict):
                p.pop("num_words", None)


DEEPGRAM = DeepgramFormat()
