"""Postponing the interpreter's full garbage collections while a large batch is being built.

A full (oldest-generation) collection walks every container object alive, in one C call that holds the GIL: once
a 100,000-request batch is parsed that is ~1 M objects and 50 to 150 ms, during which no other request is served;
building the batch allocates enough to trigger several. Raising the third threshold out of reach while any large
create runs stops those; young collections go on (cyclic garbage of other requests is still reclaimed), and the
thresholds come back when the last large create ends, by when its objects are freed and the next full collection
is short again. ``gc.disable()`` would stop young collections too; ``gc.freeze()`` would keep the batch's objects
out of every later collection, cycles included.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

_OUT_OF_REACH = 2**31 - 1
"""A third threshold no count of young collections reaches (the count it is compared with is a C int)."""


class _Postponement:
    """Counts the creates holding full collections off; the first saves the thresholds, the last restores them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._saved = gc.get_threshold()

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._saved = gc.get_threshold()
                gc.set_threshold(self._saved[0], self._saved[1], _OUT_OF_REACH)
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    gc.set_threshold(*self._saved)


_postponement = _Postponement()


def full_collections_postponed() -> AbstractContextManager[None]:
    """While inside (on any thread, nested or concurrent), no full collection starts by itself."""
    return _postponement.held()
