"""rdflib's algebra of a SPARQL query, parsed once a process.

Two readers of query text need rdflib's algebra, not an engine's answer (so here, below both
in the layering, not in ``lod.querying``): the query gallery
(what triples a query reads, ``lod.publishing.gallery_reads`` and ``gallery_narrow``) and the
native SHACL checker (its sh:sparql constraints, ``lod.validation.shacl.sparql``). Both ask for
the same texts in every build of a process (the gallery's queries, the shapes' constraints), and
rdflib's parser (pyparsing) is slow: 0.2 s of a seed data build's 0.9 s for the gallery, 0.13 s of
the 0.23 s the packaged shapes took to compile. Its users only read the algebra, never change it.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=256)
def algebra_of(text: str) -> Any:
    """The algebra of the query *text* (``prepareQuery(text).algebra``), parsed once a process.
    Raises what rdflib's parser raises on a malformed query (not cached)."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    return translateQuery(parseQuery(text)).algebra
