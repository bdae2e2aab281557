"""Keeping credentials out of everything publish and query print.

A store may echo what it was sent - request headers in the body of a 400, the Authorization header in a debug
page, a redirect to a URL with user:password@ in it - so every text that comes from a store, from an exception or
from a URL is passed through a Redactor before it is shown or put in a report. The Redactor knows the secrets of
the Auth it belongs to (the token, the password, user:password and its base64 form) and every Authorization
header value the client actually sent (an HTTP digest answer, say), in the forms a store is likely to echo them:
as sent, percent-encoded, JSON-escaped and HTML-escaped, matched without regard to case. On top of that, the value
of anything that looks like an Authorization header, a digest `response=` and the user information of any URL are
masked, so that a form we did not foresee is still hidden.

The bare user name of HTTP basic or digest is not treated as a secret (it is shown nowhere by us, but masking a
short name everywhere in a message would make the message unreadable).
"""
from __future__ import annotations

import base64
import html
import json
import re
import threading
import urllib.parse

MASK = "***"

_AUTH_HEADER = re.compile(
    r"""(?ix)
    (\b(?:proxy-)?authorization\b["']?\s*[:=]\s*["']?\s*)   # the header's name, as a header, JSON or a form field
    (?!(?:[a-z]+\s+)?\*\*\*)                                 # (not masked already)
    (?:(basic|bearer|digest|token)\s+)?                       # its scheme
    [^\s"',;&<>]+                                            # one token: the credential""")
_DIGEST_RESPONSE = re.compile(r"""(?i)\b(response\s*=\s*["']?)[0-9a-f]{16,}""")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")


class Redactor:
    """Masks known secrets (and header-shaped credentials) in text. Thread-safe: the client adds the headers it
    sends from the thread that sends them."""

    def __init__(self, secrets: tuple[str | None, ...] = ()):
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Add a secret, and the forms it may be echoed in."""
        if not secret:
            return
        scheme, _, value = secret.partition(" ")
        if value and scheme.lower() in ("basic", "bearer", "digest"):
            secret = value.strip()  # a header value: its credential (so that "Bearer ***" still says the scheme)
            if scheme.lower() == "basic":  # the decoded user:password too
                try:
                    self.add(base64.b64decode(secret, validate=True).decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    pass
        if not secret:
            return
        forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
                 json.dumps(secret)[1:-1], html.escape(secret, quote=True)}
        forms.discard("")
        with self._lock:
            if forms <= self._forms:
                return
            self._forms |= forms
            ordered = sorted(self._forms, key=len, reverse=True)  # longest first: no half-masked secret
            self._pattern = re.compile("|".join(re.escape(form) for form in ordered), re.IGNORECASE)

    def add_basic(self, user: str, password: str) -> None:
        pair = f"{user}:{password}"
        self.add(password)
        self.add(pair)
        self.add("Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii"))

    def __call__(self, text) -> str:
        if text is None:
            return ""
        text = str(text)
        with self._lock:
            pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + MASK, text)
        text = _DIGEST_RESPONSE.sub(lambda m: m.group(1) + MASK, text)
        return _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)

    def __repr__(self) -> str:  # never show a secret
        return f"Redactor({len(self._forms)} forms)"
