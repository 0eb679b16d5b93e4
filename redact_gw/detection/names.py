"""Names and places that NER misses in lowercase speech.

* Introduced names: "my name is rebecca jones", "am i speaking with mr john smith",
  "this is sarah speaking"; weak triggers ("it's", "i'm") count only when the
  conversation is about names.
* Spelled names: "s m i t h" (a letter run in the normalized view).
* Introduced places: "i live in springfield".
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterator, Sequence

from spacy.lang.en.stop_words import STOP_WORDS

from redact_gw.detection import entities as E
from redact_gw.detection.candidates import Candidate
from redact_gw.detection.context import TranscriptContext
from redact_gw.detection.labels import label_ranges
from redact_gw.detection.lexicon import (
    LOCATION_TRIGGERS,
    MONTHS,
    NAME_CONTEXT,
    NAME_PARTICLES,
    NAME_TRIGGERS,
    NOT_NAMES,
    ORDINALS,
    RELATION_WORDS,
    TEENS,
    TENS,
    UNITS,
    WEAK_LOCATION_TRIGGERS,
    WEAK_NAME_TRIGGERS,
)
from redact_gw.detection.turns import Turn
from redact_gw.detection.view import SpokenView, Tok

NAME_RECOGNIZER = "TranscriptNameRecognizer"
ANSWER_RECOGNIZER = "AnswerRecognizer"
SPELLED_RECOGNIZER = "SpelledNameRecognizer"
LOCATION_RECOGNIZER = "TranscriptLocationRecognizer"
HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mister", "missus", "dr", "doctor"})
_AFTER_NAME = frozenset({"speaking", "here", "from", "calling"})
_WORD_ENDINGS = ("ly", "ing", "ed", "ous", "ful", "ble", "tion", "ness", "ment", "ive", "est")
_ASKS: dict[str, frozenset[str]] = {
    E.PERSON: frozenset({"name", "speaking", "who"}),
    E.LOCATION: frozenset({"city", "town", "where", "located", "country", "state"}),
}
_ANSWER_FILLERS = frozenset({
    "yeah", "yes", "yep", "sure", "okay", "ok", "it's", "its", "it", "is", "um", "uh",
    "well", "so", "my", "name", "this", "i'm", "im", "i", "am", "the", "city", "of", "oh",
    "hi", "hello", "that's", "thats", "right", "alright", "absolutely", "certainly",
})
_NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS)


def _trigger_table(triggers: Sequence[str]) -> dict[str, list[tuple[str, ...]]]:
    table: dict[str, list[tuple[str, ...]]] = {}
    for trig in sorted(triggers, key=lambda t: -len(t.split())):
        words = tuple(trig.split())
        table.setdefault(words[-1], []).append(words)
    return table


_NAME_TABLE = _trigger_table(NAME_TRIGGERS)
_LOCATION_TABLE = _trigger_table(LOCATION_TRIGGERS)


def _could_be_name(word: str) -> bool:
    return (word.isalpha() and len(word) > 1 and word not in STOP_WORDS
            and word not in NOT_NAMES and word not in _NUMBER_WORDS
            and word not in MONTHS and word not in ORDINALS)


def _tight(text: str, a: Tok, b: Tok) -> bool:
    """Whether ``b`` follows ``a`` with only spaces between (no comma, no line break)."""
    return text[a.end:b.start].strip(" \t") == ""


def _triggers_at(toks: Sequence[Tok], text: str,
                 table: dict[str, list[tuple[str, ...]]]) -> Iterator[tuple[int, str]]:
    """Yield (index after the trigger, trigger) for every trigger occurrence."""
    for i, tok in enumerate(toks):
        for words in table.get(tok.lower, ()):
            first = i - len(words) + 1
            if first < 0:
                continue
            span = toks[first:i + 1]
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if tuple(t.lower for t in span) == words and all(
                    _tight(text, x, y) for x, y in itertools.pairwise(span)) and (
                    nxt is None or _tight(text, toks[i], nxt)):
                yield i + 1, " ".join(words)
                break


def _take_words(toks: Sequence[Tok], text: str, k: int, limit: int = 3) -> tuple[int, int]:
    """Index range ``[k, j)`` of up to ``limit`` name-like words starting at ``k``."""
    while k < len(toks) and toks[k].lower in HONORIFICS and (
            k + 1 < len(toks) and _tight(text, toks[k], toks[k + 1])):
        k += 1
    j = k
    counted = 0
    while j < len(toks) and counted < limit and _could_be_name(toks[j].lower):
        if j > k and not _tight(text, toks[j - 1], toks[j]):
            break
        counted += toks[j].lower not in NAME_PARTICLES
        j += 1
    while j > k and toks[j - 1].lower in NAME_PARTICLES:
        j -= 1
    return k, j


#: Triggers after which any word is taken as a name ("my name is will").
_NAMING_TRIGGERS = frozenset(t for t in NAME_TRIGGERS if "name" in t or t in (
    "call me", "account holder is", "spelled", "spell"))


def introduced_names(seg: int, text: str, toks: Sequence[Tok], ctx: TranscriptContext,
                     name_like: Callable[[str], bool] | None = None) -> list[Candidate]:
    """Names after "my name is", "speaking with" and similar triggers.

    With ``name_like``, words after a trigger that does not say "name" ("speaking to",
    "it's") must hold a capital or a word ``name_like`` accepts: "speaking to bots"
    and "it's extend validity" are no names.
    """
    out: list[Candidate] = []
    for k, trigger in _triggers_at(toks, text, _NAME_TABLE):
        a, b = _take_words(toks, text, k)
        if a == b:
            continue
        if name_like is not None and trigger not in _NAMING_TRIGGERS and not any(
                t.text[:1].isupper() or name_like(t.lower) for t in toks[a:b]):
            continue
        score = 0.8
        if trigger in WEAK_NAME_TRIGGERS:
            score = _weak_trigger_score(seg, toks, a, b, ctx, trigger)
            if not score:
                continue
        out.append(Candidate(seg, toks[a].start, toks[b - 1].end, E.PERSON, score,
                             NAME_RECOGNIZER, None, f"name trigger '{trigger}'"))
    return out


def _weak_trigger_score(seg: int, toks: Sequence[Tok], a: int, b: int,
                        ctx: TranscriptContext, trigger: str) -> float:
    """Score of words after "this is", "it's", "i'm": sure only when names are the topic.

    A bare "is" counts only right after a name word ("the name on the account is").
    """
    if trigger == "is":
        near = ctx.mentions(seg, toks[a].start, frozenset({"name", "surname", "holder"}), 6)
        return 0.75 if near else 0.0
    follows = toks[b].lower if b < len(toks) else ""
    if ctx.mentions(seg, toks[a].start, NAME_CONTEXT, 14) or follows in _AFTER_NAME:
        return 0.75
    if all(t.text[:1].isupper() for t in toks[a:b]) and not toks[a].text.isupper():
        return 0.6
    return _looks_like_name(toks[a:b], 0.5, 0.3)


def _looks_like_name(words: Sequence[Tok], sure: float, unsure: float) -> float:
    """``sure`` for two or more words none of which has a common-word ending."""
    lowered = [t.lower for t in words]
    if len(lowered) >= 2 and not any(w.endswith(_WORD_ENDINGS) for w in lowered):
        return sure
    return unsure


#: A relation word after "my" ("my wife", "my brother"), in any case.
RELATION_RE = re.compile(r"\bmy\s+(" + "|".join(sorted(RELATION_WORDS)) + r")\b",
                         re.IGNORECASE)
#: Penn Treebank tags of proper nouns, and of common nouns (a proper noun followed by
#: one names a thing: "my wife amazon account", "my son xbox subscription").
_PROPER = frozenset({"NNP", "NNPS"})
_COMMON = frozenset({"NN", "NNS"})
#: Brands and things that speech recognition often glues to "my wife" when it drops
#: the possessive ("my wife visa card was declined").
_THINGS = frozenset({
    "card", "account", "visa", "mastercard", "amex", "discover", "debit", "credit",
    "iphone", "ipad", "android", "phone", "cell", "laptop", "computer", "tablet", "xbox",
    "playstation", "amazon", "netflix", "spotify", "hulu", "paypal", "venmo", "zelle",
    "apple", "google", "gmail", "yahoo", "outlook", "facebook", "instagram", "uber",
    "lyft", "car", "truck", "checking", "savings", "insurance", "policy", "plan",
    "subscription", "password", "email", "number", "prime", "plus", "live", "pro",
})


def related_names(seg: int, offset: int, words: Sequence[tuple[int, int, str, str]],
                  relations: Sequence[tuple[int, str]]) -> list[Candidate]:
    """Names right after "my wife", "my brother" and the like: up to three words the
    tagger calls proper nouns ("my wife priscilla called", not "my wife called"), unless
    they name a thing (a brand, a card, or a proper noun followed by a common noun).

    Args:
        seg: Segment index.
        offset: Offset of the line in the segment.
        words: The line's tokens as (start, end, text, tag), offsets in the line.
        relations: (end offset, relation word) of each "my <relation>" in the line.
    """
    out: list[Candidate] = []
    for end, relation in relations:
        k = next((i for i, w in enumerate(words) if w[0] >= end), len(words))
        j = k
        while j < len(words) and j - k < 3 and words[j][3] in _PROPER and (
                _could_be_name(words[j][2].lower())):
            j += 1
        named = [w[2].lower() for w in words[k:j]]
        thing = any(w in _THINGS for w in named) or (j < len(words) and words[j][3] in _COMMON)
        if j > k and not thing:
            out.append(Candidate(seg, offset + words[k][0], offset + words[j - 1][1],
                                 E.PERSON, 0.7, NAME_RECOGNIZER, None,
                                 f"after 'my {relation.lower()}', tagged a proper noun"))
    return out


def answered(turn: Turn, text: str, toks: Sequence[Tok]) -> list[Candidate]:
    """The answer to "can i have your name" / "what city": first words of the next turn.

    Args:
        turn: The answering turn (its ``question`` is the other speaker's last line).
        text: The turn's segment text.
        toks: The segment's tokens.
    """
    asked_for = [(entity, next((w for w in reversed(turn.question) if w in asks), ""))
                 for entity, asks in _ASKS.items()]
    if not any(asked for _, asked in asked_for):
        return []  # most turns answer no question about a name or a place
    k = _first_answer_word(text, toks, turn)
    if k is None:
        return []
    out: list[Candidate] = []
    for entity, asked in asked_for:
        if not asked:
            continue
        a, b = _take_words(toks, text, k)
        if a < b and toks[b - 1].end <= turn.end:
            out.append(Candidate(turn.seg, toks[a].start, toks[b - 1].end, entity, 0.7,
                                 ANSWER_RECOGNIZER, None, f"answer to a question ('{asked}')"))
    return out


def _first_answer_word(text: str, toks: Sequence[Tok], turn: Turn) -> int | None:
    """Index of the turn's first token after its label and words such as "yeah it's"."""
    labels = label_ranges(text)
    k = bisect.bisect_left([t.start for t in toks], turn.start)
    while k < len(toks) and any(la <= toks[k].start < lb for la, lb in labels):
        k += 1
    first = k
    while k < len(toks) and k - first < 4 and toks[k].lower in _ANSWER_FILLERS:
        k += 1
    return k if k < len(toks) and toks[k].start < turn.end else None


def introduced_places(seg: int, text: str, toks: Sequence[Tok]) -> list[Candidate]:
    """Places after "i live in", "moved to" and similar triggers."""
    out: list[Candidate] = []
    for k, trigger in _triggers_at(toks, text, _LOCATION_TABLE):
        a, b = _take_words(toks, text, k, limit=3)
        if a == b:
            continue
        score = 0.7
        if trigger in WEAK_LOCATION_TRIGGERS:
            ending = any(t.lower.endswith(_WORD_ENDINGS) for t in toks[a:b])
            score = 0.3 if ending else 0.5
        out.append(Candidate(seg, toks[a].start, toks[b - 1].end, E.LOCATION, score,
                             LOCATION_RECOGNIZER, None, f"place trigger '{trigger}'"))
    return out


def spelled_names(seg: int, view: SpokenView, ctx: TranscriptContext) -> list[Candidate]:
    """Letter runs ("s m i t h") as names: likelier when names were just asked for."""
    out: list[Candidate] = []
    for run in view.runs:
        if not run.chars.isalpha():
            continue  # letters mixed with digits: an identifier, not a name
        for chars, start, end in run.chunks():
            if len(chars) < 2 or len(run.groups) < 2:
                continue
            about = ctx.mentions(seg, start, NAME_CONTEXT, 14)
            if len(chars) < 3 and not about:
                continue
            score = 0.8 if about else 0.6
            why = f"spelled letters, context '{about}'" if about else "spelled letters"
            out.append(Candidate(seg, start, end, E.PERSON, score, SPELLED_RECOGNIZER,
                                 chars, why))
            out.extend(_spelled_out(seg, view, run.tok_first, chars))
    return out


def _spelled_out(seg: int, view: SpokenView, first: int, word: str) -> list[Candidate]:
    """The spoken name a spelling confirms ("yolanda villanueva, v i l l a ..."), with
    the name-like word before it (a first name)."""
    toks = view.tokens
    for k in range(first - 1, max(-1, first - 4), -1):
        if toks[k].lower.replace(" ", "") != word:
            continue
        a = k - 1 if k > 0 and _could_be_name(toks[k - 1].lower) and _tight(
            view.original, toks[k - 1], toks[k]) else k
        return [Candidate(seg, toks[a].start, toks[k].end, E.PERSON, 0.8,
                          SPELLED_RECOGNIZER, None, "name confirmed by its spelling")]
    return []
