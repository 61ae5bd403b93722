"""The folders show the pipeline: each stage package imports only from the stages before it.

The order is model → loading → mapping → validation → querying → publishing → serving →
importers, with ``errors`` and ``progress`` below all of them and the command line above.
A module that reaches forward (the model importing the publisher, the loader the server)
is a layering mistake even without a cycle; this test names the import and its line.
"""

from __future__ import annotations

from .test_imports import import_graph

# Lower first. A module at the top level of lod/ (cli, watch, synth) is its own layer.
LAYERS = ["errors", "progress", "orphans", "model", "loading", "mapping", "validation", "querying", "publishing", "serving",
          "importers", "synth", "watch", "cli", "__main__", "lod"]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "lod"


def test_every_module_of_lod_belongs_to_a_known_stage() -> None:
    unknown = sorted({_layer(m) for m in import_graph()} - set(LAYERS))
    assert unknown == [], f"modules outside the stage packages: {unknown}; add the package to LAYERS in its place"


def test_each_stage_imports_only_from_the_stages_before_it() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    forward = [f"{a} imports {b} (line {line})"
               for a, targets in import_graph().items() for b, line in targets.items()
               if _layer(a) != _layer(b) and rank.get(_layer(b), 0) > rank.get(_layer(a), 0)]
    assert forward == []
