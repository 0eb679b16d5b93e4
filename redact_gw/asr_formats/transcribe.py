"""Amazon Transcribe: streaming ``TranscriptEvent``, Call Analytics ``UtteranceEvent``,
and the post-call (batch) JSON of both.

* Streaming: ``{"Transcript": {"Results": [{"ResultId", "StartTime", "EndTime",
  "IsPartial", "ChannelId", "Alternatives": [{"Transcript", "Items": [{"StartTime",
  "EndTime", "Type", "Content", "Confidence", "Stable", "Speaker", ...}],
  "Entities": [...]}]}]}}`` (optionally wrapped as ``{"TranscriptEvent": ...}``).
* Call Analytics: ``{"UtteranceId", "ParticipantRole", "IsPartial", "Transcript",
  "BeginOffsetMillis", "EndOffsetMillis", "Items": [...], "Entities": [...]}``
  (optionally wrapped as ``{"UtteranceEvent": ...}``); other events (``CategoryEvent``)
  carry no transcript. Post-call Call Analytics: ``{"Transcript": [{"Id",
  "ParticipantRole", "Content", ...}], ...}``.
* Batch: ``{"results": {"transcripts": [{"transcript"}], "items": [{"id", "start_time",
  "end_time", "type", "alternatives": [{"confidence", "content"}]}],
  "audio_segments": [{"transcript", "items": [ids]}], "channel_labels": ...}}``.

Entities' ``Content`` are pieces of the transcript: rewritten with it.
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
from redact_gw.asr_formats.offsets import Remap, remap_chars
from redact_gw.jsonpaths import Path

STREAM_WORDS = WordSpec(text=(("Content",),), end=(("EndTime",), ("EndOffsetMillis",)),
                        confidence=(("Confidence",),), all_true=(("Stable",),))
BATCH_WORDS = WordSpec(text=(("alternatives", 0, "content"),), end=(("end_time",),),
                       confidence=(("alternatives", 0, "confidence"),))
_SAFE = frozenset({
    "ResultId", "ChannelId", "Type", "Category", "LanguageCode", "UtteranceId",
    "ParticipantRole", "Sentiment", "Speaker", "Id", "jobName", "accountId", "status",
    "type", "start_time", "end_time", "speaker_label", "channel_label", "JobName",
    "AccountId", "JobStatus", "LanguageIdentification", "MatchedCategories",
    "MatchedDetails", "id", "language_code", "language_identification",
})




class _Base:
    name = "transcribe"
    safe_keys = _SAFE

    def finish(self, out: dict[str, Any], parsed: Parsed, remap: Remap) -> None:
        """Batch ``audio_segments[].items`` name item ids: a merged item keeps the id
        of its first word, the others' ids go. Call Analytics ``CharacterOffsets``
        move with the redacted text (``_char_offsets``)."""
        _char_offsets(out, remap)
        merged = remap.merged
        results = out.get("results")
        if not isinstance(results, dict) or not isinstance(results.get("audio_segments"),
                                                              list):
            return
        gone: set[Any] = set()
        for n, ranges in merged.items():
            utt = parsed.utterances[n]
            if utt.words_path != ("results", "items"):
                continue
            words = parsed.words(utt)
            for first, last in ranges:
                gone.update(w.get("id") for w in words[first + 1:last + 1]
                            if isinstance(w.get("id"), int | str))
        for seg in results["audio_segments"]:
            if isinstance(seg, dict) and isinstance(seg.get("items"), list):
                seg["items"] = [i for i in seg["items"]
                                if not (isinstance(i, int | str) and i in gone)]


#: Call Analytics lists whose entries hold ``CharacterOffsets`` into their turn's text.
_CHAR_LISTS = ("IssuesDetected", "ActionItemsDetected", "OutcomesDetected")


def _char_offsets(out: dict[str, Any], remap: Remap) -> None:
    """Call Analytics ``{IssuesDetected,ActionItemsDetected,OutcomesDetected}[]
    .CharacterOffsets{Begin,End}`` (streaming ``UtteranceEvent`` and post-call turns)
    moved to the redacted ``Transcript``/``Content``; an entry that cannot be moved
    (bad offsets, or past what a partial shows) is dropped."""
    holders: list[tuple[Any, Path]] = []
    root: Path = ("UtteranceEvent",) if isinstance(out.get("UtteranceEvent"), dict) else ()
    event = out.get("UtteranceEvent") if root else out
    if isinstance(event, dict) and isinstance(event.get("Transcript"), str):
        holders.append((event, (*root, "Transcript")))
    elif isinstance(event, dict) and isinstance(event.get("Transcript"), list):
        holders += [(turn, ("Transcript", i, "Content"))
                    for i, turn in enumerate(event["Transcript"]) if isinstance(turn, dict)]
    for holder, text_path in holders:
        n = remap.index_of(text_path)
        for key in _CHAR_LISTS:
            if key in holder:
                remap_chars(holder[key], n, remap)


class TranscribeFormat(_Base):
    """Amazon Transcribe streaming and batch."""

    def utterances(self, doc: dict[str, Any], *, live: bool) -> list[Utterance]:
        if "results" in doc and not live:
            return _batch(doc)
        root: Path = ("TranscriptEvent",) if "TranscriptEvent" in doc else ()
        event = need_obj(doc.get("TranscriptEvent") if root else doc, root)
        if "Transcript" not in event:
            return []  # another event (e.g. an exception event): no transcript
        base: Path = (*root, "Transcript")
        transcript = need_obj(event["Transcript"], base)
        results = need_list(transcript.get("Results", []), (*base, "Results"))
        out = []
        for i, result in enumerate(results):
            rp: Path = (*base, "Results", i)
            result = need_obj(result, rp)
            alts = need_list(result.get("Alternatives", []), (*rp, "Alternatives"))
            final = result.get("IsPartial") is False or (
                not live and result.get("IsPartial") is None)
            channel = result.get("ChannelId")
            rid = result.get("ResultId")
            for k, alt in enumerate(alts):
                ap: Path = (*rp, "Alternatives", k)
                alt = need_obj(alt, ap)
                text = need_text(doc, (*ap, "Transcript"), "Transcript")
                words = (*ap, "Items") if "Items" in alt else None
                out.append(Utterance(
                    (*ap, "Transcript"), text, words, STREAM_WORDS if words else None,
                    speaker=channel if isinstance(channel, str) else None,
                    segment_id=rid if isinstance(rid, str) else "",
                    channel=channel if isinstance(channel, str) else "0", final=final,
                    start=as_number(result.get("StartTime")),
                    end=as_number(result.get("EndTime")), alternative=k))
        return out


def _batch(doc: dict[str, Any]) -> list[Utterance]:
    results = need_obj(doc["results"], ("results",))
    texts = need_list(results.get("transcripts", []), ("results", "transcripts"))
    out = []
    items = "items" in results
    for i in range(len(texts)):
        path: Path = ("results", "transcripts", i, "transcript")
        words = ("results", "items") if items and i == 0 else None
        out.append(Utterance(path, need_text(doc, path, "transcript"), words,
                             BATCH_WORDS if words else None))
    segments = need_list(results.get("audio_segments", []), ("results", "audio_segments"))
    for i, seg in enumerate(segments):
        path = ("results", "audio_segments", i, "transcript")
        seg = need_obj(seg, path[:-1])
        speaker = seg.get("speaker_label")
        out.append(Utterance(path, need_text(doc, path, "transcript"),
                             speaker=speaker if isinstance(speaker, str) else None))
    labels = results.get("channel_labels")
    if isinstance(labels, dict):
        for c, chan in enumerate(need_list(labels.get("channels", []),
                                       ("results", "channel_labels", "channels"))):
            cp: Path = ("results", "channel_labels", "channels", c)
            if isinstance(chan, dict) and "items" in chan:
                out.append(Utterance(None, "", (*cp, "items"), BATCH_WORDS))
    return out


class CallAnalyticsFormat(_Base):
    """Amazon Transcribe Call Analytics, streaming and post-call."""

    name = "transcribe-call-analytics"

    def utterances(self, doc: dict[str, Any], *, live: bool) -> list[Utterance]:
        if isinstance(doc.get("Transcript"), list) and not live:
            out = []
            for i, turn in enumerate(doc["Transcript"]):
                path: Path = ("Transcript", i, "Content")
                turn = need_obj(turn, path[:-1])
                role = turn.get("ParticipantRole")
                out.append(Utterance(path, need_text(doc, path, "Content"),
                                     speaker=role if isinstance(role, str) else None))
            return out
        root: Path = ("UtteranceEvent",) if "UtteranceEvent" in doc else ()
        event = need_obj(doc.get("UtteranceEvent") if root else doc, root)
        if "Transcript" not in event:
            return []  # CategoryEvent and the like: no transcript
        role = event.get("ParticipantRole")
        uid = event.get("UtteranceId")
        words = (*root, "Items") if "Items" in event else None
        begin, end = as_number(event.get("BeginOffsetMillis")), as_number(
            event.get("EndOffsetMillis"))
        return [Utterance(
            (*root, "Transcript"), need_text(doc, (*root, "Transcript"), "Transcript"), words,
            STREAM_WORDS if words else None,
            speaker=role if isinstance(role, str) else None,
            segment_id=uid if isinstance(uid, str) else "",
            channel=role if isinstance(role, str) else "0",
            final=event.get("IsPartial") is not True,
            start=begin / 1000 if begin is not None else None,
            end=end / 1000 if end is not None else None)]


TRANSCRIBE = TranscribeFormat()
CALL_ANALYTICS = CallAnalyticsFormat()
