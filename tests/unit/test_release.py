"""Letting go of a large list in slices: it ends empty and its elements are freed."""

from __future__ import annotations

import asyncio
import weakref

from finops.core.release import release


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
