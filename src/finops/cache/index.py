"""The in-process vector index of the semantic layer.

A semantic hit needs the same namespace and conversation so far (the context key) *and* a close question, so
vectors are grouped by context key and a query searches its own group only: no neighbour from another owner or
another conversation can crowd out (or be mistaken for) the right one.

Most groups are small (a conversation asked a handful of ways), and a usearch index costs ~48 KB even for one
vector, so a group starts as a numpy matrix searched by brute force (a 1,024 x 256 dot product takes ~25 µs) and
becomes a usearch HNSW index once it outgrows ``PROMOTE_AT`` vectors (``docs/decisions.md``, measured in
``bench/cache.py``). Vectors are unit-normalised on the way in, so a dot product is the cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from usearch.index import Index

Vector = npt.NDArray[np.float32]

PROMOTE_AT = 1024
"""Vectors a group holds before it moves from brute force to HNSW."""

_CONNECTIVITY = 16
_EXPANSION_ADD = 32
_EXPANSION_SEARCH = 64
_CANDIDATES = 4
"""Neighbours an HNSW search returns: its best may be one removed a moment ago (usearch removes lazily)."""


def unit(vector: npt.ArrayLike) -> Vector:
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


@dataclass(frozen=True)
class Match:
    seq: int
    similarity: float


class _Group:
    """One context's vectors: brute force while small, HNSW once large."""

    __slots__ = ("_dimensions", "_hnsw", "_keys", "_matrix", "_position", "_size")

    def __init__(self, dimensions: int) -> None:
        self._dimensions = dimensions
        self._matrix: Vector = np.empty((4, dimensions), dtype=np.float32)
        self._keys: list[int] = []
        self._position: dict[int, int] = {}
        self._size = 0
        self._hnsw: Index | None = None

    def __len__(self) -> int:
        return len(self._hnsw) if self._hnsw is not None else self._size

    def add(self, seq: int, vector: Vector) -> None:
        if self._hnsw is not None:
            if not self._hnsw.contains(seq):
                self._hnsw.add(seq, vector)
            return
        if seq in self._position:
            return
        if self._size == len(self._matrix):
            if self._size >= PROMOTE_AT:
                self._promote()
                self.add(seq, vector)
                return
            grown = np.empty((len(self._matrix) * 2, self._dimensions), dtype=np.float32)
            grown[: self._size] = self._matrix[: self._size]
            self._matrix = grown
        self._matrix[self._size] = vector
        self._keys.append(seq)
        self._position[seq] = self._size
        self._size += 1

    def add_many(self, seqs: list[int], vectors: Vector) -> None:
        """Several vectors at once (catching up): one batch insert into HNSW, whose cost per vector is far below
        that of single inserts."""
        fresh = [at for at, seq in enumerate(seqs) if seq not in self]
        if not fresh:
            return
        seqs, vectors = [seqs[at] for at in fresh], vectors[fresh]
        if self._hnsw is None and self._size + len(seqs) > PROMOTE_AT:
            self._promote()
        if self._hnsw is not None:
            self._hnsw.add(np.asarray(seqs, dtype=np.uint64), vectors, threads=0)
            return
        for seq, vector in zip(seqs, vectors, strict=True):
            self.add(seq, vector)

    def __contains__(self, seq: int) -> bool:
        return bool(self._hnsw.contains(seq)) if self._hnsw is not None else seq in self._position

    def _promote(self) -> None:
        index = Index(
            ndim=self._dimensions,
            metric="cos",
            dtype="f32",
            connectivity=_CONNECTIVITY,
            expansion_add=_EXPANSION_ADD,
            expansion_search=_EXPANSION_SEARCH,
        )
        if self._size:
            index.add(np.asarray(self._keys, dtype=np.uint64), self._matrix[: self._size], threads=0)
        self._hnsw = index
        self._matrix = np.empty((0, self._dimensions), dtype=np.float32)
        self._keys = []
        self._position = {}
        self._size = 0

    def remove(self, seq: int) -> None:
        if self._hnsw is not None:
            if self._hnsw.contains(seq):
                self._hnsw.remove(seq)
            return
        at = self._position.pop(seq, None)
        if at is None:
            return
        last = self._size - 1
        if at != last:  # move the last vector into the hole
            moved = self._keys[last]
            self._matrix[at] = self._matrix[last]
            self._keys[at] = moved
            self._position[moved] = at
        self._keys.pop()
        self._size = last

    def best(self, query: Vector) -> Match | None:
        if self._hnsw is not None:
            if len(self._hnsw) == 0:
                return None
            found = self._hnsw.search(query, _CANDIDATES)
            if len(found.keys) == 0:
                return None
            return Match(int(found.keys[0]), 1.0 - float(found.distances[0]))
        if self._size == 0:
            return None
        scores = self._matrix[: self._size] @ query
        at = int(np.argmax(scores))
        return Match(self._keys[at], float(scores[at]))


class SemanticIndex:
    """Vectors by context key; ``search`` answers the closest vector of the query's own context."""

    def __init__(self, dimensions: int | None = None) -> None:
        self.dimensions = dimensions
        self._groups: dict[bytes, _Group] = {}
        self._group_of: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self._group_of)

    def __contains__(self, seq: int) -> bool:
        return seq in self._group_of

    def add(self, context: bytes, seq: int, vector: Vector) -> bool:
        """Index ``vector`` (unit length) as entry ``seq``; a vector of another size than the first one indexed is
        refused (an embedding model changed under a running gateway) and ``False`` is answered."""
        if self.dimensions is None:
            self.dimensions = len(vector)
        elif len(vector) != self.dimensions:
            return False
        group = self._groups.get(context)
        if group is None:
            group = self._groups[context] = _Group(self.dimensions)
        group.add(seq, vector)
        self._group_of[seq] = context
        return True

    def add_many(self, context: bytes, seqs: list[int], vectors: Vector) -> None:
        """``add`` for rows of ``vectors`` (unit length), one batch per group; vectors of another size are
        skipped."""
        if self.dimensions is None:
            self.dimensions = vectors.shape[1]
        if vectors.shape[1] != self.dimensions or not seqs:
            return
        group = self._groups.get(context)
        if group is None:
            group = self._groups[context] = _Group(self.dimensions)
        group.add_many(seqs, vectors)
        for seq in seqs:
            self._group_of[seq] = context

    def remove(self, seq: int) -> None:
        context = self._group_of.pop(seq, None)
        if context is None:
            return
        group = self._groups[context]
        group.remove(seq)
        if len(group) == 0:
            del self._groups[context]

    def search(self, context: bytes, query: Vector) -> Match | None:
        group = self._groups.get(context)
        if group is None or self.dimensions is None or len(query) != self.dimensions:
            return None
        return group.best(query)
