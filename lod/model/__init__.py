"""The model: record kinds, records, IRIs, vocabularies, formats and the text of terms."""
