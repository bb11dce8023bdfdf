"""Per-model JSONL part files for providers whose batch jobs run one model each (OpenAI batches, Bedrock
invocation jobs), written straight to disk.

An Anthropic batch may hold 100,000 requests on any mix of models; such a provider needs one upstream job per
model, each under its caps on records and bytes. Each translated line is appended to the open file of its model;
a file that would pass a cap is closed and the model continues in a new one. Parts come out grouped by model, in
the order each model first appears (easier to read in the stored state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Generic, TypeVar

from finops.core.errors import InvalidRequestError
from finops.core.release import GilPacer


@dataclass
class SpooledPart:
    """One upstream job to be: its model, its JSONL input file and how many requests and bytes it holds."""

    model: str
    path: Path
    count: int = 0
    size: int = 0


PartT = TypeVar("PartT", bound=SpooledPart)


class PartSpool(Generic[PartT]):
    """Use as a context manager (every file is closed, also when a translation fails midway); ``parts`` once
    every line is written. ``provider_rule`` finishes the errors' sentences: "a <provider_rule> and a batch may
    name at most N models" / "... larger than <provider_rule> may be"."""

    def __init__(
        self,
        directory: Path,
        new_part: Callable[[str, Path], PartT],
        *,
        max_models: int,
        max_bytes: int,
        too_many_models: str,
        too_large: str,
    ) -> None:
        self._directory = directory
        self._new_part = new_part
        self._max_models = max_models
        self._max_bytes = max_bytes
        self._too_many_models = too_many_models
        self._too_large = too_large
        self._models: dict[str, int] = {}
        self._parts: list[PartT] = []
        self._open: dict[str, tuple[PartT, IO[bytes]]] = {}
        self._pacer = GilPacer()

    def __enter__(self) -> PartSpool[PartT]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for _, handle in self._open.values():
            handle.close()
        self._open.clear()

    def check_model(self, index: int, model: str) -> None:
        """Call before translating request ``index``: a new model past ``max_models`` is refused by name."""
        if model not in self._models:
            if len(self._models) == self._max_models:
                raise InvalidRequestError(
                    f"requests.{index}.params.model: {self._too_many_models} and a batch may name at most "
                    f"{self._max_models} models; split this batch"
                )
            self._models[model] = len(self._models)

    def write(self, model: str, line: bytes, max_records: int) -> PartT:
        """Append ``line`` to ``model``'s open part, or to a new one when it would pass a cap; the part it went to."""
        part, handle = self._part_for(model, len(line), max_records)
        handle.write(line)
        part.count += 1
        part.size += len(line)
        self._pacer.step()  # written on a worker thread: the event loop gets the GIL now and then
        return part

    def parts(self) -> list[PartT]:
        return sorted(self._parts, key=lambda part: self._models[part.model])

    def _part_for(self, model: str, line_size: int, max_records: int) -> tuple[PartT, IO[bytes]]:
        current = self._open.get(model)
        if current is not None:
            part, handle = current
            if part.count < max_records and part.size + line_size <= self._max_bytes:
                return current
            handle.close()
        if line_size > self._max_bytes:
            raise InvalidRequestError(f"a request for {model!r} is larger than {self._too_large} may be")
        part = self._new_part(model, self._directory / f"part-{len(self._parts)}.jsonl")
        self._parts.append(part)
        opened = (part, part.path.open("wb"))
        self._open[model] = opened
        return opened
