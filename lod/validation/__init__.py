"""Validate stage: SHACL, natively (lod.validation.shacl) and with pyshacl as the reference."""
