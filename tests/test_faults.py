"""Faults during a build: SIGKILL at random points, a full disk, a record file edited mid-build.

After each, the output folder is a whole site (the previous one, or the new one when the
kill came after the swap), never a mix, and the next build succeeds.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lod.errors import BuildError
from lod.cli import main
from lod.publishing.build import MARKER, build

from .conftest import REPO, TEST_BASE, write_records
from .test_publish import GOOD, tree

pytestmark = pytest.mark.slow

NEWER = GOOD.replace("A talk", "A renamed talk")


def lod_build(data: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "lod", "build", "--data", str(data), "--out", str(out),
                             "--base-url", TEST_BASE, "--quiet"], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def leftovers(out: Path) -> list[str]:
    """What a build left beside *out* besides its state (``lod.publishing.output.state_path``) and the
    site's generation (``lod.publishing.state.generation_path``)."""
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.")
                  and p.name not in (f".{out.name}.lod-state", f".{out.name}.lod-state.gen"))


# ---------------------------------------------------------------- SIGKILL at random points

@pytest.mark.heavy
def test_faults_sigkill_at_random_points_leaves_a_whole_site(tmp_path: Path) -> None:
    old_data = write_records(tmp_path / "old", {"a.yaml": GOOD})
    new_data = write_records(tmp_path / "new", {"a.yaml": NEWER})
    out = tmp_path / "site"
    build(new_data, out, TEST_BASE)
    newer = tree(out)
    shutil.rmtree(out)
    build(old_data, out, TEST_BASE)
    before = tree(out)
    t = time.monotonic()
    lod_build(new_data, tmp_path / "timing").wait()
    duration = time.monotonic() - t
    rng = random.Random(20261123)
    outcomes = {"old": 0, "new": 0}
    for i in range(12):
        delay = rng.uniform(0, duration * 1.05)
        proc = lod_build(new_data, out)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = tree(out)
        assert now in (before, newer), f"killed after {delay:.2f}s of {duration:.2f}s: a mixed site"
        outcomes["old" if now == before else "new"] += 1
        if now == newer:  # start the next round from the old site again
            build(old_data, out, TEST_BASE)
    print(f"build takes {duration:.2f}s; SIGKILL outcomes: {outcomes}")
    assert main(["build", "--data", str(new_data), "--out", str(out), "--base-url", TEST_BASE, "--quiet"]) == 0
    assert tree(out) == newer
    assert leftovers(out) == []


# ---------------------------------------------------------------- full disk

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_faults_full_disk_gives_a_clear_error_and_keeps_the_old_site(small_disk: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = write_records(tmp_path / "data", {"a.yaml": GOOD})
    out = small_disk / "site"
    build(data, out, TEST_BASE)
    before = tree(out)
    free = shutil.disk_usage(small_disk).free
    with open(small_disk / "filler", "wb") as fh:  # leave less room than a site needs
        fh.write(b"\0" * (free - 16 * 1024))
    newer = write_records(tmp_path / "newer", {"a.yaml": NEWER})
    assert main(["build", "--data", str(newer), "--out", str(out), "--base-url", TEST_BASE, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: could not write the site: no space left on the device (")
    assert err.rstrip().endswith("The previous site/ is unchanged.")
    assert "Traceback" not in err
    assert tree(out) == before
    assert leftovers(out) == []  # the half-written staging folder is gone, giving the space back
    (small_disk / "filler").unlink()
    assert main(["build", "--data", str(data), "--out", str(out), "--base-url", TEST_BASE, "--quiet"]) == 0
    assert tree(out) == before and (out / MARKER).is_file()


# ---------------------------------------------------------------- a record file changed during a build

@pytest.mark.heavy
def test_faults_record_file_changed_during_build_is_never_half_published(tmp_path: Path) -> None:
    other = "talks:\n  - {id: u, title: Another talk, start: 2024-05-24T09:30, timezone: Europe/Paris, sources: [s]}\n"
    data = write_records(tmp_path / "data", {"a.yaml": GOOD, "b.yaml": other})
    out = tmp_path / "site"
    build(data, out, TEST_BASE)
    versions = [GOOD, NEWER]
    expected = {}
    for i, text in enumerate(versions):
        probe = write_records(tmp_path / f"v{i}", {"a.yaml": text, "b.yaml": other})
        build(probe, tmp_path / f"v{i}-site", TEST_BASE)
        expected[i] = tree(tmp_path / f"v{i}-site")
    stop = threading.Event()

    def editor() -> None:  # rewrites the file in place (truncate, then write), as many editors do
        n = 0
        while not stop.is_set():
            n += 1
            with open(data / "a.yaml", "w", encoding="utf-8") as fh:
                fh.write(versions[n % 2][: len(versions[n % 2]) // 2])
                fh.flush()
                time.sleep(0.001)
                fh.write(versions[n % 2][len(versions[n % 2]) // 2:])
            time.sleep(0.05)

    results = []
    t = time.monotonic()
    lod_build(data, tmp_path / "timing").wait()
    duration = time.monotonic() - t
    for stop_after in (0.2, 0.4, 0.6, 0.8, 1.0):  # edits stop at points spread over the build
        current = tree(out)
        stop.clear()
        thread = threading.Thread(target=editor)
        thread.start()
        proc = lod_build(data, out)
        time.sleep(stop_after * duration)
        stop.set()
        thread.join()
        _, err = proc.communicate(timeout=120)
        now = tree(out)
        if proc.returncode == 0:
            assert now in (expected[0], expected[1]), "the site mixes versions of the record file"
            results.append("published")
        else:
            # Refused: the change was noticed, or the half-written file was read and is not valid.
            assert proc.returncode == 1, err
            assert b"Traceback" not in err and b"internal error" not in err, err
            assert now == current
            results.append("refused")
        assert leftovers(out) == []
    # With the file still, the next build succeeds and matches the file's final content.
    assert main(["build", "--data", str(data), "--out", str(out), "--base-url", TEST_BASE, "--quiet"]) == 0
    final = (data / "a.yaml").read_text()
    assert tree(out) == expected[versions.index(final)]
    print(f"edits during the build: {results}")


@pytest.mark.parametrize("incremental", [False, True])
def test_faults_build_refuses_to_publish_when_a_record_file_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     incremental: bool) -> None:
    # Deterministic version of the above: the file changes between reading and publishing.
    import lod.publishing.build
    import lod.publishing.pipeline

    data = write_records(tmp_path / "data", {"a.yaml": GOOD})
    out = tmp_path / "site"
    build(data, out, TEST_BASE)
    before = tree(out)
    module, name = lod.publishing.pipeline, "_google"  # after the pages stage, in a full build and a rebuild
    real = getattr(module, name)

    def write_then_edit(*args: object, **kwargs: object) -> object:
        (data / "a.yaml").write_text(NEWER + "\n", encoding="utf-8")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, write_then_edit)
    with pytest.raises(BuildError) as info:
        build(data, out, TEST_BASE, incremental=incremental)
    assert str(info.value).startswith(f"the record file {data}/a.yaml changed during the build")
    assert tree(out) == before and leftovers(out) == []
