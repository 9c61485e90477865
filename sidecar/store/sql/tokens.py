"""API tokens: made here, shown once, kept only as a salted hash.

A token reads ``mhs_<id>_<secret>``: ``id`` (16 hex digits) finds its row without scanning, ``secret`` is
32 random bytes (URL-safe base64). The row keeps a random 16-byte salt and
``blake2b(secret, key=salt, digest_size=32)``; checking a token recomputes that and compares with
:func:`hmac.compare_digest`, so the comparison's time says nothing about how much of the hash matched.

Why a fast keyed hash and not scrypt or argon2: those are slow on purpose to make guessing *low-entropy
passwords* from a stolen hash expensive. A 256-bit random secret cannot be guessed at any speed, so the
slowness would buy nothing and cost every API request tens of milliseconds. The salt still makes each
stored hash unique, so a leaked table cannot even tell which tokens are equal.

>>> token, token_id, salt, digest = new_token()
>>> found_id, secret = parse_token(token)
>>> found_id == token_id, verify(secret, salt, digest), verify("guess", salt, digest)
(True, True, False)
>>> parse_token("Bearer nonsense") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = ["PREFIX", "hash_secret", "new_token", "parse_token", "verify"]

#: Every token starts so (a secret scanner can spot one in a log or a repository).
PREFIX = "mhs"
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{43}})$")


def hash_secret(secret: str, salt: bytes) -> bytes:
    """The stored hash of ``secret``: BLAKE2b keyed with ``salt`` (see the module docstring for why)."""
    return hashlib.blake2b(secret.encode("utf-8"), key=salt, digest_size=32).digest()


def new_token() -> tuple[str, str, bytes, bytes]:
    """A fresh ``(token, id, salt, hash)``; only the last three are stored."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)  # 32 bytes -> 43 characters
    salt = secrets.token_bytes(16)
    return f"{PREFIX}_{token_id}_{secret}", token_id, salt, hash_secret(secret, salt)


def parse_token(token: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed token, else ``None``."""
    match = _TOKEN.fullmatch(token)
    return (match.group(1), match.group(2)) if match else None


def verify(secret: str, salt: bytes, stored: bytes) -> bool:
    """Whether ``secret`` hashes to ``stored``, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret, salt), stored)
