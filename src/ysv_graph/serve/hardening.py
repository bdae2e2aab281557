"""The server's defences at the HTTP layer, below the request handlers.

- SecurityHeaders: a Content-Security-Policy (no script, no inline style but the pages' own, hashed; nothing from
  other hosts), X-Content-Type-Options: nosniff and Referrer-Policy on every response the app sends.
- RequestLimits: 414 URI Too Long and 431 Request Header Fields Too Large above the configured sizes.
- limited_h11(): uvicorn's h11 protocol with h11's own bound on a request head (h11_max_incomplete_event_size),
  so that a head that never ends is refused once it passes the bound instead of being read into memory; the
  refusal says 414 or 431 (uvicorn's would say 400).
- config() / Server: uvicorn set up with those limits, a connection limit, a bounded graceful shutdown, and a hook
  that stops the SPARQL workers as soon as SIGTERM or SIGINT arrives.
"""
from __future__ import annotations

import base64
import hashlib
import re
from typing import Callable

from starlette.responses import PlainTextResponse

DEFAULT_MAX_URL_BYTES = 8 * 1024
DEFAULT_MAX_HEADER_BYTES = 8 * 1024
HEAD_SLACK = 1024  # the request line's method, version and line ends, beyond the URL and the header fields
REFERRER_POLICY = "strict-origin-when-cross-origin"
_INLINE = re.compile(r"<(style|script)\b[^>]*>(.*?)</\1\s*>", re.DOTALL | re.IGNORECASE)


def inline_hashes(html: str) -> dict[str, list[str]]:
    """{'style': [...], 'script': [...]}: CSP source expressions ('sha256-...') for each inline block of a page."""
    found: dict[str, list[str]] = {"style": [], "script": []}
    for kind, body in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        expression = f"'sha256-{digest}'"
        if expression not in found[kind.lower()]:
            found[kind.lower()].append(expression)
    return found


def content_security_policy(hashes: dict[str, list[str]]) -> str:
    script = " ".join(["'self'"] + hashes.get("script", []))
    style = " ".join(["'self'"] + hashes.get("style", []))
    return (f"default-src 'self'; script-src {script}; style-src {style}; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


class SecurityHeaders:
    """Add the security headers to every HTTP response of the app (a handler's own value is kept)."""

    def __init__(self, app, csp: str):
        self.app = app
        self.headers = [(b"content-security-policy", csp.encode("latin-1")),
                        (b"x-content-type-options", b"nosniff"),
                        (b"referrer-policy", REFERRER_POLICY.encode("latin-1"))]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers if name not in present]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def url_bytes(scope) -> int:
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string") or b""
    return len(raw) + (1 + len(query) if query else 0)


def header_bytes(scope) -> int:
    return sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))  # "name: value\r\n"


class RequestLimits:
    """414 for a request target longer than max_url bytes, 431 for header fields over max_headers bytes in all."""

    def __init__(self, app, max_url: int = DEFAULT_MAX_URL_BYTES, max_headers: int = DEFAULT_MAX_HEADER_BYTES):
        self.app, self.max_url, self.max_headers = app, max_url, max_headers

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            if url_bytes(scope) > self.max_url:
                response = PlainTextResponse(f"URI Too Long: request targets are limited to {self.max_url} bytes\n",
                                             status_code=414)
                await response(scope, receive, send)
                return
            if header_bytes(scope) > self.max_headers:
                response = PlainTextResponse("Request Header Fields Too Large: header fields are limited to "
                                             f"{self.max_headers} bytes in all\n", status_code=431)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def head_bound(max_url: int, max_headers: int) -> int:
    """The most of an unfinished request head the server holds in memory."""
    return max_url + max_headers + HEAD_SLACK


def limited_h11(max_url: int, max_headers: int):
    """uvicorn's h11 protocol, refusing a request head over max_url + max_headers (+ slack) with 414 or 431.

    The bound itself is h11's (h11_max_incomplete_event_size, set by config()); h11 marks such an error with
    error_status_hint 431 and uvicorn answers every protocol error 400: this tells the two sizes apart."""
    import h11
    from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

    class LimitedH11Protocol(H11Protocol):
        def send_400_response(self, msg: str) -> None:
            status = self._too_large()
            if status is None:
                super().send_400_response(msg)
                return
            text = (f"URI Too Long: request targets are limited to {max_url} bytes\n" if status == 414 else
                    f"Request Header Fields Too Large: header fields are limited to {max_headers} bytes in all\n")
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                       (b"x-content-type-options", b"nosniff")]
            try:
                for event in (h11.Response(status_code=status, headers=headers, reason=STATUS_PHRASES[status]),
                              h11.Data(data=text.encode("ascii")), h11.EndOfMessage()):
                    self.transport.write(self.conn.send(event))
            except h11.LocalProtocolError:  # pragma: no cover - a response had begun: just close
                pass
            self.transport.close()

        def _too_large(self) -> int | None:
            """414 or 431 when the error was h11's bound on an unfinished request head, else None."""
            if self.conn.their_state is not h11.ERROR:
                return None
            pending, _closed = self.conn.trailing_data
            if len(pending) <= head_bound(max_url, max_headers):
                return None
            line_end = pending.find(b"\n")
            return 414 if line_end < 0 or line_end > max_url + 64 else 431

    return LimitedH11Protocol


def config(app, host: str, port: int, max_url: int = DEFAULT_MAX_URL_BYTES,
           max_headers: int = DEFAULT_MAX_HEADER_BYTES, max_connections: int | None = 256,
           shutdown_timeout: float = 3.0, **options):
    """A uvicorn.Config for the app with the server's limits (see the module's docstring)."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, http=limited_h11(max_url, max_headers),
        h11_max_incomplete_event_size=head_bound(max_url, max_headers),
        limit_concurrency=max_connections, timeout_graceful_shutdown=max(0.0, shutdown_timeout),
        **options)


def server(uvicorn_config, on_exit: Callable[[], None]):
    """A uvicorn.Server that calls on_exit() (thread-safe) as soon as a shutdown signal arrives, before uvicorn
    waits for the running requests: the SPARQL workers stop, so those requests end at once (503)."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            super().handle_exit(sig, frame)
            on_exit()

    return Server(uvicorn_config)
