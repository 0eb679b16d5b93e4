"""What every ASR vendor format shares: utterances in a vendor document, word items
aligned to their transcript, and the rewrite that puts redacted text back.

A vendor module turns a document (a streaming message or a post-call file) into
``Utterance`` objects: where the transcript string is, where its word items are, and
how a word item is read (``WordSpec``). Redaction is then vendor-neutral:

* ``align`` finds each word item inside the transcript (case-insensitive, in order,
  only spaces and punctuation between words); a word that is not there is a 400
  ``words_mismatch``, never a word left raw.
* ``rewrite_words`` replaces the words one value touches by ONE item: a copy of the
  first word with the replacement as its text, the last word's end time, the minimum
  confidence, and flags such as ``Stable`` true only if they were for every word.
  Words no value touches are left as they are (the same objects, byte for byte).
* Strings elsewhere in the document (vendor entities, sentences, summaries, unknown
  fields) are ``Extra`` strings: a piece of an utterance's transcript is rewritten
  consistently with it; anything else is scanned on its own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redact_gw.errors import BadRequest
from redact_gw.jsonpaths import Path, format_path, get_at, set_at, walk_strings

#: (start, end, replacement) in an utterance's original transcript: a token, a mask.
Value = tuple[int, int, str]


def bad_format(message: str, path: Path | str = "(transcript)",
               code: str = "bad_asr_format") -> BadRequest:
    """A 400 naming the offending place in the vendor document."""
    where = path if isinstance(path, str) else (format_path(path) or "(transcript)")
    return BadRequest(message, code=code, details={"field": where})


def need_text(doc: Any, path: Path, what: str) -> str:
    """The string at ``path`` (a 400 naming it when absent or not a string)."""
    node = _get(doc, path)
    if not isinstance(node, str):
        raise bad_format(f"{what} must be a string", path)
    return node


def need_list(value: Any, path: Path) -> list[Any]:
    """``value`` if it is a list, else a 400 naming ``path``."""
    if not isinstance(value, list):
        raise bad_format("must be a list", path)
    return value


def need_obj(value: Any, path: Path) -> dict[str, Any]:
    """``value`` if it is an object, else a 400 naming ``path``."""
    if not isinstance(value, dict):
        raise bad_format("must be an object", path)
    return value


def as_number(value: Any) -> float | None:
    """A JSON number as a float (``None`` for anything else, booleans included)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


@dataclass(frozen=True, slots=True)
class WordSpec:
    """How a vendor's word item is read and merged.

    Attributes:
        text: Paths (inside a word) of its text; the first present one is aligned with
            the transcript, the others (e.g. Deepgram's bare ``word``) get the bare
            replacement.
        end: Paths copied from the last word of a merged item.
        confidence: Paths whose minimum the merged item carries.
        all_true: Paths of booleans that are true in the merged item only if they were
            in every word (``Stable``, ``word_is_final``).
        tentative: Path of a boolean that is false for a word not yet in the transcript
            (AssemblyAI's ``word_is_final``): such trailing words are held in partials.
    """

    text: tuple[Path, ...]
    end: tuple[Path, ...] = ()
    confidence: tuple[Path, ...] = ()
    all_true: tuple[Path, ...] = ()
    tentative: Path | None = None


@dataclass(slots=True)
class Utterance:
    """One transcript string in a vendor document, with its word items if any.

    ``text_path`` is ``None`` for a word list whose text is only its words (joined by
    ``words_text``): the words are redacted, no transcript string is written.
    """

    text_path: Path | None
    text: str = field(repr=False)
    words_path: Path | None = None
    spec: WordSpec | None = None
    speaker: str | None = None
    #: Live: the session's segment id, and whether this is a final result.
    segment_id: str = ""
    channel: str = "0"
    final: bool = True
    start: float | None = None
    end: float | None = None
    #: Which alternative (hypothesis) of its result this is; live sessions follow the
    #: first and redact the others alongside it (``redact_gw.live.vendor``).
    alternative: int = 0
    #: Per word: (start, end) in ``text``; filled by ``align``.
    offsets: list[tuple[int, int]] = field(default_factory=list)
    #: Index of the first tentative word past the transcript (held in partials).
    tail_from: int | None = None


