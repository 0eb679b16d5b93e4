"""ASR vendors' formats, live and post-call: Amazon Transcribe (and Call Analytics),
Google Cloud Speech-to-Text, Deepgram and AssemblyAI.

One module per vendor says where a document's transcripts and word items are
(``Format.utterances``); ``base`` and ``document`` align words with their transcript
and put redacted text back, merging the words of one value into one item that keeps
the value's first start and last end time; ``offsets`` moves the fields that point
into a transcript by character offset or word index. ``postcall`` serves ``/v1/redact`` and
``redact-gw redact --format``; ``redact_gw.live.vendor`` serves ``/v1/live?format=``.
"""

from __future__ import annotations

from redact_gw.asr_formats.assemblyai import ASSEMBLYAI
from redact_gw.asr_formats.base import bad_format
from redact_gw.asr_formats.deepgram import DEEPGRAM
from redact_gw.asr_formats.document import Format
from redact_gw.asr_formats.google import GOOGLE
from redact_gw.asr_formats.transcribe import CALL_ANALYTICS, TRANSCRIBE

FORMATS: dict[str, Format] = {f.name: f for f in (
    TRANSCRIBE, CALL_ANALYTICS, GOOGLE, DEEPGRAM, ASSEMBLYAI)}


def get_format(name: object) -> Format:
    """The format called ``name``; a 400 ``unknown_format`` listing the names otherwise."""
    if isinstance(name, str) and name in FORMATS:
        return FORMATS[name]
    raise bad_format("format must be one of " + ", ".join(FORMATS), "format",
                     code="unknown_format")


__all__ = ["FORMATS", "Format", "get_format"]
