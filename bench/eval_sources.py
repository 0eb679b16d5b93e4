"""Labeled sentences this project did not write, split by template into dev and test.

Two sources, both from Microsoft's presidio-evaluator 0.3.2 (MIT; the fake people come
from FakeNameGenerator.com data, CC BY-SA 3.0 US; see ``bench/EVAL_NOTES.md``):

``generator``
    ``PresidioSentenceFaker`` with the package's own templates (``templates.txt``) and
    fake-value providers, seeded. Needs the optional extra: ``pip install -e '.[eval]'``.
``dataset``
    ``data/synth_dataset_v2.json`` (1,500 labeled sentences) from the package's source
    distribution, fetched through pip by ``make eval-data`` (``bench/eval_data.py``).

The split is by template, the same for both sources, and fixed: see ``stratified_split``
(a third of the templates of each rarest entity type are *test*, chosen by the SHA-256 of
the template's key: its placeholders and ASCII words). The generator also uses another
seed for test (``seed + 1``). Nothing here reads a detector.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import io
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.eval_metrics import LABELS

SPLITS = ("dev", "test")
SOURCES = ("generator", "dataset")
DATA_DIR = Path(__file__).resolve().parent / ".data"
DATASET_PATH = DATA_DIR / "presidio-evaluator-0.3.2" / "synth_dataset_v2.json"
#: Generator values that are artifacts, not personal data (a missing state is "nan").
JUNK_VALUES = {"nan", "none", ""}


@dataclass(frozen=True, slots=True)
class Gold:
    """One labeled value: character range and the source's label."""

    start: int
    end: int
    label: str


@dataclass(frozen=True, slots=True)
class Sample:
    """One labeled sentence."""

    text: str
    gold: tuple[Gold, ...]
    template: str


def template_key(masked: str) -> str:
    """The split key of a masked template: its placeholders and ASCII words, lower case.

    Punctuation and non-ASCII characters are dropped, so that the dataset's copies of a
    template (some with mis-decoded dashes) get the generator's key.
    """
    return " ".join(re.findall(r"{{\w+}}|[a-z0-9]+", masked.lower().replace("\\n", " ")))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def stratified_split(masked: Iterable[str]) -> dict[str, str]:
    """Template key -> ``"dev"`` or ``"test"``, a third of each group in test.

    A template's group is its rarest scored entity type (fewest templates have it), or
    none. Within a group, templates are ordered by the SHA-256 of their key and every
    third, starting with the second, is test: a type found in two templates or more has
    templates on both sides (a plain hash split left every IBAN and IP template in test).
    """
    keys = sorted({template_key(m) for m in masked})
    types = {k: {LABELS[p.upper()] for p in re.findall(r"{{(\w+)}}", k)
                 if p.upper() in LABELS} for k in keys}
    count = Counter(t for ts in types.values() for t in ts)
    groups: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        groups[min(types[k], key=lambda t: (count[t], t)) if types[k] else ""].append(k)
    out = {}
    for members in groups.values():
        for rank, k in enumerate(sorted(members, key=_digest)):
            out[k] = "test" if rank % 3 == 1 else "dev"
    return out


@functools.cache
def _generator_split() -> dict[str, str]:
    return stratified_split(_mapped(t) for t in _generator_lines())


def split_of(masked: str) -> str:
    """The split of a template: stratified over the generator's templates.

    The dataset's few templates that the generator does not have (8 of 206) fall back
    to the hash alone: test when the key's SHA-256 is divisible by 3.
    """
    key = template_key(masked)
    known = _generator_split().get(key)
    if known is not None:
        return known
    return "test" if int(_digest(key)[:8], 16) % 3 == 0 else "dev"


def _clean_gold(text: str, spans: list[tuple[int, int, str]]) -> tuple[Gold, ...]:
    out = []
    for start, end, label in spans:
        junk = text[start:end].strip().lower() in JUNK_VALUES
        out.append(Gold(start, end, "JUNK" if junk else label))
    return tuple(sorted(out, key=lambda g: g.start))