@dataclass(frozen=True, slots=True)
class Extra:
    """A string outside the transcripts and words that may carry speech.

    ``inside``: (utterance index, start, end) when the string is a piece of that
    utterance's transcript, else ``None`` (it is scanned on its own).
    """

    path: Path
    text: str = field(repr=False)
    inside: tuple[int, int, int] | None = None


def _get(word: Any, path: Path) -> Any:
    try:
        return get_at(word, path)
    except (KeyError, IndexError, TypeError):
        return None


def _clean_gap(gap: str) -> bool:
    return not any(c.isalnum() for c in gap)


def _texts(utt: Utterance, words: Sequence[Any], i: int) -> list[str]:
    assert utt.spec is not None and utt.words_path is not None
    word = words[i]
    if not isinstance(word, dict):
        raise bad_format("a word item must be an object", (*utt.words_path, i))
    texts = [t for t in (_get(word, p) for p in utt.spec.text) if isinstance(t, str)]
    if not texts:
        raise bad_format("a word item has no text", (*utt.words_path, i))
    return texts


def words_text(utt: Utterance, words: Sequence[Any]) -> str:
    """The text of a word list: words joined by spaces, punctuation attached."""
    out = ""
    for i in range(len(words)):
        t = _texts(utt, words, i)[0]
        out += t if (not out or _clean_gap(t)) else " " + t
    return out


def align(utt: Utterance, words: Sequence[Any]) -> None:
    """Fill ``utt.offsets``: where each word sits in ``utt.text``.

    Raises:
        BadRequest: ``words_mismatch`` when a word is not the next piece of the text
            (trailing tentative words excepted: they are held, see ``WordSpec``).
    """
    assert utt.spec is not None and utt.words_path is not None
    lowered = utt.text.lower()
    cursor = 0
    offsets: list[tuple[int, int]] = []
    for i in range(len(words)):
        for t in _texts(utt, words, i):
            at = lowered.find(t.lower(), cursor) if t else cursor
            if at != -1 and _clean_gap(utt.text[cursor:at]):
                offsets.append((at, at + len(t)))
                cursor = at + len(t)
                break
        else:
            tentative = utt.spec.tentative
            if (not utt.final and tentative is not None
                    and all(_get(w, tentative) is False for w in words[i:])):
                utt.tail_from = i
                break
            raise bad_format("the words of a result do not match its transcript",
                             (*utt.words_path, i), code="words_mismatch")
    utt.offsets = offsets


def redact_piece(text: str, values: Sequence[Value], start: int, end: int) -> str:
    """``text[start:end]`` with every value touching it replaced whole."""
    out: list[str] = []
    cursor = start
    for s, e, rep in sorted(values):
        if e <= start or s >= end:
            continue
        if s < cursor and (out or cursor != start):
            continue  # overlaps a value already replaced
        # a value the piece starts inside of is replaced whole too: never its tail
        out.append(text[cursor:max(s, cursor)])
        out.append(rep)
        cursor = e
    if cursor < end:
        out.append(text[cursor:end])
    return "".join(out)


def _groups(offsets: Sequence[tuple[int, int]], values: Sequence[Value]
            ) -> list[tuple[int, int]]:
    """Runs of word indices ``[first, last]`` touched by one value or by values
    sharing a word."""
    runs: list[tuple[int, int]] = []
    for s, e, _ in sorted(values):
        hit = [i for i, (ws, we) in enumerate(offsets) if (ws < e and s < we)
               or (ws == we and s <= ws < e)]
        if not hit:
            continue
        first, last = hit[0], hit[-1]
        if runs and first <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(last, runs[-1][1]))
        else:
            runs.append((first, last))
    return runs


