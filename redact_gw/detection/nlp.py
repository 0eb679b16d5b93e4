"""spaCy for detection: only the components detection uses, batched, bounded memory.

Detection uses two things from spaCy on every line: tokens (for Presidio's context
words) and named entities; and part-of-speech tags on the rare line that asks (a name
after "my wife"). ``TranscriptNlpEngine`` loads the configured model and removes every
component the NER does not need (in ``en_core_web_sm`` that is the shared tok2vec,
the tagger, the parser, the attribute ruler and the lemmatizer: about half of the
pipeline's cost). A component stays when the NER listens to it (a ``tok2vec`` or
``transformer`` whose ``listening_components`` name it), so ``en_core_web_lg`` and
transformer pipelines keep working.

The tagger and its encoder are kept aside and run on demand (``tag``). Without a
lemmatizer a token's lemma is empty; Presidio matches context words by
substring against lemmas, so the lower-cased token stands in ("cards" still
contains "card").

Detection runs ``nlp.pipe`` with a real batch size (Presidio's ``process_batch``
defaults to 1, which forfeits spaCy's batching), and ``memory_zone()`` frees the strings a batch
added to the vocabulary: a long-running worker otherwise grows with every new name,
number and address it has seen.

The zone also means every word a batch reads is made again in the next one: its
lexeme (the word's attributes the NER reads) and its tokenization are freed with the
batch, and spaCy's tokenizer caches nothing inside a zone. ``warm_vocabulary``, run
once by a worker when it starts (outside any zone), makes them permanent for the most
common English words (``common_words``: a static public word list, nothing a request
brought): a word's lexeme and tokens are the same whenever they are made, so the
results are too; the tokenizer takes about a quarter less time.
"""

from __future__ import annotations

import contextlib
import string
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import spacy
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.language import Language
from spacy.tokens import Doc

from redact_gw.detection import matmul as _matmul


def components_for_ner(nlp: Language) -> set[str]:
    """Names of the pipeline components the ``ner`` component needs (itself included).

    Returns every component when the pipeline has no ``ner``: nothing is removed from
    a pipeline whose entity recognition is shaped differently.
    """
    if "ner" not in nlp.pipe_names:
        return set(nlp.pipe_names)
    keep = {"ner"}
    for name in nlp.pipe_names:
        listeners = getattr(nlp.get_pipe(name), "listening_components", None)
        if listeners and "ner" in listeners:
            keep.add(name)
    return keep


#: Most common English words made permanent by ``warm_vocabulary`` (wordfreq's small
#: list has about 29,000): with their capitalized forms, some 50,000 lexemes, about
#: 15 MB per worker and a second of its start. They hold 86% of the tokens of short
#: transcript lines; 100,000 words would hold 89% for 75 MB and four seconds.
WARM_WORDS = 25_000


def common_words(count: int = WARM_WORDS) -> list[str]:
    """The ``count`` most common English words (wordfreq), each lower-case and
    capitalized (truecased speech and written names), then the ASCII punctuation marks
    and the numbers up to 999 as words of their own."""
    from wordfreq import get_frequency_list

    ranked = [str(w) for bucket in get_frequency_list("en", "small") for w in bucket][:count]
    get_frequency_list.cache_clear()  # the list is read once: do not keep it
    words = [*ranked, *(w[:1].upper() + w[1:] for w in ranked if w[:1].islower()),
             *string.punctuation, *(str(n) for n in range(1000))]
    return list(dict.fromkeys(words))  # wordfreq writes digits as 0: "0", "00" twice


def _tagging_steps(spare: dict[str, Any]) -> list[Callable[[Doc], Doc]]:
    """The removed components needed to tag a ``Doc``: the encoders the tagger
    listens to, then the tagger (empty when there is no tagger)."""
    if "tagger" not in spare:
        return []
    encoders = [component for name, component in spare.items()
                if "tagger" in (getattr(component, "listening_components", None) or ())]
    return [*encoders, spare["tagger"]]


def base_verbs(nlp: Language) -> frozenset[str]:
    """The base forms the model's rule lemmatizer lists as verbs (its ``lemma_index``,
    from WordNet: "split", "add"), or none when the model has no such table."""
    if "lemmatizer" not in nlp.pipe_names:
        return frozenset()
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
    if lookups is None or not lookups.has_table("lemma_index"):
        return frozenset()
    return frozenset(lookups.get_table("lemma_index").get("verb", ()))


class TranscriptNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine with an NER-only pipeline and batched ``pipe`` calls."""

    def __init__(self, model: str, language: str, ner_config: NerModelConfiguration,
                 batch_size: int = 64, matmul: _matmul.Matmul = "numpy") -> None:
        """Configure (nothing is loaded until ``load``).

        Args:
            model: Installed spaCy model name or path.
            language: Language code.
            ner_config: Label mapping and ignored labels.
            batch_size: Texts per ``nlp.pipe`` minibatch.
            matmul: Which BLAS the neural layers multiply with (``detection/matmul.py``).
        """
        super().__init__(models=[{"lang_code": language, "model_name": model}],
                         ner_model_configuration=ner_config)
        self._model = model
        self._language = language
        self.batch_size = batch_size
        self.matmul = matmul
        self.removed: list[str] = []
        #: English verbs in their base form (``base_verbs``), read before the
        #: lemmatizer is removed.
        self.verbs: frozenset[str] = frozenset()
        self._tagging: list[Callable[[Doc], Doc]] = []
        # spaCy's memory zone frees every string added while it is open, whichever
        # thread added it: two detections on one loaded model must not overlap.
        self._zone_lock = threading.RLock()

    def load(self) -> None:
        """Load the model and remove the components detection does not use."""
        nlp = spacy.load(self._model)
        _matmul.apply(nlp, self.matmul)  # the tagger kept aside below included
        self.verbs = base_verbs(nlp)
        keep = components_for_ner(nlp)
        self.removed = [name for name in nlp.pipe_names if name not in keep]
        spare = {name: nlp.remove_pipe(name)[1] for name in self.removed}
        self._tagging = _tagging_steps(spare)
        if "ner" in nlp.pipe_names:  # unmapped labels are ignored, not warned about per line
            config = self.ner_model_configuration
            mapping = config.model_to_presidio_entity_mapping or {}
            labels: tuple[str, ...] = getattr(nlp.get_pipe("ner"), "labels", ())
            ignored = set(config.labels_to_ignore or [])
            config.labels_to_ignore = sorted(ignored | {x for x in labels if x not in mapping})
        self.nlp = {self._language: nlp}  # type: ignore[assignment]

    @property
    def pipeline(self) -> Language:
        """The loaded spaCy pipeline."""
        assert self.nlp is not None, "call load() first"
        nlp: Language = self.nlp[self._language]
        return nlp

    @contextlib.contextmanager
    def memory_zone(self) -> Iterator[None]:
        """Strings added to the vocabulary inside the zone are freed when it ends.

        No ``Doc`` or ``Token`` made inside may be used after it. Zones on one engine
        are serialized: a worker process runs one at a time anyway, but a detector
        shared between threads (an in-process gateway restarted while its last
        detection still runs, tests sharing one loaded model) would otherwise free
        the strings of another thread's documents (spaCy ``KeyError`` E018).
        """
        with self._zone_lock, self.pipeline.memory_zone():
            yield

    def warm_vocabulary(self, words: Sequence[str], chunk: int = 5_000) -> int:
        """Tokenize ``words`` outside any memory zone, so that their lexemes and their
        tokenization stay for the life of the process (see the module docstring);
        returns how many lexemes that added. Call once, at start: never with text a
        request brought."""
        nlp = self.pipeline
        with self._zone_lock:
            if getattr(nlp.vocab, "in_memory_zone", False):  # freed at the zone's end
                return 0
            before = len(nlp.vocab)
            for start in range(0, len(words), chunk):
                nlp.tokenizer(" ".join(words[start:start + chunk]))
            return len(nlp.vocab) - before

    @property
    def can_tag(self) -> bool:
        """Whether ``tag`` can set part-of-speech tags (the model has a tagger)."""
        return bool(self._tagging)

    def tag(self, doc: Doc) -> bool:
        """Set ``token.tag_`` on one processed line, on demand (about a millisecond).

        The tagger is kept out of the pipeline (most lines never need it) and run
        here, after the encoder it listens to, only for the few lines a recognizer
        asks about. Returns ``False`` when the model has no tagger.
        """
        for step in self._tagging:
            step(doc)
        return bool(self._tagging)

    def artifacts(self, doc: Doc) -> NlpArtifacts:
        """Presidio's view of one processed line (call once per ``Doc``)."""
        return self._doc_to_nlp_artifact(doc, self._language)

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        entities, scores = self._get_updated_entities(
            self._get_entities(doc), self._get_scores_for_entities(doc))
        return LineArtifacts(doc, entities, scores, self, language)


class LineArtifacts(NlpArtifacts):
    """Presidio's ``NlpArtifacts`` of one line, its keywords computed on first use.

    ``NlpArtifacts`` looks every lemma up in the vocabulary (stop word, punctuation)
    when it is made; only the context enhancer reads the result, and only for a
    result whose recognizer has context words: most analyzed lines (NER hits, numbers
    no pattern matches) never need it. The lemmas and token offsets themselves are
    read by the same enhancer only, and are made on first use too. A lemma is the
    lower-cased token when the pipeline has no lemmatizer (see the module docstring).
    """

    def __init__(self, doc: Doc, entities: Any, scores: list[float],
                 engine: SpacyNlpEngine, language: str) -> None:
        # NlpArtifacts.__init__ is not called: it would compute the keywords now
        self.entities = entities
        self.tokens = doc
        self.nlp_engine = engine
        self.scores = scores if scores else [0.85] * len(entities)
        self._language = language
        self._keywords: list[str] | None = None
        self._lemmas: list[str] | None = None
        self._indices: list[int] | None = None

    @property
    def lemmas(self) -> list[str]:
        """Each token's lemma, or the lower-cased token without a lemmatizer."""
        if self._lemmas is None:
            lemmas = [t.lemma_ for t in self.tokens]
            self._lemmas = ([t.lemma_ or t.lower_ for t in self.tokens]
                            if any(not lemma for lemma in lemmas) else lemmas)
        return self._lemmas

    @lemmas.setter
    def lemmas(self, value: list[str]) -> None:
        self._lemmas = value

    @property
    def tokens_indices(self) -> list[int]:
        """Each token's character offset in the line."""
        if self._indices is None:
            self._indices = [t.idx for t in self.tokens]
        return self._indices

    @tokens_indices.setter
    def tokens_indices(self, value: list[int]) -> None:
        self._indices = value

    @property
    def keywords(self) -> list[str]:
        """The lemmas that are no stop word or punctuation (Presidio's rule)."""
        if self._keywords is None:
            self._keywords = self.set_keywords(self.nlp_engine, self.lemmas, self._language)
        return self._keywords

    @keywords.setter
    def keywords(self, value: list[str]) -> None:
        self._keywords = value
