"""The command line's view of a build's progress events (``lod.progress``): the only place they become text.

On a terminal each stage shows a live bar (done/total, rate, time left; tqdm) that gives way
to the stage's summary line when it ends. Anywhere else (CI, logs, pipes) each stage prints
one plain line when it starts and one when it ends, so a log shows what ran and how long.
"""

from __future__ import annotations

from typing import IO, Any

from lod.progress import Advanced, Checked, Event, Finished, FullBuildNeeded, Narrowed, Started, StateNotSaved

# Why an incremental build could not run, by reason (lod.progress.REASONS).
REASONS = {
    "no-state": "there is no state from an earlier build beside the site",
    "other-site": "the site is not the one the saved state describes",
    "other-code": "the code, the Python version or the base URL differ from the last build",
    "site-settings": "the site settings changed ({detail})",
    "load-errors": "the data has errors a partial load could not report",
    "state-version": "the state beside the site is in another format ({detail})",
    "state-damaged": "the state beside the site cannot be read ({detail})",
    "state-behind": "the state beside the site is older than the site (a build was stopped after publishing)",
    "most-pages": "the changes reach most pages ({detail}), which a full build makes in less memory",
}
# Each stage's summary: the first template whose names the stage reported (an incremental
# build's stages report what they did again), else a generic one.
SUMMARIES: dict[str, list[str]] = {
    "load": ["{reparsed} of {files} files parsed again, {resolved} records resolved again, {changed} changed",
             "{files} files, {talks} talks, {people} people, {organizations} organisations, {places} places"],
    "map": ["{resources} resources mapped again, {triples} triples", "{triples} triples"],
    "validate": ["{resources} resources checked again, {violations} violations, {warnings} warnings",
                 "{violations} violations, {warnings} warnings"],
    "dumps": ["dump.ttl, dump.nt, dump.jsonld and {resources} descriptions in {formats} formats",
              "{resources} resources spliced in"],
    "pages": ["{pages_again} pages and {calendars_again} calendars rendered again", "{pages} pages, {calendars} calendars"],
    "gallery": ["{answered} example queries answered, {reused} answers kept", "the example queries answered"],
    "state": ["{read_sets} read-sets kept for the next build"],
    "publish": ["{written} files written, {deleted} removed, in place", "{files} files, swapped in whole"],
}


def summary(e: Finished) -> str:
    """The line that says what a finished stage did."""
    counts: dict[str, Any] = dict(e.counts)
    for template in SUMMARIES.get(e.stage, []):
        try:
            return f"{e.stage}: {template.format(**counts)} ({e.seconds:.2f}s)"
        except KeyError:
            continue
    said = ", ".join(f"{value} {name}" for name, value in counts.items())
    return f"{e.stage}: {said or 'done'} ({e.seconds:.2f}s)"


def text(e: Event) -> str | None:
    """The line an event prints off a terminal (None: nothing)."""
    if isinstance(e, Started):
        return f"{e.stage}: {e.total} {e.unit} …" if e.unit else f"{e.stage} …"
    if isinstance(e, Finished):
        return summary(e)
    if isinstance(e, Checked):
        return e.report.summary()
    if isinstance(e, Narrowed):
        return (f"{e.stage}: on {e.processes} of {e.wanted} cores: a forked copy of the build ({_gb(e.own)}) "
                f"per other core would not fit in the {_gb(e.available)} available")
    if isinstance(e, FullBuildNeeded):
        return "full build: " + REASONS.get(e.reason, e.reason).format(detail=e.detail)
    if isinstance(e, StateNotSaved):
        then = ("its changes wait beside the site and the next build stores them first" if e.pending
                else "the next build will be a full one")
        return f"note: could not save the build state beside the site ({e.error}); {then}"
    return None  # Advanced: only a bar shows it


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


class Lines:
    """Plain stage lines, for logs and pipes."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, e: Event) -> None:
        line = text(e)
        if line is not None:
            print(line, file=self.stream, flush=True)


class Bars:
    """A live bar per running stage, for a terminal; each stage's summary line stays when it ends."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.bars: dict[str, Any] = {}

    def __call__(self, e: Event) -> None:
        from tqdm import tqdm

        if isinstance(e, Started):
            # A stage of one step has nothing to count: it shows its time only.
            shape = {"unit": f" {e.unit}"} if e.unit else {"bar_format": "{desc} … {elapsed}"}
            self.bars[e.stage] = _bar_class()(total=e.total, desc=e.stage, file=self.stream, leave=False, dynamic_ncols=True,
                                      mininterval=0.2, **shape)
        elif isinstance(e, Advanced):
            bar = self.bars.get(e.stage)
            if bar is not None:
                bar.update(e.done - bar.n)
        else:
            if isinstance(e, Finished):
                bar = self.bars.pop(e.stage, None)
                if bar is not None:
                    bar.update(e.done - bar.n)
                    bar.close()
            line = text(e)
            if line is not None:
                tqdm.write(line, file=self.stream)


def _bar_class() -> Any:
    """tqdm without its monitor thread: the build forks workers only from a process with one thread
    (lod.loading.pool, lod.publishing.pages.parallel), so a thread left running would make it parse and render on one core."""
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0

    return Bar


def watcher(stream: IO[str]) -> Lines | Bars:
    """Bars on a terminal, plain lines elsewhere."""
    return Bars(stream) if stream.isatty() else Lines(stream)
