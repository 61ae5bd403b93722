"""Descriptions written in HTML (Indico, pretalx, RDF archives) turned into the record's text format.

The record's text format (``abstract``, ``description``) is plain text: paragraphs
separated by a blank line, TeX written as TeX (``$P(\\mathcal{L})$``), and emphasis as
Markdown writes it, ``**strong**`` and ``*emphasis*``, the way Indico's Markdown abstracts
already arrive. So ``<p>`` becomes a paragraph, ``<br>`` a line break, ``<li>`` a line
starting "- ", ``<strong>``/``<b>`` ``**…**``, ``<em>``/``<i>`` ``*…*``, a link its text
followed by its URL in brackets; any other tag is dropped, keeping its text. Text that
holds no HTML element is left exactly as it is, so TeX such as ``$a<b$`` in a plain
abstract is never read as a tag.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_TAG = re.compile(r"</?(?:p|br|div|span|a|strong|b|em|i|u|ul|ol|li|h[1-6]|blockquote|pre|code|sup|sub|table|tr|td|th"
                  r"|hr|img|font|section|article|small|big|tt|s|strike|del|ins)(?:\s[^<>]*)?/?>", re.I)
_BLOCK = {"p", "div", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "hr",
          "section", "article"}
_STRONG = {"strong", "b"}
_EM = {"em", "i"}
_DROP = {"script", "style", "head", "title"}


def looks_like_html(text: str) -> bool:
    """Whether *text* holds an HTML element (not just a '<' in TeX or prose)."""
    return bool(_TAG.search(text))


class _ToText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hrefs: list[str | None] = []
        self.link_start: list[int] = []
        self.pre = 0
        self.drop = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self.drop += 1
        elif tag in _BLOCK:
            self.out.append("\n\n")
            self.pre += tag == "pre"
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in _STRONG:
            self.out.append("**")
        elif tag in _EM:
            self.out.append("*")
        elif tag == "a":
            self.hrefs.append(dict(attrs).get("href"))
            self.link_start.append(len(self.out))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self.out.append("\n" if tag == "br" else "\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            self.drop = max(0, self.drop - 1)
        elif tag in _BLOCK:
            self.out.append("\n\n")
            self.pre -= tag == "pre" and self.pre > 0
        elif tag in _STRONG or tag in _EM:
            mark = "**" if tag in _STRONG else "*"
            if self.out and self.out[-1] == mark:
                self.out.pop()  # empty emphasis: nothing to mark
            else:
                self.out.append(mark)
        elif tag == "a" and self.hrefs:
            href, start = self.hrefs.pop(), self.link_start.pop()
            label = "".join(self.out[start:]).strip()
            if href and href.startswith(("http://", "https://", "mailto:")) and href not in label:
                self.out.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if self.drop:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(text: str | None) -> str | None:
    """*text* in the record's text format: HTML converted, anything else unchanged (see the module)."""
    if not text or not looks_like_html(text):
        return text
    parser = _ToText()
    parser.feed(text)
    parser.close()
    body = "".join(parser.out)
    lines = [line.strip() for line in body.split("\n")]
    paragraphs = re.split(r"\n{2,}", "\n".join(lines).strip())
    return "\n\n".join(p.strip() for p in paragraphs if p.strip()) or None
