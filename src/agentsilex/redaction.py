"""Secrets out of error messages, tool errors, events and reprs: removed by value and by pattern.

By value: every key this process was given (`remember`, which the model classes call with their api_key)
and every credential in the environment (names ending in _KEY, _TOKEN, _SECRET, _PASSWORD, _CREDENTIALS...).
By pattern: the shapes providers give their keys (sk-..., AIza..., gsk_..., xai-..., hf_..., long hex,
Bearer tokens, user:password@ in URLs), for keys this process never saw (a provider echoing another one).
"""

from __future__ import annotations

import os
import re
import threading

MARK = "[redacted]"
_PATTERNS = re.compile(r"""
    \b(?:sk|pk|rk)-[A-Za-z0-9_\-]{8,}             # OpenAI, Anthropic, Stripe-style keys
  | \b(?:key|api|token)[-_][A-Za-z0-9_\-]{8,}
  | \bAIza[0-9A-Za-z_\-]{20,}                     # Google
  | \bgsk_[A-Za-z0-9]{16,}                        # Groq
  | \bxai-[A-Za-z0-9]{16,}                        # xAI
  | \bhf_[A-Za-z0-9]{16,}                         # Hugging Face
  | \bgh[pousr]_[A-Za-z0-9]{20,}                  # GitHub
  | \bAKIA[0-9A-Z]{16}\b                          # AWS access key ids
  | \b[0-9a-fA-F]{32,}\b                          # long hex tokens
  | (?<=[Bb]earer\ )[A-Za-z0-9._~+/=\-]{8,}       # Authorization: Bearer <token>
  | (?<=://)[^/\s:@]+:[^/\s@]+(?=@)               # user:password@ in URLs
""", re.VERBOSE)
_SECRET_NAME = re.compile(r"(API_?KEY|_KEY|_TOKEN|_SECRET|_PASSWORD|_PASSWD|_CREDENTIALS?)$", re.IGNORECASE)
_known: set[str] = set()
_lock = threading.Lock()


def remember(*values: object, **options: object) -> None:
    """Redact these values wherever they show up from now on (model classes call it with their api_key), and
    those of `options` whose name says secret (`aws_secret_access_key=...`, `vertex_credentials=...`)."""
    found = [*values, *(value for name, value in options.items()
                        if any(word in name.lower() for word in ("key", "secret", "token", "password", "credential")))]
    with _lock:
        _known.update(value for value in found if isinstance(value, str) and len(value) >= 8)


def secrets() -> list[str]:
    """Every secret value known now, longest first (so a key is removed whole before any part of it)."""
    found = {value for name, value in os.environ.items() if _SECRET_NAME.search(name) and len(value) >= 8}
    with _lock:
        found |= _known
    return sorted(found, key=len, reverse=True)


def redact(text: str, *extra: str | None) -> str:
    """`text` without any secret: known values (and `extra` ones) first, then anything shaped like a key."""
    for secret in [*(value for value in extra if value and len(value) >= 8), *secrets()]:
        text = text.replace(secret, MARK)
    return _PATTERNS.sub(MARK, text)


def redact_url(url: str | None) -> str | None:
    """A URL safe to show: credentials and known secrets (in the query, say) removed."""
    return None if url is None else redact(url)
