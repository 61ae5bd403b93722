"""Every module of lod/ stays a few hundred lines: none is longer than 500.

The guide asks for modules of a few hundred lines (about 480 at most), each of one
responsibility. A module that grows past the limit is split by what its parts do, in the
same package (as serving/server.py, importers/merge.py, model/fields.py and
publishing/journal.py were), not cut into arbitrary halves; this test names each module
over the limit with its line count.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lod"
LIMIT = 500


def line_counts(root: Path) -> dict[str, int]:
    """The number of lines of every module under the package at *root*, by its path from root's parent."""
    return {str(path.relative_to(root.parent)): len(path.read_text(encoding="utf-8").splitlines())
            for path in sorted(root.rglob("*.py"))}


def oversized(root: Path, limit: int = LIMIT) -> list[str]:
    """``"lod/x.py: N lines"`` for each module under *root* longer than *limit* lines, longest first."""
    counts = line_counts(root)
    return [f"{name}: {n} lines" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n > limit]


def test_module_size_no_module_of_lod_is_longer_than_500_lines() -> None:
    counts = line_counts(PACKAGE)
    assert "lod/serving/server.py" in counts and "lod/publishing/pages/render.py" in counts  # the package was read
    found = oversized(PACKAGE)
    assert not found, (f"modules of lod/ longer than {LIMIT} lines; split each by responsibility, "
                       "in its package:\n  " + "\n  ".join(found))


def test_module_size_a_module_over_the_limit_is_named_with_its_line_count(tmp_path: Path) -> None:
    pkg = tmp_path / "lod"
    (pkg / "stage").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "at_limit.py").write_text("x = 1\n" * 500)
    (pkg / "stage" / "long.py").write_text("x = 1\n" * 501)
    (pkg / "stage" / "longer.py").write_text("x = 1\n" * 600 + "y = 2")  # no final newline: still 601 lines
    assert oversized(pkg) == ["lod/stage/longer.py: 601 lines", "lod/stage/long.py: 501 lines"]
