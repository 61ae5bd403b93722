"""Publish stage: the build, the dumps, pages, calendars, gallery, the journal and the incremental rebuild."""
