"""Walking the strings of a JSON document and selecting them with JSONPath-like selectors.

Pure functions, no I/O. A *path* is a tuple of keys and list indexes from the root to
a value. A selector names a set of paths:

=================  ===========================================================
``$``              the root (every string in the document)
``.name``          child key ``name`` (also ``['name']`` for odd keys)
``[3]``            list index 3
``[*]`` / ``.*``   any child (key or index)
``..name``         key ``name`` at any depth below (``..*``: everything)
=================  ===========================================================

A selector that matches an object or list selects every string below it, so
``$.turns`` and ``$.turns[*].text`` both work, and ``$..*`` means "all strings".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

PathPart = str | int
Path = tuple[PathPart, ...]
ANY = "*"

_STEP_RE = re.compile(
    r"(?P<desc>\.\.)?(?:\.?(?P<name>[A-Za-z_$][\w$-]*|\*)"
    r"|\[(?P<index>\d+)\]|\[(?P<star>\*)\]|\['(?P<quoted>[^']*)'\])")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a selector: a child or any-depth descendant matching ``part``."""

    kind: Literal["child", "descend"]
    part: PathPart


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed selector; ``matches(path)`` is true for paths at or below its targets."""

    text: str
    steps: tuple[Step, ...]

    def matches(self, path: Path) -> bool:
        """True when ``path`` is selected (itself or through an ancestor)."""
        return _match(self.steps, 0, path, 0)


def parse_selector(text: str) -> Selector:
    """Parse a selector such as ``$.messages[*].content`` or ``$..text``.

    Raises:
        ValueError: the text is not a selector (the message says where it stops).
    """
    if not text.startswith("$"):
        raise ValueError(f"selector {text!r} must start with '$'")
    steps: list[Step] = []
    pos = 1
    while pos < len(text):
        m = _STEP_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"selector {text!r} is not understood at offset {pos}")
        if m.group("name") is not None and not m.group("desc") and text[pos] != ".":
            raise ValueError(f"selector {text!r} needs '.' before a key at offset {pos}")
        kind: Literal["child", "descend"] = "descend" if m.group("desc") else "child"
        steps.append(Step(kind, _part_of(m)))
        pos = m.end()
    return Selector(text, tuple(steps))


def _part_of(m: re.Match[str]) -> PathPart:
    if m.group("index") is not None:
        return int(m.group("index"))
    if m.group("quoted") is not None:
        return m.group("quoted")
    return m.group("name") or ANY


def _part_ok(want: PathPart, got: PathPart) -> bool:
    if want == ANY:
        return True
    return type(want) is type(got) and want == got


def _match(steps: Sequence[Step], i: int, path: Path, j: int) -> bool:
    if i == len(steps):
        return True
    step = steps[i]
    if step.kind == "child":
        return j < len(path) and _part_ok(step.part, path[j]) and _match(steps, i + 1, path,
                                                                          j + 1)
    return any(_part_ok(step.part, path[k]) and _match(steps, i + 1, path, k + 1)
               for k in range(j, len(path)))


class SelectorSet(tuple[Selector, ...]):
    """Selectors used together, remembering the answer for each path seen.

    A chat request's protocol selectors (forty of them, some with ``..``) are asked
    about every string of every request, and the paths repeat from request to request
    (``messages[3].content``): the cache makes that a dict lookup. It is bounded.
    """

    _cache: dict[Path, bool]
    MAX_CACHED = 65_536

    def __new__(cls, selectors: Iterable[Selector]) -> SelectorSet:
        """Freeze ``selectors``."""
        self = super().__new__(cls, selectors)
        self._cache = {}
        return self

    def matches(self, path: Path) -> bool:
        """True when one of the selectors selects ``path``."""
        hit = self._cache.get(path)
        if hit is None:
            hit = any(s.matches(path) for s in self)
            if len(self._cache) < self.MAX_CACHED:
                self._cache[path] = hit
        return hit


def parse_selectors(texts: Iterable[str]) -> SelectorSet:
    """Parse several selectors (see ``parse_selector``)."""
    return SelectorSet(parse_selector(t) for t in texts)


def any_match(selectors: Iterable[Selector], path: Path) -> bool:
    """True when one of the selectors selects ``path``."""
    if isinstance(selectors, SelectorSet):
        return selectors.matches(path)
    return any(s.matches(path) for s in selectors)


def walk_strings(doc: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every string value in ``doc`` with its path, in document order (keys are skipped)."""
    if isinstance(doc, str):
        yield path, doc
    elif isinstance(doc, dict):
        for key, value in doc.items():
            yield from walk_strings(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from walk_strings(value, (*path, i))


def get_at(doc: Any, path: Path) -> Any:
    """The value at ``path``; ``KeyError``/``IndexError`` when absent."""
    node = doc
    for part in path:
        node = node[part]
    return node


def set_at(doc: Any, path: Path, value: Any) -> None:
    """Replace the value at ``path`` (its parents must exist)."""
    if not path:
        raise ValueError("cannot replace the root in place")
    get_at(doc, path[:-1])[path[-1]] = value


def format_path(path: Path) -> str:
    """``("messages", 2, "content")`` -> ``"messages[2].content"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# -- every leaf that can carry text: strings, numbers, object keys --------------------------
#: Numbers with fewer digits than this are counts, limits and settings, not identifiers.
MIN_SCANNED_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Leaf:
    """A text-carrying leaf: a string, a number (as digits) or an object key."""

    path: Path
    text: str
    kind: Literal["string", "number", "key"] = "string"


def walk_leaves(doc: Any, select: Callable[[Path], bool],
                select_key: Callable[[Path], bool],
                select_number: Callable[[Path], bool] | None = None) -> list[Leaf]:
    """Selected strings, long numbers (rendered as digits) and object keys of ``doc``.

    ``select(path)`` picks strings; ``select_number(path)`` (default ``select``) picks
    numbers; ``select_key(path)`` picks the key that ends ``path`` (its value's path).
    """
    pick_number = select if select_number is None else select_number
    out: list[Leaf] = []
    stack: list[tuple[Path, Any]] = [((), doc)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if node.strip() and select(path):
                out.append(Leaf(path, node))
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int | float):
            digits = json.dumps(node)
            if sum(c.isdigit() for c in digits) >= MIN_SCANNED_DIGITS and pick_number(path):
                out.append(Leaf(path, digits, "number"))
        elif isinstance(node, dict):
            for key, value in reversed(node.items()):
                child = (*path, key)
                if key.strip() and select_key(child):
                    out.append(Leaf(child, key, "key"))
                stack.append((child, value))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(node))))
    return out


def apply_leaves(doc: Any, leaves: Sequence[Leaf], texts: Sequence[str]) -> None:
    """Write redacted texts back: strings replaced, a changed number becomes its
    redacted string, a changed key is renamed in place (its object keeps its order)."""
    renames: list[tuple[Path, str]] = []
    for leaf, text in zip(leaves, texts, strict=True):
        if leaf.kind == "key":
            if text != leaf.text:
                renames.append((leaf.path, text))
        elif leaf.kind == "string" or text != leaf.text:
            set_at(doc, leaf.path, text)
    for path, new in sorted(renames, key=lambda r: -len(r[0])):  # deepest first
        parent = get_at(doc, path[:-1])
        items = [(new if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
