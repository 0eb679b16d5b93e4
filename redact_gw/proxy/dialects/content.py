"""Request content that detection cannot read as it is: URLs, ``data:`` URIs, binaries.

A URL is scanned as its decoded parts (``?name=Maria%20Garcia`` is a name), a text
``data:`` URI as its text, each encoded back after tokenization. Audio, files, base64
images and documents and ``data:`` URIs that do not decode as text cannot be redacted:
``unredactable`` names them so the request can be refused.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import (
    parse_qsl,
    quote,
    unquote,
    unquote_to_bytes,
    urlencode,
    urlsplit,
    urlunsplit,
)

from redact_gw.jsonpaths import Path, set_at, walk_strings

_DATA_URI = re.compile(r"\s*data:(?P<type>[^;,]*)(?P<params>[^,]*?)(?P<b64>;base64)?,",
                       re.IGNORECASE)
_TEXT_TYPES = ("text/", "application/json", "application/xml")


def text_data_uri(value: str) -> tuple[str, Callable[[str], str]] | None:
    """A ``data:`` URI's text and how to encode a new text the same way, when it is a
    text type that decodes as UTF-8; ``None`` otherwise (images, audio, garbage)."""
    m = _DATA_URI.match(value)
    media = (m.group("type").strip().lower() or "text/plain") if m else ""
    if m is None or not media.startswith(_TEXT_TYPES):
        return None
    head, body, b64 = value[:m.end()], value[m.end():], m.group("b64") is not None
    try:
        raw = base64.b64decode(body, validate=True) if b64 else unquote_to_bytes(body)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None

    def encode(new: str) -> str:
        data = new.encode("utf-8")
        return head + (base64.b64encode(data).decode("ascii") if b64 else quote(new))
    return text, encode


_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def url_parts(value: str) -> tuple[list[str], Callable[[list[str]], str]] | None:
    """A URL's host, decoded path segments, query keys and values and fragment, and
    how to build the URL again from new ones (``None`` when it is not an http URL).

    ``?name=Maria%20Garcia`` is only found once decoded; parts that did not change
    keep the URL exactly as it was.
    """
    if not _URL.fullmatch(value):
        return None
    try:
        url = urlsplit(value)
        query = parse_qsl(url.query, keep_blank_values=True)
    except ValueError:
        return None
    segments = [unquote(s) for s in url.path.split("/")]
    parts = [url.netloc, *segments, *(k for k, _ in query), *(v for _, v in query),
             unquote(url.fragment)]

    def build(new: list[str]) -> str:
        if new == parts:
            return value
        n = len(segments)
        path = "/".join(quote(s, safe="") for s in new[1:1 + n])
        keys, values = new[1 + n:1 + n + len(query)], new[1 + n + len(query):-1]
        return urlunsplit((url.scheme, new[0], path, urlencode(list(zip(
            keys, values, strict=True))), quote(new[-1], safe="")))
    return parts, build


def _binary(doc: Any, path: Path, value: Any) -> bool:
    """Content no scan can redact: audio, files, images, ``data:`` URIs that do not
    decode as text."""
    last = path[-1] if path else None
    if last == "file_data" or (last == "data" and "input_audio" in path):
        return True
    if isinstance(value, str) and value.lstrip()[:5].lower() == "data:":
        return text_data_uri(value) is None
    if last == "data" and len(path) >= 2 and path[-2] == "source":
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        return isinstance(parent, dict) and parent.get("type") == "base64"
    return False


def unredactable(doc: Any, path: Path = ()) -> list[Path]:
    """Paths of the content ``_binary`` names, in document order."""
    found: list[Path] = []
    stack: list[tuple[Path, Any]] = [(path, doc)]
    while stack:
        p, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(((*p, k), v) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(((*p, i), v) for i, v in reversed(list(enumerate(node))))
        elif _binary(doc, p, node):
            found.append(p)
    return found


def decode_in_place(doc: Any, select: Callable[[Path], bool]
                     ) -> list[tuple[Path, Callable[[Any], str]]]:
    """Put decoded text where detection can read it: a text ``data:`` URI becomes its
    text, a URL the list of its decoded parts. Returns how to encode each back."""
    encoded: list[tuple[Path, Callable[[Any], str]]] = []
    for path, value in list(walk_strings(doc)):
        if not select(path):
            continue
        if value.lstrip()[:5].lower() == "data:":
            decoded = text_data_uri(value)
            if decoded is not None:
                set_at(doc, path, decoded[0])
                encoded.append((path, decoded[1]))
        elif (url := url_parts(value)) is not None:
            set_at(doc, path, list(url[0]))  # tokenized in place; the original kept
            encoded.append((path, url[1]))
    return encoded
