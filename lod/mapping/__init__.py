"""Map stage: records to schema.org triples."""
