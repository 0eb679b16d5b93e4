"""Google Cloud Speech-to-Text: ``StreamingRecognizeResponse`` and the batch
(``LongRunningRecognize``/``Recognize``) response, as proto JSON (``MessageToJson``).

``{"results": [{"alternatives": [{"transcript", "confidence", "words": [{"word",
"startOffset"|"startTime", "endOffset"|"endTime", "confidence", "speakerLabel"}]}],
"isFinal", "stability", "resultEndOffset", "channelTag", "languageCode"}], ...}``;
the batch answer may come as the finished operation ``{"name", "done", "response":
{"@type", "results": [...]}}``. Times are proto Duration strings (``"1.500s"``), kept
as they are.
"""

from __future__ import annotations

from typing import Any

from redact_gw.asr_formats.base import Utterance, WordSpec, need_list, need_obj, need_text
from redact_gw.asr_formats.document import Parsed
from redact_gw.asr_formats.offsets import Remap
from redact_gw.jsonpaths import Path

WORDS = WordSpec(text=(("word",),), end=(("endOffset",), ("endTime",)),
                 confidence=(("confidence",),))
_SAFE = frozenset({
    "startOffset", "endOffset", "startTime", "endTime", "resultEndOffset",
    "resultEndTime", "languageCode", "speechEventType", "speechEventTime", "@type",
    "name", "speakerLabel", "requestId", "totalBilledTime", "totalBilledDuration",
    "progressPercent", "uri", "outputConfig", "lastUpdateTime",
})


def _seconds(value: Any) -> float | None:
    if isinstance(value, str) and value.endswith("s"):
        try:
            return float(value[:-1])
        except ValueError:
            return None
    return None


class GoogleFormat:
    """Google Cloud Speech-to-Text v1/v2 JSON."""

    name = "google"
    safe_keys = _SAFE

    def utterances(self, doc: dict[str, Any], *, live: bool) -> list[Utterance]:
        base: Path = ()
        if "response" in doc and not live:
            base = ("response",)
            need_obj(doc["response"], base)
        holder = doc["response"] if base else doc
        results = need_list(holder.get("results", []), (*base, "results"))
        out = []
        for i, result in enumerate(results):
            rp: Path = (*base, "results", i)
            result = need_obj(result, rp)
            alts = need_list(result.get("alternatives", []), (*rp, "alternatives"))
            tag = result.get("channelTag")
            channel = str(tag) if isinstance(tag, int) else "0"
            final = result.get("isFinal") is True or not live
            end = _seconds(result.get("resultEndOffset", result.get("resultEndTime")))
            for k, alt in enumerate(alts):
                ap: Path = (*rp, "alternatives", k)
                alt = need_obj(alt, ap)
                text = need_text(doc, (*ap, "transcript"), "transcript") if (
                    "transcript" in alt or "words" not in alt) else None
                words = (*ap, "words") if "words" in alt else None
                out.append(Utterance(
                    (*ap, "transcript") if text is not None else None, text or "", words,
                    WORDS if words else None, channel=channel, final=final, end=end,
                    alternative=k))
        return out

    def finish(self, out: dict[str, Any], parsed: Parsed, remap: Remap) -> None:
        """Nothing points into a transcript by character or word index (words carry
        times only)."""


GOOGLE = GoogleFormat()
