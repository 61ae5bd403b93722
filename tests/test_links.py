"""Read-sets held as rows of key numbers (lod.publishing.links): the same sets, whatever codec numbered them."""

from __future__ import annotations

import pickle

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
