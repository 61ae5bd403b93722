"""Read-sets held as rows of key numbers (lod.publishing.links): the same sets, whatever codec numbered them."""

from __future__ import annotations

import pickle

import pytest

from lod.publishing.link_rows import Readers
from lod.publishing.links import LinkCodec, Links, Made, marks_in

A, B, C = ("talk", "a"), ("q:person_talks", "p"), ("desc", "https://x.org/talk/a")


def test_links_look_up_the_sets_they_were_given() -> None:
    links = Links.of({("html", "talk/a"): {A, B}, ("vevent", "a"): {A}})
    assert links[("html", "talk/a")] == {A, B} and links[("vevent", "a")] == {A}
    assert links == {("html", "talk/a"): frozenset({A, B}), ("vevent", "a"): frozenset({A})}


def test_rows_of_another_codec_are_renumbered_when_taken() -> None:
    old = Links.of({("html", "x"): {C, A}})
    new = Links.of({("html", "y"): {B, C, ("agent", "z")}})  # its own codec: C has another number there
    assert new.codec.number[C] != old.codec.number[C]
    old.take(new)
    assert old[("html", "y")] == {B, C, ("agent", "z")} and old[("html", "x")] == {A, C}
    assert old.codec.take_added() == [(n, k) for n, k in enumerate(
        [f"{kind}\x1f{rid}" for kind, rid in old.codec.keys])]  # every key numbered since the codec was made


def test_a_workers_made_crosses_a_pickle_with_its_digests_by_key() -> None:
    made = Made()
    made.add(("html", "talk/a"), {A, B})
    made.digest(lambda key: (b"d" + key[1].encode(), {("person", "p")}) if key[0].startswith("q:") else None)
    back = pickle.loads(pickle.dumps(made))
    main = Made()
    main.add(("calendar", "talk/a.ics"), {C, A})
    main.update(back)
    assert main[("html", "talk/a")] == {A, B}
    assert main.answers() == {B: b"dp"}
    assert main.links() == {("html", "talk/a"): {A, B}, ("calendar", "talk/a.ics"): {A, C}, B: {("person", "p")}}
    assert not main.rows and not main.reads  # taken out, not copied


def test_a_codec_read_back_numbers_only_the_new_keys() -> None:
    codec = LinkCodec([A, B])
    codec.encode({B, C})
    assert codec.take_added() == [(2, "desc\x1fhttps://x.org/talk/a")] and codec.take_added() == []


def test_the_keys_rows_hold_are_marked_a_byte_a_key() -> None:
    codec = LinkCodec()
    rows = [codec.encode([("talk", str(i)), ("talk", str(i + 2))]) for i in range(0, 10, 4)]
    marks = marks_in(rows, len(codec.keys) + 2, chunk=2)
    assert [n for n, m in enumerate(marks) if m] == [0, 1, 2, 3, 4, 5]  # talk 0, 2; 4, 6; 8, 10
    assert marks_in(rows, len(codec.keys), chunk=1) == marks_in(iter(rows), len(codec.keys)) == marks[:6]
    assert len(marks) == 8 and marks_in([], 3) == bytearray(3)


def test_a_query_no_node_reads_is_dropped_and_one_a_node_reads_is_kept() -> None:
    read, unread = ("q:feed", "a"), ("q:feed", "b")
    links = Links.of({("html", "talk/a"): {read, A}, read: {B}, unread: {C}})
    links.drop_unread(lambda key: key[0].startswith("q:"))
    assert dict(links) == {("html", "talk/a"): frozenset({read, A}), read: frozenset({B})}


def test_the_rows_holding_a_key_are_found_by_a_search_that_skips_bytes_across_two_numbers() -> None:
    from array import array

    def row(*numbers: int) -> bytes:
        return array("I", numbers).tobytes()

    # 65536 then 2**24 hold the bytes of 1 across the two (00 00 01 00 | 00 00 00 01, little-endian).
    rows = {("html", "a"): row(65536, 1 << 24), ("html", "b"): row(1), ("html", "c"): row(0, 1, 7),
            ("html", "d"): row(), ("html", "e"): row(7)}
    readers = Readers(rows)
    assert list(readers.of(1)) == [("html", "b"), ("html", "c")]
    assert list(readers.of(7)) == [("html", "c"), ("html", "e")]
    assert list(readers.of(65536)) == [("html", "a")] and list(readers.of(2)) == []
    assert readers.any_of([0, 1 << 24]) == {("html", "a"), ("html", "c")}
    assert readers.any_of([]) == set() and list(Readers({}).of(1)) == []


