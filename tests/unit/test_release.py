"""Letting go of a large list in slices: it ends empty and its elements are freed. And a worker thread's long
loop lets the event loop have the GIL every so many items."""

from __future__ import annotations

import asyncio
import weakref

import pytest

from finops.core import release as release_module
from finops.core.release import GilPacer, release


class Item:
    pass


def test_release_empties_the_list_and_frees_its_elements() -> None:
    items = [Item() for _ in range(2_500)]
    watched = [weakref.ref(items[0]), weakref.ref(items[1_234]), weakref.ref(items[-1])]
    asyncio.run(release(items))
    assert items == []
    assert [ref() for ref in watched] == [None, None, None]


def test_elements_held_elsewhere_stay() -> None:
    kept = Item()
    items = [Item(), kept, Item()]
    asyncio.run(release(items))
    assert items == [] and isinstance(kept, Item)


def test_a_paced_loop_hands_the_gil_over_every_so_many_items(monkeypatch: pytest.MonkeyPatch) -> None:
    handed_over: list[float] = []
    monkeypatch.setattr(release_module.time, "sleep", handed_over.append)
    pacer = GilPacer(every=100)
    for _ in range(1_050):
        pacer.step()
    assert handed_over == [0] * 10
