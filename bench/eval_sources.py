"""Labeled sentences this project did not write, split by template into dev and test.

Two sources, both from Microsoft's presidio-evaluator 0.3.2 (MIT; the fake people come
from FakeNameGenerator.com data, CC BY-SA 3.0 US; see ``bench/EVAL_NOTES.md``):

``generator``
    ``PresidioSentenceFaker`` with the package's own templates (``templates.txt``) and
    fake-value providers, seeded. Needs the optional extra: ``pip install -e '.[eval]'``.
``dataset``
    ``data/synth_dataset_v2.json`` (1,500 labeled sentences) from the package's source
    distribution, fetched through pip by ``make eval-data`` (``bench/eval_data.py``).

The split is by template, the same for both sources: a template's key is its masked
text (placeholders mapped to the output entity types; only placeholders and ASCII
words kept, lower case), and
the template is in *test* when the first 8 hex digits of the key's SHA-256, as an
integer, are divisible by 3; otherwise in *dev*. The generator also uses another seed
for test (``seed + 1``). Nothing here reads a detector.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

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


def split_of(masked: str) -> str:
    """``"test"`` for a third of the templates (by hash), ``"dev"`` for the rest."""
    digest = hashlib.sha256(template_key(masked).encode()).hexdigest()
    return "test" if int(digest[:8], 16) % 3 == 0 else "dev"


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


def generator_templates(split: str) -> list[str]:
    """presidio-evaluator's templates in ``split``, as the generator reads them."""
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        PresidioSentenceFaker,
        presidio_templates_file_path,
    )
    mapping = PresidioSentenceFaker.ENTITY_TYPE_MAPPING
    out = []
    for line in presidio_templates_file_path.read_text().splitlines():
        template = line.strip()
        if not template:
            continue
        masked = re.sub(r"{{(.*?)}}", lambda m: "{{" + mapping.get(
            m[1].lower(), m[1].upper()) + "}}",
                        template.replace("<", "{{").replace(">", "}}"))
        if split_of(masked) == split:
            out.append(template)
    return out


def generator_samples(split: str, n: int, seed: int) -> list[Sample]:
    """``n`` sentences from the generator's ``split`` templates, seeded."""
    from presidio_evaluator.data_generator.faker_extensions import HospitalProvider
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        PresidioSentenceFaker,
        presidio_additional_entity_providers,
    )

    # No template uses hospitals, and that provider queries Wikidata when loaded.
    providers = [p for p in presidio_additional_entity_providers if p is not HospitalProvider]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05,
                                      sentence_templates=generator_templates(split),
                                      entity_providers=providers,
                                      random_seed=seed + (split == "test"))
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
        if split_of(rec["masked"]) != split:
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
