"""TeX in titles and abstracts rendered as MathML on the server, through an allow-list."""

from __future__ import annotations

import functools

import re
from xml.etree import ElementTree as ET

from latex2mathml.converter import convert as _latex_to_mathml
from markupsafe import Markup, escape

from lod.publishing.pages.constants import MATHML_NS

# ---------------------------------------------------------------- TeX → MathML

_MATH = re.compile(r"""
      \$\$(?P<dd>.+?)\$\$                                   # $$…$$ display
    | \\\[(?P<bd>.+?)\\\]                                   # \[…\] display
    | \\\((?P<bi>.+?)\\\)                                   # \(…\) inline
    | (?<![\\$])\$(?P<d>[^\s$](?:[^$]*?[^\s\\$])?)\$(?![\d$])  # $…$ inline, pandoc's rules: no space
    """, re.DOTALL | re.VERBOSE)                                       # inside the dollars, no digit after

_MATHML_ELEMENTS = frozenset(["math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mlabeledtr", "mstyle", "mpadded", "mphantom", "menclose", "mfenced", "semantics", "annotation", "merror", "mmultiscripts", "mprescripts", "none", "maligngroup", "malignmark"])
_MATHML_ATTRIBUTES = frozenset(["display", "mathvariant", "stretchy", "fence", "separator", "separators", "lspace", "rspace", "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "rowspacing", "rowlines", "rowalign", "minsize", "maxsize", "movablelimits", "symmetric", "form", "linethickness", "width", "height", "depth", "notation", "open", "close", "scriptlevel", "displaystyle", "mathsize", "mathcolor", "mathbackground", "frame", "framespacing", "equalrows", "equalcolumns", "align", "columnspan", "rowspan", "largeop", "encoding", "voffset"])


def _mathml_markup(elem: ET.Element) -> str | None:
    """Re-serialise a parsed MathML tree, or None if it holds anything outside the allow-list."""
    tag = elem.tag
    if not tag.startswith("{" + MATHML_NS + "}"):
        return None
    name = tag[len(MATHML_NS) + 2:]
    if name not in _MATHML_ELEMENTS:
        return None
    attrs = []
    for key, value in sorted(elem.attrib.items()):
        if key not in _MATHML_ATTRIBUTES:
            return None
        attrs.append(f' {key}="{escape(value)}"')
    inner = [str(escape(elem.text or ""))]
    for child in elem:
        markup = _mathml_markup(child)
        if markup is None:
            return None
        inner.append(markup)
        inner.append(str(escape(child.tail or "")))
    return f"<{name}{''.join(attrs)}>{''.join(inner)}</{name}>"


@functools.lru_cache(maxsize=65536)
def tex_to_mathml(tex: str, display: bool = False) -> Markup | None:
    """MathML for a TeX formula (without its delimiters), or None if it cannot be converted safely.

    latex2mathml's output is parsed and re-serialised through an allow-list of MathML
    elements and attributes, so ``\\text{<b>…}`` or ``\\href{javascript:…}`` are refused.
    Cached: a pure function of its arguments, and an archive repeats its formulas.
    """
    try:
        raw = _latex_to_mathml(tex, display="block" if display else "inline")
        root = ET.fromstring(raw)
    except Exception:  # noqa: BLE001 -- latex2mathml raises many types (its own, IndexError …) on bad TeX;
        return None     # a formula it cannot read stays TeX text rather than stopping the build
    markup = _mathml_markup(root)
    return Markup(markup) if markup is not None else None


def tex_html(text: str | None) -> Markup:
    """Text with its TeX formulas ($…$, $$…$$, \\(…\\), \\[…\\]) as MathML, everything else escaped.

    A formula that cannot be converted stays as its escaped TeX source; TeX outside
    delimiters stays text. Cached: titles are shown on every page that lists their talk.
    """
    if not text:
        return Markup("")
    if type(text) is not str:  # Markup (already escaped) or a str subclass: not cached under its text
        return _tex_html.__wrapped__(text)
    return _tex_html(text)


# Markdown emphasis, the one way a record's text marks it (importers write HTML's <strong>
# and <em> so): **strong**, *emphasis*; never inside TeX, never around spaces ("2 * 3 * 4").
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EM = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*(?![*\w])")


def _emphasis(escaped: str) -> str:
    return _EM.sub(r"<em>\1</em>", _STRONG.sub(r"<strong>\1</strong>", escaped))


@functools.lru_cache(maxsize=65536)
def _tex_html(text: str, emphasis: bool = False) -> Markup:
    out: list[str] = []
    pos = 0
    plain = _emphasis if emphasis else str
    for m in _MATH.finditer(text):
        out.append(plain(str(escape(text[pos:m.start()]))))
        display = m.group("dd") is not None or m.group("bd") is not None
        tex = next(g for g in (m.group("dd"), m.group("bd"), m.group("bi"), m.group("d")) if g is not None)
        mathml = tex_to_mathml(tex, display)
        out.append(str(mathml) if mathml is not None else str(escape(m.group(0))))
        pos = m.end()
    out.append(plain(str(escape(text[pos:]))))
    return Markup("".join(out))


def paragraphs_html(text: str | None) -> Markup:
    """Blank-line separated paragraphs as ``<p>`` elements, with TeX rendered and **emphasis** shown."""
    if not text:
        return Markup("")
    pars = [p.strip() for p in re.split(r"\n[ \t]*\n", text.strip()) if p.strip()]
    if type(text) is not str:  # already escaped: TeX only, as before
        return Markup("\n").join(Markup("<p>") + tex_html(p) + Markup("</p>") for p in pars)
    # Not through the cache: an abstract is shown on its own page only, and caching every
    # paragraph of an archive held 65k of them in each page worker (and evicted the titles).
    render = _tex_html.__wrapped__
    return Markup("\n").join(Markup("<p>") + render(p, True) + Markup("</p>") for p in pars)


