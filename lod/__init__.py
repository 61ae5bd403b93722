"""lod: a linked-data publisher for academic talks.

The library API, one function per pipeline stage::

    dataset = lod.load("data")                    # YAML records → checked Dataset
    graph = lod.to_graph(dataset, lod.Minter(base))  # pure mapping → rdflib Graph
    report = lod.validate(graph)                  # SHACL
    result = lod.build("data", "site")            # the whole pipeline, written atomically
"""

from .errors import BuildError, ConfigError, LodError, QueryError, RecordError, RecordErrors, ValidationFailed
from .iri import Minter
from .load import load
from .mapping import to_graph
from .publish import build, prepare
from .validate import validate

__all__ = ["load", "to_graph", "validate", "build", "prepare", "Minter", "LodError", "RecordError",
           "RecordErrors", "ValidationFailed", "ConfigError", "BuildError", "QueryError"]