def unescape_newlines(text: str, spans: list[tuple[int, int, str]]
                      ) -> tuple[str, list[tuple[int, int, str]]]:
    """Turn the literal ``\\n`` some generator templates write into line breaks.

    The dataset has real line breaks where the templates have a backslash and an ``n``;
    the offsets of the gold spans move with the text.
    """
    chars: list[str] = []
    new_of: list[int] = []  # old offset -> new offset
    i = 0
    while i < len(text):
        new_of.append(len(chars))
        if text.startswith("\\n", i):
            new_of.append(len(chars))
            chars.append("\n")
            i += 2
        else:
            chars.append(text[i])
            i += 1
    new_of.append(len(chars))
    return "".join(chars), [(new_of[a], new_of[b], label) for a, b, label in spans]


def _generator_lines() -> list[str]:
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        presidio_templates_file_path,
    )
    lines = presidio_templates_file_path.read_text().splitlines()
    return [line.strip() for line in lines if line.strip()]


def _mapped(template: str) -> str:
    """A generator template masked as its sentences will be (output entity types)."""
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        PresidioSentenceFaker,
    )
    mapping = PresidioSentenceFaker.ENTITY_TYPE_MAPPING
    return re.sub(r"{{(.*?)}}", lambda m: "{{" + mapping.get(m[1].lower(), m[1].upper()) + "}}",
                  template.replace("<", "{{").replace(">", "}}"))


def broken(template: str) -> bool:
    """A template with a single-brace placeholder, which the generator leaves unfilled.

    ("The corner of {street_name} and {street_name}": its sentences would count as
    PII-free while meaning a street corner.)
    """
    return re.search(r"(?<!{){\w+}(?!})", template) is not None


def generator_templates(split: str) -> list[str]:
    """presidio-evaluator's templates in ``split``, as the generator reads them."""
    return [t for t in _generator_lines()
            if not broken(t) and split_of(_mapped(t)) == split]


#: Faker draws date-times up to "now"; the eval draws them up to this instant instead, so
#: that a seed gives the same sentences on any day (dates of birth still count from today).
FIXED_NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


def _fixed_now_dates() -> type:
    from faker.providers.date_time import Provider
    from faker.typing import DateParseType

    class FixedNowDates(Provider):
        def date_time(self, tzinfo: datetime.tzinfo | None = None,
                      end_datetime: DateParseType | None = None) -> datetime.datetime:
            return super().date_time(tzinfo, end_datetime or FIXED_NOW)
    return FixedNowDates


def generator_samples(split: str, n: int, seed: int) -> list[Sample]:
    """``n`` sentences from the generator's ``split`` templates, seeded."""
    from presidio_evaluator.data_generator.faker_extensions import HospitalProvider
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        PresidioSentenceFaker,
        presidio_additional_entity_providers,
    )

    # No template uses hospitals, and that provider queries Wikidata when loaded.
    providers = [p for p in presidio_additional_entity_providers if p is not HospitalProvider]
    providers.append(_fixed_now_dates())
    seed += split == "test"
    # The fake people (with or without a middle initial) are drawn with ``random`` before
    # the generator seeds it: seed it first, or every run gets other names.
    random.seed(seed)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05,
                                      sentence_templates=generator_templates(split),
                                      entity_providers=providers,
                                      random_seed=seed)
        results = faker.generate_new_fake_sentences(n)
    out = []
    for r in results:
        text, spans = unescape_newlines(
            r.full_text, [(s.start_position, s.end_position, s.entity_type) for s in r.spans])
        out.append(Sample(text, _clean_gold(text, spans), r.masked))
    return out


def dataset_samples(split: str, n: int, seed: int, path: Path = DATASET_PATH) -> list[Sample]:
    """Up to ``n`` sentences of the bundled dataset in ``split`` (a seeded sample)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make eval-data` first")
    records = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for rec in records:
        if broken(rec["masked"]) or split_of(rec["masked"]) != split:
            continue
        spans = [(s["start_position"], s["end_position"], s["entity_type"])
                 for s in rec["spans"]]
        out.append(Sample(rec["full_text"], _clean_gold(rec["full_text"], spans),
                          rec["masked"]))
    if n < len(out):
        out = random.Random(seed).sample(out, n)
    return out


def load(source: str, split: str, n: int, seed: int) -> list[Sample]:
    """Samples of ``source`` in ``split``."""
    if source == "generator":
        return generator_samples(split, n, seed)
    if source == "dataset":
        return dataset_samples(split, n, seed)
    raise ValueError(f"unknown source {source!r}")
