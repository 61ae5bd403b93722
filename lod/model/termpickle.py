"""Pickles of rdflib terms that unpickle without checking them again.

rdflib pickles an IRI as a call of ``URIRef(text)``, which checks every character of the
text, and a literal as ``Literal(lexical, language, datatype)``, which parses the lexical
form into its Python value again. A build pickles its own descriptions to a temporary file
and reads each back once or twice (``lod.publishing.changes.Descriptions``, the sorted runs
of ``lod.publishing.runs``): half the time of reading them back went to those checks, on
terms that were checked when they were made. ``dumps`` pickles a term as its state instead
(the text; a literal's language, datatype, value and whether it is ill-typed) and ``loads``
restores it as it was, equal and with the same value.

Only for the build's own temporary files: a pickle of this module is read by the same code
that wrote it.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from rdflib.term import Literal, URIRef


def _iri(text: str) -> URIRef:
    """The IRI *text*, as ``URIRef(text)`` makes it, without checking it again."""
    return str.__new__(URIRef, text)


def _literal(lexical: str, language: str | None, datatype: URIRef | None, value: Any, ill_typed: bool | None) -> Literal:
    """The literal of this state, as ``Literal`` made it, without parsing it again."""
    term = str.__new__(Literal, lexical)
    term._language, term._datatype, term._value, term._ill_typed = language, datatype, value, ill_typed
    return term


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is URIRef:
            return _iri, (str(obj),)
        if kind is Literal:
            return _literal, (str(obj), obj._language, obj._datatype, obj._value, obj._ill_typed)
        return NotImplemented


def dumps(obj: Any) -> bytes:
    """*obj* pickled, its rdflib IRIs and literals as their state (``loads`` reads it)."""
    out = io.BytesIO()
    _Pickler(out, pickle.HIGHEST_PROTOCOL).dump(obj)
    return out.getvalue()


loads = pickle.loads
