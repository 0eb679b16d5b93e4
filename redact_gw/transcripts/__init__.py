"""Transcript shapes: parse a request body into segments, and put tokenized text back.

Three shapes are accepted; the structure comes back untouched but for the spans:

* plain text: ``{"text": "..."}``
* speaker turns: ``{"turns": [{"speaker": "agent", "text": "...", ...}, ...]}``
* OpenAI chat messages: ``{"messages": [{"role": ..., "content": "..." | [parts]}]}``

Extra fields, in a turn or at top level, are preserved as they are.
"""

from redact_gw.transcripts.shapes import SegmentRef, Transcript, parse_transcript

__all__ = ["SegmentRef", "Transcript", "parse_transcript"]