def _number(value: Any) -> float | None:
    """A confidence as a number: a JSON number, or a numeric string (Transcribe batch)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def merge_items(items: Sequence[dict[str, Any]], spec: WordSpec, primary: str,
                bare: str) -> dict[str, Any]:
    """One item for ``items``: the first's copy with the replacement texts, the last
    end, the minimum confidence, flags true only if true for all."""
    merged = copy.deepcopy(items[0])
    first_text = True
    for p in spec.text:
        if _get(merged, p) is not None:
            set_at(merged, p, primary if first_text else bare)
            first_text = False
    for p in spec.end:
        value = _get(items[-1], p)
        if value is not None and _get(merged, p) is not None:
            set_at(merged, p, copy.deepcopy(value))
    for p in spec.confidence:
        found = [c for c in (_get(w, p) for w in items) if _number(c) is not None]
        if found and _get(merged, p) is not None:
            set_at(merged, p, min(found, key=lambda c: _number(c) or 0.0))
    for p in spec.all_true:
        flags = [_get(w, p) for w in items]
        if isinstance(_get(merged, p), bool):
            set_at(merged, p, all(f is True for f in flags))
    return merged


def rewrite_words(utt: Utterance, words: Sequence[dict[str, Any]], values: Sequence[Value],
                  *, keep_until: int | None = None, tail: str | None = None
                  ) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """The word list with each value's words merged into one item.

    Args:
        utt: The aligned utterance.
        words: Its word items (not changed).
        values: Replacements in ``utt.text`` coordinates.
        keep_until: Live partials: words ending after this offset are held back:
            dropped, or merged into one ``tail`` item when ``tail`` is given.

    Returns:
        The new list, and per new item the original index range it stands for.
    """
    assert utt.spec is not None
    offsets = utt.offsets
    limit = len(offsets)
    if keep_until is not None:
        limit = next((i for i, (_, e) in enumerate(offsets) if e > keep_until), limit)
    runs = {first: last for first, last in _groups(offsets[:limit], values)}
    out: list[dict[str, Any]] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < limit:
        last = runs.get(i)
        if last is None:
            out.append(words[i])
            spans.append((i, i))
            i += 1
            continue
        primary = redact_piece(utt.text, values, offsets[i][0], offsets[last][1])
        inside = [rep for s, e, rep in sorted(values)
                  if s < offsets[last][1] and offsets[i][0] < e]
        out.append(merge_items(words[i:last + 1], utt.spec, primary, " ".join(inside)))
        spans.append((i, last))
        i = last + 1
    if tail is not None and limit < len(words):
        out.append(merge_items(words[limit:], utt.spec, tail, tail))
        spans.append((limit, len(words) - 1))
    return out, spans


def find_extras(doc: Any, utterances: Sequence[Utterance], handled: Iterable[Path],
                safe_keys: frozenset[str],
                is_handled: Callable[[Path], bool] | None = None) -> list[Extra]:
    """Every other string of ``doc`` that may carry speech (not under a key of
    ``safe_keys``, not a path ``handled``): located inside an utterance when it is a
    piece of its transcript."""
    done = set(handled)
    extras = []
    for path, text in walk_strings(doc):
        if path in done or (is_handled is not None and is_handled(path)):
            continue
        if any(isinstance(p, str) and p in safe_keys for p in path) or not text.strip():
            continue
        inside = None
        for n, utt in enumerate(utterances):
            at = utt.text.find(text)
            if at != -1:
                inside = (n, at, at + len(text))
                break
        extras.append(Extra(path, text, inside))
    return extras


def under(prefixes: Sequence[Path]) -> Callable[[Path], bool]:
    """A predicate: the path is at or below one of ``prefixes``."""
    def check(path: Path) -> bool:
        return any(path[:len(p)] == p for p in prefixes)
    return check
