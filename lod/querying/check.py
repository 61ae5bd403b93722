"""The read-only check every SPARQL query passes before any engine sees it.

The engines that run our queries (pyoxigraph here, or any store behind ``lod serve
--endpoint``) follow ``SERVICE`` and ``FROM`` over HTTP, and run updates. So the check
must see the query exactly as an engine will, and a parser of our own that reads it
differently is a hole: rdflib ends a ``#`` comment only at LF, Oxigraph (and the SPARQL
grammar) at CR too, so ``# \\r SERVICE <…>`` was a comment to the check and code to the
engine. The check is therefore lexical and conservative, and it parses nothing it does
not have to:

- the text is tokenised by the SPARQL 1.1 grammar's terminals (IRIs, strings, comments,
  variables, prefixed names, keywords), once as written and once with its ``\\u``/``\\U``
  escapes expanded (the grammar expands them before parsing; some parsers do not), and a
  forbidden keyword in either reading is refused;
- a comment that holds a line break other than a final CRLF/LF (CR, U+2028, U+2029,
  U+0085, VT, FF) ends in different places for different parsers, so it is refused
  rather than guessed;
- the query form is the first keyword after the prologue; everything else, syntax
  errors included, is left to the engine, so the check never rejects a query the engine
  would accept (``VALUES ?x { -1.0 }`` was refused by rdflib's parser).

An operation cannot run without its keyword standing as a token in the reading the
engine uses, so this refuses every ``SERVICE``, ``FROM``/``FROM NAMED`` and update,
however nested (sub-selects, ``EXISTS``, groups) and however spelled.
"""

from __future__ import annotations

import re

from lod.errors import QueryError

MAX_QUERY_CHARS = 100_000

SERVICE_REFUSED = "SERVICE is refused: this endpoint never makes outbound requests."
FROM_REFUSED = "FROM and FROM NAMED are refused: the endpoint answers over its own dataset only."
UPDATE_REFUSED = "updates are refused: this endpoint is read-only."
AMBIGUOUS_COMMENT = ("a # comment holds a line break other than LF or CRLF (CR, U+2028, U+2029, U+0085, VT or FF), "
                     "where SPARQL parsers disagree on where the comment ends; end each comment with a plain line break.")
NOT_A_QUERY = "malformed query: not a SELECT, ASK, CONSTRUCT or DESCRIBE query."
# Oxigraph parses and evaluates recursively and dies of a stack overflow (a segfault, not an
# error) past about 3,000 nested brackets or 3,000 chained operators (1+1+…, <p>/<p>/…, ||).
# Real queries stay far below these bounds.
MAX_NESTING = 100
MAX_OPERATORS = 2000
TOO_DEEP = f"malformed query: brackets nest more than {MAX_NESTING} deep; flatten the query."
TOO_MANY_OPERATORS = (f"malformed query: the query chains more than {MAX_OPERATORS} operators (+ - * / | & ^ = ! < >); "
                      "split it, or list values with VALUES or IN.")
_OPEN, _CLOSE, _OPERATORS = "{([", "})]", frozenset("+-*/|&^=!<>")

# Keyword → why it is refused. Update keywords are refused wherever they stand: none of them
# is a word of the query language, so a read-only query never holds one as a keyword.
_REFUSED = {"SERVICE": SERVICE_REFUSED, "FROM": FROM_REFUSED,
            **{k: UPDATE_REFUSED for k in ("LOAD", "INSERT", "DELETE", "CLEAR", "DROP", "CREATE", "ADD", "MOVE",
                                           "COPY", "WITH", "USING")}}
FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_PROLOGUE = {"BASE", "PREFIX"}

# Characters that some reader or other takes as the end of a line. The grammar's comment ends at
# CR or LF; rdflib's at LF; a reader that splits lines the Unicode way at any of these.
_BREAKS = re.compile("[\r\u2028\u2029\x85\x0b\x0c]")
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")

# One alternation, tried at each position; the first group that matches names the token.
_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<long>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''|\"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\")
  | (?P<string>'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<open>'''|\"\"\"|['"])
  | (?P<var>[?$][^\W]\w*)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<pname>(?:[^\W\d]|_)[\w.\-\u00b7]*:(?:[\w:%.\-]|\\.)*|:(?:[\w:%.\-]|\\.)*)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<word>[^\W\d]\w*)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


