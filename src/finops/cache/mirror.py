"""One process's copy of the cache: which keys are cached (all of them, as the store has them), the semantic
index, and the answers most recently used (bounded in bytes; the others are read from the store on a hit).

Everything here is plain in-memory work on the event loop: an exact hit that finds its answer here costs a
dictionary lookup, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cachetools import LRUCache

from finops.cache.index import Match, SemanticIndex, Vector


@dataclass(slots=True)
class Entry:
    seq: int
    exact_key: str
    context_key: str | None
    expires_at: float


class Mirror:
    def __init__(self, answer_bytes: int) -> None:
        self._by_key: dict[str, Entry] = {}
        self._by_seq: dict[int, Entry] = {}
        self._answers: LRUCache[int, bytes] = LRUCache(maxsize=answer_bytes, getsizeof=len)
        self.index = SemanticIndex()

    def __len__(self) -> int:
        return len(self._by_seq)

    def __contains__(self, seq: int) -> bool:
        return seq in self._by_seq

    def add(self, entry: Entry, vector: Vector | None = None, answer: bytes | None = None) -> None:
        stale = self._by_key.get(entry.exact_key)
        if stale is not None and stale.seq != entry.seq:
            self.remove(stale.seq)
        self._by_key[entry.exact_key] = entry
        self._by_seq[entry.seq] = entry
        if vector is not None and entry.context_key is not None:
            self.index.add(entry.context_key.encode(), entry.seq, vector)
        if answer is not None:
            self.remember(entry.seq, answer)

    def add_many(self, entries: list[tuple[Entry, Vector | None]]) -> None:
        """Entries caught up from the store: their vectors go into the index one batch per context."""
        by_context: dict[str, tuple[list[int], list[Vector]]] = {}
        for entry, vector in entries:
            self.add(entry)
            if vector is not None and entry.context_key is not None:
                seqs, vectors = by_context.setdefault(entry.context_key, ([], []))
                seqs.append(entry.seq)
                vectors.append(vector)
        for context, (seqs, vectors) in by_context.items():
            self.index.add_many(context.encode(), seqs, np.stack(vectors))

    def remember(self, seq: int, answer: bytes) -> None:
        if len(answer) <= self._answers.maxsize:
            self._answers[seq] = answer

    def remove(self, seq: int) -> None:
        entry = self._by_seq.pop(seq, None)
        if entry is None:
            return
        if self._by_key.get(entry.exact_key) is entry:
            del self._by_key[entry.exact_key]
        self.index.remove(seq)
        self._answers.pop(seq, None)

    def by_key(self, exact_key: str, now: float) -> Entry | None:
        entry = self._by_key.get(exact_key)
        if entry is None:
            return None
        if entry.expires_at <= now:
            self.remove(entry.seq)
            return None
        return entry

    def by_seq(self, seq: int, now: float) -> Entry | None:
        entry = self._by_seq.get(seq)
        if entry is None or entry.expires_at <= now:
            if entry is not None:
                self.remove(seq)
            return None
        return entry

    def answer(self, seq: int) -> bytes | None:
        try:
            return self._answers[seq]  # indexing marks it recently used
        except KeyError:
            return None

    def nearest(self, context_key: str, query: Vector) -> Match | None:
        return self.index.search(context_key.encode(), query)

    def expired(self, now: float) -> list[int]:
        return [entry.seq for entry in self._by_seq.values() if entry.expires_at <= now]
