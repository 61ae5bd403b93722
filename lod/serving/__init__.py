"""Serve stage: the Linked Data server, content negotiation and the SPARQL endpoint."""
