"""lod: a linked-data publisher for academic talks.

The library API, one function per pipeline stage::

    dataset = lod.load("data")                    # YAML records → checked Dataset
    graph = lod.to_graph(dataset, lod.Minter(base))  # pure mapping → rdflib Graph
    report = lod.validate(graph)                  # SHACL
    result = lod.build("data", "site")            # the whole pipeline, written atomically
"""

from lod.errors import BuildError, ConfigError, LodError, QueryError, RecordError, RecordErrors, ValidationFailed
from lod.model.iri import Minter
from lod.loading.stage import load
from lod.mapping.triples import to_graph
from lod.publishing.build import build, prepare
from lod.validation.report import validate

__all__ = ["load", "to_graph", "validate", "build", "prepare", "Minter", "LodError", "RecordError",
           "RecordErrors", "ValidationFailed", "ConfigError", "BuildError", "QueryError"]
