"""Phone numbers: the extension after a number belongs to it.

"415-555-0182 x4431", "(415) 555-0182 ext. 22", "three two nine six ... x twenty two
seventy five" and "... extension four ten" are one phone number each: the extension
is part of what identifies the line, and leaving it in clear beside a token tells the
upstream service which desk was called. A PHONE_NUMBER candidate, from Presidio or
from the spoken-number recognizer, grows over an extension marker ("x", "ext",
"extension", "#") and the short number right after it, written or spoken.
"""

from __future__ import annotations

import dataclasses
import re

from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.view import SpokenView

#: The marker between a number and its extension, from the end of the number up to
#: the extension's first character.
_EXTENSION_RE = re.compile(
    r"[ \t]*(?:extension|extn|ext|x|\#)\.?[ \t]*(?:number[ \t]+|no\.?[ \t]*)?[:#]?[ \t]*",
    re.IGNORECASE)
#: An extension has at most this many digits.
MAX_EXTENSION = 6
#: A phone number of 7+ digits with an extension after it is this sure.
EXTENDED_SCORE = 0.9


def extension_ends(view: SpokenView) -> dict[int, int]:
    """For every all-digit piece of a run (written or spoken) of at most
    ``MAX_EXTENSION`` digits: its original start -> its original end."""
    return {start: end for run in view.runs for chars, start, end in run.chunks()
            if chars.isdigit() and len(chars) <= MAX_EXTENSION}


def has_extension(view: SpokenView, end: int) -> bool:
    """Whether an extension ("x 22", "extension four ten") follows offset ``end``."""
    m = _EXTENSION_RE.match(view.original, end)
    return m is not None and m.end() in extension_ends(view)


def with_extension(view: SpokenView, cand: Candidate) -> Candidate:
    """``cand`` grown over the extension right after it, when it is a phone number.

    Args:
        view: The view of the candidate's segment.
        cand: Any candidate; only a PHONE_NUMBER ever changes.
    """
    if cand.entity_type != E.PHONE_NUMBER:
        return cand
    m = _EXTENSION_RE.match(view.original, cand.end)
    if m is None:
        return cand
    end = extension_ends(view).get(m.end())
    if end is None:
        return cand
    why = f"{cand.explanation}, with its extension" if cand.explanation else "with extension"
    digits = sum(ch.isdigit() for ch in view.original[cand.start:cand.end])
    spoken = len(cand.normalized or "")
    # a full number followed by "x 22" is a phone line, whatever else its digits suggest
    score = max(cand.score, EXTENDED_SCORE) if max(digits, spoken) >= 7 else cand.score
    return dataclasses.replace(cand, end=end, score=score, explanation=why)