def _expand(text: str) -> str:
    """The text with SPARQL's codepoint escapes replaced by their characters (§19.2)."""
    def one(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else m.group(0)
    return _ESCAPE.sub(one, text)


def words(text: str) -> list[tuple[str, str]]:
    """The keywords of *text* as ``("word", KEYWORD)``, and the prefixes of its prefixed names as
    ``("prefix", PREFIX)``, upper-cased and in order, as the SPARQL grammar tokenises the text.

    Raises QueryError for a comment whose end parsers disagree on, a string left open, or
    nesting and operator chains deep enough to overflow the engine's stack.
    """
    out: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    depth = operators = 0
    while pos < end:
        m = _TOKEN.match(text, pos)
        assert m is not None  # 'other' matches any character
        kind = m.lastgroup
        if kind == "comment":
            body = m.group()
            if body.endswith("\r"):  # CRLF: both readings end the comment here
                body = body[:-1]
            if _BREAKS.search(body):
                raise QueryError(AMBIGUOUS_COMMENT)
        elif kind == "open":
            raise QueryError("malformed query: a string is not closed; close it with the quote it opened with.")
        elif kind == "word":
            out.append(("word", m.group().upper()))
        elif kind == "pname":
            # A parser that matches keywords without a word boundary reads 'FROM:g' as FROM <:g>.
            out.append(("prefix", m.group().split(":", 1)[0].upper()))
        elif kind == "other":
            char = m.group()
            if char in _OPEN:
                depth += 1
                if depth > MAX_NESTING:
                    raise QueryError(TOO_DEEP)
            elif char in _CLOSE:
                depth -= 1
            elif char in _OPERATORS:
                operators += 1
                if operators > MAX_OPERATORS:
                    raise QueryError(TOO_MANY_OPERATORS)
        pos = m.end()
    return out


def check_query(text: str) -> str:
    """Return the query form (SELECT, ASK, CONSTRUCT, DESCRIBE) or raise QueryError with the reason.

    Refuses (403) SERVICE, FROM/FROM NAMED and updates in any reading of the text, and (400)
    comments that parsers end in different places; syntax is left to the engine that runs it.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters.", 413)
    expanded = _expand(text)
    readings = [words(expanded)] + ([words(text)] if expanded != text else [])
    for reading in readings:
        for kind, word in reading:
            why = _REFUSED.get(word)
            if why is None:
                continue
            if kind == "prefix":
                raise QueryError(f"the prefix '{word.lower()}:' reads as the keyword {word} to some SPARQL parsers; "
                                 "give the prefix another name.", 403)
            raise QueryError(why, 403)
    form = next((w for kind, w in readings[0] if kind == "word" and w not in _PROLOGUE), None)
    if form is None or form not in FORMS:
        raise QueryError(NOT_A_QUERY)
    return form


_AT = re.compile(r"^error at (\d+):(\d+): ")
# One alternative of Oxigraph's "expected one of" list: a quoted token, a character class such as
# ['0'..='9'] (noise to a person, so dropped), or a bare word.
_ALTERNATIVE = re.compile(r""""(?:[^"\\]|\\.)*"|(\[(?:'(?:[^'\\]|\\.)*'|[^\]'])*\])|[^,\s]+""")
MAX_EXPECTED = 12


def syntax_error(exc: Exception) -> QueryError:
    """The engine's syntax error as a 400 a person can read: where, and what was expected there.

    Oxigraph lists every token it could take, Unicode ranges included; the ranges are dropped
    and the list is cut after MAX_EXPECTED alternatives.
    """
    text = " ".join(str(exc).split())
    m = _AT.match(text)
    where = f" at line {m.group(1)}, column {m.group(2)}" if m else ""
    rest = text[m.end():] if m else text
    head, sep, options = rest.partition("expected one of ")
    if sep:
        alternatives = [a.group() for a in _ALTERNATIVE.finditer(options) if a.group(1) is None]
        more = len(alternatives) - MAX_EXPECTED
        rest = head + sep + ", ".join(alternatives[:MAX_EXPECTED]) + (f" (or {more} more)" if more > 0 else "")
    return QueryError(f"malformed query{where}: {rest}")
