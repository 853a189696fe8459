"""What the request path needs from parts that live elsewhere, as protocols. The composition root
(askdesk/) passes in the implementations: Chroma behind ``KnowledgeStore`` (app/knowledge_store.py)
and the upload flow behind ``SourceUploads`` (ingest/uploads.py), so app/ never imports ingest/."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.embeddings import Embedder
from app.records import Record


class KnowledgeStore(Protocol):
    """Records and their vectors, one collection per embedding model (index = the model's position)."""

    embedders: Sequence[Embedder]

    def version(self) -> tuple[int, int]: ...
    def bump_version(self) -> None: ...
    def reset(self) -> None: ...
    def get_all(self, index: int = 0, *, with_embeddings: bool = False, create: bool = False): ...
    def get_index(self, index: int = 0, *, create: bool = False, like: dict[str, dict] | None = None) -> dict[str, dict]: ...
    def sources(self) -> dict[str, dict]: ...
    def delete_source(self, source: str) -> int: ...
    def upsert(self, index: int, records: Sequence[Record], vectors: np.ndarray) -> None: ...
    def delete(self, index: int, ids: Iterable[str]) -> None: ...


@dataclass(frozen=True)
class UploadResult:
    source: str
    summary: str
    added: int
    updated: int
    unchanged: int
    entries: int


class SourceUploads(Protocol):
    """Knowledge files added and removed through the admin API."""

    max_bytes: int

    def add(self, filename: str, data: bytes) -> UploadResult: ...
    def remove(self, source: str) -> int: ...
