"""Plain value types shared by every layer.

All are frozen and slotted: they are passed between the event loop, the detection
executor and the vault thread, and must never be mutated in flight. None of them
prints a raw value in its repr.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

#: Wall-clock seconds since the epoch; injected so retention and audit are testable.
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of text that detection looks at (a turn, a message, a field).

    Attributes:
        text: The text exactly as the caller sent it.
        speaker: Speaker or chat role when known ("agent", "customer", "user"...).
    """

    text: str = field(repr=False)
    speaker: str | None = None
    #: spaCy's entities in this text, kept from a detection that already read it: a
    #: live call's earlier finals, given again as context (``detection.ner_memo``).
    ner: SegmentNer | None = field(default=None, repr=False, compare=False)

    def __reduce__(self) -> tuple[type[Segment], tuple[str, str | None, SegmentNer | None]]:
        return Segment, (self.text, self.speaker, self.ner)  # see ``Span.__reduce__``


#: One line's named entities: a digest of the text spaCy read (no text) and its
#: entities as (start, end, label), offsets in the line.
NerLine = tuple[bytes, tuple[tuple[int, int, str], ...]]


@dataclass(frozen=True, slots=True)
class SegmentNer:
    """spaCy's named entities in each non-blank line of one segment, as the detection
    that ran spaCy on it found them; ``model`` names that pipeline (any other ignores
    them). Offsets, labels and digests only: no transcript text.
    """

    model: str
    lines: tuple[NerLine, ...]


@dataclass(frozen=True, slots=True)
class Span:
    """A detected piece of personal data inside one segment.

    Attributes:
        start: Offset of the first character in the segment's original text.
        end: Offset one past the last character.
        entity_type: Presidio-style entity name, e.g. ``PHONE_NUMBER``.
        score: Detection confidence in [0, 1].
        recognizer: Name of the recognizer that raised it.
        normalized: Canonical value when the recognizer knows it (spoken digits
            turned into digits, spoken emails into an address); ``None`` lets the
            redaction layer normalize the raw text.
        explanation: Human-readable reason (pattern, context words); never the value.
    """

    start: int
    end: int
    entity_type: str
    score: float
    recognizer: str
    normalized: str | None = field(default=None, repr=False)
    explanation: str | None = None

    def __reduce__(self) -> tuple[type[Span], tuple[int, int, str, float, str, str | None,
                                                    str | None]]:
        """Pickle as a constructor call: every span comes back from a detection worker
        pickled, and the ``__setstate__`` dataclasses give a slotted class walks
        ``fields()`` in Python for each one (twice the cost to load, four times to dump)."""
        return Span, (self.start, self.end, self.entity_type, self.score, self.recognizer,
                      self.normalized, self.explanation)


@dataclass(frozen=True, slots=True)
class KnownValue:
    """A value already tokenized in a record, handed to detection so recurrences match."""

    entity_type: str
    value: str = field(repr=False)

    def __reduce__(self) -> tuple[type[KnownValue], tuple[str, str]]:
        return KnownValue, (self.entity_type, self.value)  # see ``Span.__reduce__``


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    Attributes:
        name: Stable principal name (never the API key).
        tenant: Tenant whose records the principal may touch.
        roles: Role names granted in config.
        permissions: Permission names the roles grant (resolved at authentication).
    """

    name: str
    tenant: str
    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RecordInfo:
    """Metadata of a record: never a value."""

    tenant: str
    record_id: str
    subject_id: str | None
    created_at: datetime
    counts: dict[str, int]
    no_retention: bool = False
    legal_hold: bool = False


@dataclass(frozen=True, slots=True)
class Revealed:
    """One token resolved from the vault.

    ``sent_by`` is the principal that first sent the value: its proxied answers may
    restore the token; nobody else's may.
    """

    token: str
    entity_type: str
    value: str = field(repr=False)
    sent_by: str | None = None


@dataclass(frozen=True, slots=True)
class PendingValue:
    """A detected value waiting for its token.

    Attributes:
        entity_type: Entity type of the value.
        key: Normalized form; equal keys of one type share a token in a record.
        original: The characters as they stood in the transcript (what is sealed).
    """

    entity_type: str
    key: str = field(repr=False)
    original: str = field(repr=False)
