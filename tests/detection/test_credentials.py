"""Credentials pasted into chats and prompts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

One = Callable[[str], list[tuple[str, str]]]

PRIVATE_KEY = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx3b9\nabc123==\n"
               "-----END RSA PRIVATE KEY-----")
JWT = ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")


@pytest.mark.parametrize("secret", [
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "glpat-" + "xY1zW2vU3tS4rQ5pO6nM",
    "xoxb-" + "1234567890-abcdefghijkl",
    JWT,
])
def test_tokens(one: One, secret: str) -> None:
    assert ("CREDENTIAL", secret) in one(f"here you go: {secret} thanks")


def test_private_key_block(one: One) -> None:
    assert ("CREDENTIAL", PRIVATE_KEY) in one(f"my key is\n{PRIVATE_KEY}\nplease fix")


@pytest.mark.parametrize(("text", "value"), [
    ("my password is hunter22!", "hunter22!"),
    ("password: Tr0ub4dor&3", "Tr0ub4dor&3"),
    ("my password is tiger one two three", "tiger one two three"),
])
def test_passwords(one: One, text: str, value: str) -> None:
    assert ("CREDENTIAL", value.rstrip("!")) in one(text) or ("CREDENTIAL", value) in one(text)


def test_password_reset_talk_is_not_a_credential(one: One) -> None:
    assert one("i forgot my password and need a reset") == []
