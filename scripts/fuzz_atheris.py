#!/usr/bin/env python3
"""Coverage-guided byte fuzzing of the loader with atheris (libFuzzer), beside the hypothesis tests.

Hypothesis generates YAML shaped like records; atheris mutates raw bytes guided by the
branches they reach in lod.loading.files (PyYAML runs uninstrumented, for speed), which finds
byte-level cases (encodings, control characters, odd indentation) that structured
generation reaches rarely. Each input is written as one record file and loaded; the only
allowed outcomes are a Dataset or RecordErrors whose every message names the file. Any
other exception is a crash: libFuzzer saves the input as ./crash-*; add it to
tests/fixtures/fuzz/ with its '# expect:' line.

    pip install atheris
    python scripts/fuzz_atheris.py -runs=100000 -max_len=4096 [corpus_dir]

Not run in CI (atheris needs a compiled extension and the hypothesis tests cover the same
contract there); SECURITY.md records the figures of the last run.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

import yaml  # noqa: F401  (not instrumented: PyYAML under instrumentation runs at a few inputs a second)

with atheris.instrument_imports(include=["lod"]):
    from lod.errors import RecordErrors
    from lod.loading.stage import load

FOLDER = Path(tempfile.mkdtemp(prefix="lod-atheris-"))
FILE = FOLDER / "a.yaml"


def one_input(data: bytes) -> None:
    FILE.write_bytes(data)
    try:
        load(FOLDER)
    except RecordErrors as exc:
        for e in exc.errors:
            if not str(e).startswith(str(FILE)):
                raise AssertionError(f"an error that does not name the file: {e}") from None


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
