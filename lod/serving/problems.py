"""The server's errors, in one place: every 4xx/5xx leaves through ``error_response``.

An exception (``lod.errors``, Starlette's HTTPException, a vanished file, anything else)
becomes a ``Problem`` (``problem_of``), and the problem one response: JSON ``{"error":
{"status", "title", "detail"}}`` for programs, an HTML page for browsers. Internal errors
are logged in full and told to the client without the server's paths.
"""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from lod.errors import LodError, QueryError, visible
from lod.model.formats import HTML
from lod.model.iri import KIND_PATHS
from lod.model.negotiate import prefers_html
from lod.serving.site import SiteInfo

log = logging.getLogger("lod.serving.server")  # the server's one logger, whichever of its modules logs

_MISSING = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EISDIR})


class NotFound(LodError):
    """No resource or document at a path; carries paths that look close."""

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        self.suggestions = suggestions or []
        super().__init__(message)


ERROR_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ status }} {{ title }}{% if site_title %} · {{ site_title }}{% endif %}</title>
<style>:root{color-scheme:light dark}body{margin:0 auto;max-width:48rem;padding:1rem;font:1rem/1.55 system-ui,sans-serif}
a{overflow-wrap:anywhere}</style>
</head>
<body>
<h1>{{ status }} {{ title }}</h1>
<p>{{ detail }}</p>
{% if suggestions %}
<p>Did you mean:</p>
<ul>{% for s in suggestions %}<li><a href="{{ s }}">{{ s }}</a></li>{% endfor %}</ul>
{% endif %}
{% if status == 404 %}
<p>Resources of this site live at {{ base }}<var>kind</var>/<var>id</var>, where <var>kind</var> is one of
{% for k in kinds %}<code>{{ k }}</code>{{ ", " if not loop.last else "." }}{% endfor %}
Each has an HTML page and data in Turtle (<code>.ttl</code>), N-Triples (<code>.nt</code>) and JSON-LD (<code>.jsonld</code>).</p>
{% endif %}
<ul>
<li><a href="{{ base }}">Home page</a></li>
<li><a href="{{ base }}queries.html">Example queries</a> and the <a href="{{ base }}sparql">SPARQL endpoint</a></li>
<li><a href="{{ base }}void.ttl">Dataset description (VoID)</a> and the whole dataset:
<a href="{{ base }}dump.ttl">Turtle</a>, <a href="{{ base }}dump.nt">N-Triples</a>, <a href="{{ base }}dump.jsonld">JSON-LD</a></li>
</ul>
</body>
</html>
"""
_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


@dataclass(frozen=True)
class Problem:
    """An error as the client sees it."""

    status: int
    detail: str
    headers: Mapping[str, str]
    suggestions: tuple[str, ...] = ()


def problem_of(exc: BaseException) -> Problem:
    """Translate an exception (lod.errors, Starlette's HTTPException, anything else) into a Problem."""
    if isinstance(exc, QueryError):
        return Problem(exc.status, str(exc), {})
    if isinstance(exc, NotFound):
        return Problem(404, str(exc), {}, tuple(exc.suggestions))
    if isinstance(exc, HTTPException):
        return Problem(exc.status_code, str(exc.detail), dict(exc.headers or {}))
    if isinstance(exc, OSError) and exc.errno in _MISSING:
        # A file that vanished between the check and the read (a rebuild), or a name the file
        # system refuses (ENAMETOOLONG): nothing is there, which is a 404, never a traceback.
        return Problem(404, "there is nothing at this path.", {})
    if isinstance(exc, LodError):
        log.error("%s", exc)
        return Problem(500, str(exc), {})
    log.exception("internal error", exc_info=exc)
    return Problem(500, "an internal error occurred; it has been logged.", {})


def error_response(request: Request, problem: Problem, site: SiteInfo | None = None) -> Response:
    """The one error shape: an HTML page for browsers, ``{"error": {...}}`` JSON for everyone else."""
    status = problem.status
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    headers = {**problem.headers, "Vary": "Accept", "Cache-Control": "no-store"}
    if prefers_html(request.headers.get("accept")):
        base = site.base_path if site else "/"
        body = _ENV.from_string(ERROR_TEMPLATE).render(
            status=status, title=title, detail=visible(problem.detail), suggestions=problem.suggestions, base=base,
            kinds=sorted(set(KIND_PATHS.values())), site_title=site.title if site else "").encode("utf-8")
        headers["Content-Type"] = HTML.content_type
    else:
        error: dict[str, Any] = {"status": status, "title": title, "detail": visible(problem.detail)}
        if problem.suggestions:
            error["suggestions"] = list(problem.suggestions)
        body = (json.dumps({"error": error}, ensure_ascii=False) + "\n").encode("utf-8")
        headers["Content-Type"] = "application/json; charset=utf-8"
    headers["Content-Length"] = str(len(body))
    return Response(b"" if request.method == "HEAD" else body, status_code=status, headers=headers)