@pytest.mark.parametrize("seed", range(5))
def test_the_rows_holding_many_keys_are_found_by_one_scan_as_by_a_search_for_each(seed: int) -> None:
    import random
    from array import array

    from lod.publishing import link_rows as links

    rng = random.Random(seed)
    rows = {("html", f"p{i}"): array("I", rng.sample(range(5000), rng.randrange(0, 30))).tobytes() for i in range(400)}
    rows[("html", "empty")] = b""
    rows[("html", "large")] = array("I", [65536, 1 << 24]).tobytes()  # the bytes of 1 across the two
    readers = Readers(rows)
    for n in (0, 1, 3, 200, 2000, 6000):
        wanted = set(rng.sample(range(6000), n)) | ({1 << 24} if n % 2 else set())
        searched = {node for k in wanted for node in readers.of(k)}
        assert readers._scan(wanted) == searched  # the scan, whatever the size
        assert readers.any_of(wanted) == searched  # and either way by the count
    assert links.SEARCHED_MOST < 2000


def _row(*numbers: int) -> bytes:
    from array import array
    return array("I", numbers).tobytes()


def test_stored_rows_find_a_row_by_its_key_and_the_rows_of_a_kind_as_a_range() -> None:
    from lod.publishing.link_rows import StoredRows

    rows = {("vevent", "t1"): _row(1), ("html", "talk/b"): _row(2, 3), ("q:feed", "x"): _row(),
            ("html", "talk/a"): _row(4), ("calendar", "series/s.ics"): _row(1, 5), ("q:span", "y"): _row(6),
            ("html", "odd\x1fid"): _row(7)}
    stored = StoredRows.of(rows)
    assert dict(stored) == rows and len(stored) == len(rows)
    assert stored[("html", "odd\x1fid")] == _row(7) and ("html", "talk/c") not in stored and "html" not in stored
    assert stored.ids("html") == ["odd\x1fid", "talk/a", "talk/b"] and stored.ids("q:feed") == ["x"]
    lo, hi = stored.span("q:")
    assert [stored.key(i) for i in range(lo, hi)] == [("q:feed", "x"), ("q:span", "y")]
    # The nodes' rows are searched apart from the queries': a number a query's row holds finds no node.
    nodes = Readers(stored, [(0, lo), (hi, len(stored))])
    assert nodes.any_of([1]) == {("vevent", "t1"), ("calendar", "series/s.ics")}
    assert nodes.any_of([6]) == set() and Readers(stored, [(lo, hi)]).any_of([6]) == {("q:span", "y")}
    assert nodes._scan({1, 6, 7}) == {("vevent", "t1"), ("calendar", "series/s.ics"), ("html", "odd\x1fid")}


def test_stored_rows_read_out_of_key_order_are_refused() -> None:
    from lod.publishing.link_rows import StoredRows

    with pytest.raises(ValueError, match="not in key order"):
        StoredRows.read([("html\x1fb", _row(1)), ("html\x1fa", _row(2))])


def test_a_damaged_stored_row_is_named() -> None:
    from lod.publishing.link_rows import StoredRows

    cut = StoredRows.read([("html\x1fa", _row(1)), ("html\x1fb", _row(2)[:3]), ("html\x1fc", _row(3)[:1])])
    assert cut.damaged(10) == (("html", "b"), "3 bytes, not a whole number of key numbers")
    past = StoredRows.read([("html\x1fa", _row(1, 2)), ("html\x1fb", _row(4, 12)), ("html\x1fc", _row())])
    assert past.damaged(12) == (("html", "b"), "a key number past the 12 keys numbered")
    assert past.damaged(13) is None


def test_changed_rows_hold_what_was_put_and_write_only_that() -> None:
    from lod.publishing.link_rows import Changed, StoredRows

    base = StoredRows.of({("html", "a"): _row(1), ("html", "b"): _row(2), ("html", "c"): _row(3)})
    rows = Changed(base, [("html", "a"), ("html", "gone before")])
    rows[("html", "b")] = _row(20)
    rows[("html", "d")] = _row(4)
    del rows[("html", "c")]
    rows[("html", "e")] = _row(5)
    del rows[("html", "e")]
    with pytest.raises(KeyError):
        del rows[("html", "a")]  # dropped already
    assert dict(rows) == {("html", "b"): _row(20), ("html", "d"): _row(4)} and len(rows) == 2
    assert ("html", "a") not in rows and ("html", "c") not in rows and ("html", "b") in rows
    put, dropped = rows.delta()
    assert put == {("html", "b"): _row(20), ("html", "d"): _row(4)} and sorted(dropped) == [("html", "a"), ("html", "c")]
    assert dict(base) == {("html", "a"): _row(1), ("html", "b"): _row(2), ("html", "c"): _row(3)}  # untouched
