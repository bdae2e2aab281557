"""GET /search: the search form and its results, as HTML (the site's layout) or JSON, from the index of search.py.

Limits: a query of at most search.MAX_QUERY_CHARS characters (400 beyond), search.MAX_RESULTS results; any text is
safe to send (search.Query quotes the words itself; lone surrogates and control characters are replaced).
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from . import negotiation
from . import search
from .pages import Linker, Pages


def printable(text: str) -> str:
    """The text with lone surrogates and control characters replaced: safe to encode, echo and index."""
    return search.CONTROL.sub(" ", text.encode("utf-8", "replace").decode("utf-8"))


def respond(request: Request, index: search.SearchIndex, pages: Pages, link: Linker) -> Response:
    """GET /search?q=...: the search form, or the ranked results, as HTML or (Accept: application/json) JSON."""
    media = negotiation.choose(request.headers.get("accept"), ["text/html", "application/json"])
    if media is None:
        return PlainTextResponse("Search results are available as text/html and application/json\n",
                                 status_code=406, headers={"Vary": "Accept"})
    text = printable(request.query_params.get("q", ""))
    status, results, message = 200, None, ""
    if len(text) > search.MAX_QUERY_CHARS:
        status, message = 400, f"A search is limited to {search.MAX_QUERY_CHARS} characters"
        text = text[:search.MAX_QUERY_CHARS]
    elif text.strip():
        results = index.search(text)
        message = summary(results)
    if media == "application/json":
        body = {"query": text, "results": [hit.as_json() for hit in results.hits] if results else [],
                "total": results.total if results else 0}
        if status != 200:
            body["error"] = message
        return JSONResponse(body, status_code=status, headers={"Vary": "Accept"})
    page = pages.search(link, search.MAX_QUERY_CHARS, text, results.hits if results else [], message)
    return HTMLResponse(page, status_code=status, headers={"Vary": "Accept"})


def summary(results: search.Results) -> str:
    if not results.query.words:
        return "There are no words to search for: letters or digits, please."
    if not results.total:
        return "Nothing matches."
    shown = len(results.hits)
    return (f"{results.total} match{'es' if results.total != 1 else ''}"
            + (f"; the first {shown} are shown." if shown < results.total else "."))
