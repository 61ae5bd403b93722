"""SPARQL answering: the query check, the engine, and the worker pools; shared by the gallery, `lod query` and the endpoint."""
