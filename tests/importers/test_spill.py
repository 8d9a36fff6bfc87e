"""The importer's scratch file: links come back oldest first, once each, a batch at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from issuegraph.domain.links import LinkType
from issuegraph.importers.model import SourceLink, SourceUser
from issuegraph.importers.spill import DONE, NEW, OUTSIDE, Spill

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def link(source_id: str, issue: str, other: str, minutes: int | None, **extra: object) -> SourceLink:
    return SourceLink(
        source_id=source_id,
        issue_id=issue,
        issue_ref=f"g/p#{issue}",
        other_id=other,
        other_ref=f"g/p#{other}",
        link_type=LinkType.BLOCKS,
        created_at=T0 + timedelta(minutes=minutes) if minutes is not None else None,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def spill() -> Iterator[Spill]:
    s = Spill()
    yield s
    s.close()


def ids(spill: Spill, states: tuple[str, ...], batch: int = 2) -> list[str]:
    return [x.source_id for page in spill.links(states, batch) for x in page]


def test_links_come_back_oldest_first_by_time_then_numeric_id(spill: Spill) -> None:
    """Creation time, then the id as a number (10 after 9), links without a time first."""
    spill.add_links(
        [link("10", "1", "2", 5), link("9", "1", "3", 5), link("x", "1", "4", None), link("1", "2", "3", 7)]
    )
    spill.add_links([link("3", "4", "5", 1)])
    assert ids(spill, (NEW,)) == ["x", "3", "9", "10", "1"]
    assert ids(spill, (NEW,), batch=1) == ["x", "3", "9", "10", "1"]
    assert ids(spill, (OUTSIDE,)) == []


def test_a_link_read_from_both_sides_is_kept_as_its_first_reader_saw_it(spill: Spill) -> None:
    """The second reading of a link (from its other issue) is ignored while the first is new."""
    spill.add_links([link("7", "1", "2", 0)])
    spill.add_links([link("7", "2", "1", 0)])
    (only,) = [x for page in spill.links((NEW,), 10) for x in page]
    assert (only.issue_id, only.other_id) == ("1", "2")


def test_a_new_reading_replaces_a_link_waiting_for_its_other_issue(spill: Spill) -> None:
    """A link that waited (outside) is read again from the other side once that side is imported."""
    spill.add_links([link("7", "1", "2", 0), link("8", "1", "3", 1)])
    spill.set_state(OUTSIDE, ["7"])
    spill.set_state(DONE, ["8"])
    spill.add_links([link("7", "2", "1", 0), link("8", "3", "1", 1)])
    got = [x for page in spill.links((NEW, OUTSIDE), 10) for x in page]
    assert [(x.source_id, x.issue_id) for x in got] == [("7", "2")]  # 8 was done: not again
    assert ids(spill, (OUTSIDE,)) == []


def test_changing_states_between_batches_neither_skips_nor_repeats(spill: Spill) -> None:
    """States change while the batches are read (as the links phase does)."""
    spill.add_links([link(str(n), "1", str(n + 100), n) for n in range(1, 8)])
    seen = []
    for page in spill.links((NEW, OUTSIDE), 3):
        seen += [x.source_id for x in page]
        spill.set_state(OUTSIDE, [x.source_id for x in page if int(x.source_id) % 2])
        spill.set_state(DONE, [x.source_id for x in page if not int(x.source_id) % 2])
    assert seen == ["1", "2", "3", "4", "5", "6", "7"]
    assert ids(spill, (OUTSIDE,)) == ["1", "3", "5", "7"]
    assert ids(spill, (NEW,)) == []


def test_every_field_survives_the_round_trip(spill: Spill) -> None:
    """Author, type, time and the source's handle of the other project come back as they went in."""
    written = [
        link("1", "a", "b", 3, author=SourceUser("alice", "Alice", "a@example.com"), other_project=42),
        link("2", "a", "c", None, other_project="id:xyz"),
        SourceLink("3", "a", "g/p#1", "d", "h/q#2", LinkType.SUBISSUE_OF),
    ]
    spill.add_links(written)
    assert [x for page in spill.links((NEW,), 10) for x in page] == [written[1], written[2], written[0]]


def test_markers_of_issues_with_a_link_left_out_are_not_settled(spill: Spill) -> None:
    """Complete markers come back in batches, without the incomplete issues, then are gone."""
    for n in range(5):
        spill.mark_links_read(f"i{n}", f"f{n}")
    spill.mark_links_read("i1", "newer")
    spill.add_incomplete(["i2", "i9"])
    got = [pair for page in spill.complete_markers(2) for pair in page]
    assert got == [("i0", "f0"), ("i1", "newer"), ("i3", "f3"), ("i4", "f4")]
    assert [pair for page in spill.complete_markers(2) for pair in page] == []
