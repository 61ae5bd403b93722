"""The sitemap (sitemaps.org) and robots.txt of a site."""

from __future__ import annotations

from markupsafe import escape

from lod.publishing.pages.constants import SITEMAP_LIMIT


def sitemap_files(entries: list[tuple[str, str]], base: str) -> dict[str, bytes]:
    """``sitemap.xml`` (a sitemap index beyond 50,000 URLs) for (url, lastmod) entries."""
    def urlset(chunk: list[tuple[str, str]]) -> bytes:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lines += [f"<url><loc>{escape(url)}</loc><lastmod>{escape(mod)}</lastmod></url>" for url, mod in chunk]
        lines.append("</urlset>")
        return ("\n".join(lines) + "\n").encode("utf-8")

    if len(entries) <= SITEMAP_LIMIT:
        return {"sitemap.xml": urlset(entries)}
    files: dict[str, bytes] = {}
    index = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for n, start in enumerate(range(0, len(entries), SITEMAP_LIMIT), 1):
        chunk = entries[start:start + SITEMAP_LIMIT]
        files[f"sitemap-{n}.xml"] = urlset(chunk)
        index.append(f"<sitemap><loc>{escape(base)}sitemap-{n}.xml</loc>"
                     f"<lastmod>{escape(max(mod for _u, mod in chunk))}</lastmod></sitemap>")
    index.append("</sitemapindex>")
    files["sitemap.xml"] = ("\n".join(index) + "\n").encode("utf-8")
    return files


def sitemap_names(n: int) -> list[str]:
    """The files ``sitemap_files`` makes of *n* entries."""
    chunks = -(-n // SITEMAP_LIMIT)
    return ["sitemap.xml"] + ([f"sitemap-{i}.xml" for i in range(1, chunks + 1)] if n > SITEMAP_LIMIT else [])


def robots_txt(base: str) -> bytes:
    """robots.txt allowing everything and naming the sitemap by its absolute URL."""
    return f"User-agent: *\nDisallow:\n\nSitemap: {base}sitemap.xml\n".encode()
