"""Named exceptions of the library.

Every failure a user can cause is one of these. The CLI turns them into messages
(`lod.cli`) and the server into 4xx responses; nothing else catches them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Characters a terminal or a page shows as nothing, or that reorder or break the text
# around them: the C0 and C1 controls but newline and tab, the format characters (Unicode
# category Cf: bidi controls such as U+202E, zero-width characters, the BOM, soft hyphen,
# tags), the line and paragraph separators and lone surrogates. tests/test_errors.py checks
# this class against unicodedata for every code point.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]")


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """*text* with every invisible or reordering character written as an escape (``\\u202e``).

    Used wherever user text is echoed in a message (every LodError, the CLI's output, the
    server's error pages), so that a name such as ``"fi\\u202eeld"`` cannot show as
    something else there.
    """
    return _INVISIBLE.sub(_escape, text)


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A place in a source file: 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def __reduce__(self) -> tuple[type[Location], tuple[str, int, int]]:
        # Pickled as its three values: a frozen dataclass with slots is otherwise unpickled by a
        # __setstate__ in Python that looks its fields up each time, and every record holds one
        # (a 100k rebuild unpickles every file's resolved records: 1.10 s that way, 0.85 s this way).
        return (Location, (self.file, self.line, self.column))


class LodError(Exception):
    """Base class of every error the library raises on bad input or bad state.

    Its text shows invisible and bidi characters as escapes (``visible``).
    """

    def __str__(self) -> str:
        return visible(super().__str__())


class RecordError(LodError):
    """One problem in one field of one source record."""

    def __init__(self, location: Location, field: str, problem: str, fix: str = "") -> None:
        self.location = location
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    def __reduce__(self) -> tuple[type[RecordError], tuple[Location, str, str, str]]:
        # Raised again from a forked stage (lod.publishing.forked): made again from its fields, not its text.
        return (RecordError, (self.location, self.field, self.problem, self.fix))

    def __str__(self) -> str:
        where = f"{self.location}: {self.field}: " if self.field else f"{self.location}: "
        text = where + self.problem
        if self.fix:
            text += f" Fix: {self.fix}"
        return visible(text)


class RecordErrors(LodError):
    """All record errors found in one load, reported together."""

    def __init__(self, errors: list[RecordError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.location, e.field))
        super().__init__(str(self))

    def __reduce__(self) -> tuple[type[RecordErrors], tuple[list[RecordError]]]:
        return (RecordErrors, (self.errors,))

    SHOWN = 50

    def __str__(self) -> str:
        n = len(self.errors)
        head = f"{n} error{'s' if n != 1 else ''} in the source records:"
        lines = [head] + [f"  {e}" for e in self.errors[:self.SHOWN]]
        if n > self.SHOWN:
            lines.append(f"  … and {n - self.SHOWN} more; fix these first.")
        return "\n".join(lines)


class ConfigError(LodError):
    """A bad option: base URL, output folder, format name."""


class ValidationFailed(LodError):
    """SHACL found violations; the build stops and publishes nothing."""

    def __init__(self, report: "object") -> None:
        self.report = report
        super().__init__(str(report))

    def __reduce__(self) -> tuple[type[ValidationFailed], tuple[object]]:
        # Raised again from a forked stage (lod.publishing.forked): with its report, not only its text.
        return (ValidationFailed, (self.report,))


class BuildError(LodError):
    """The output could not be written; the previous site is left as it was."""


class PushError(LodError):
    """An external store refused the dataset or could not be reached; it keeps what it had."""


class QueryError(LodError):
    """A SPARQL query that is malformed, refused or too expensive."""

    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


class ImportFailed(LodError):
    """A source given to ``lod import`` cannot be read: bad bytes, wrong shape, bad dates.

    The message names the source, the line (or XML line, or JSON path) and the field,
    and says how to fix it; the data folder is left unchanged.
    """


class MergeConflict(LodError):
    """An import would overwrite a value edited by hand; nothing is written."""


class AmbiguousMatch(LodError):
    """A person or organisation of an import matches several records; a person must decide."""
