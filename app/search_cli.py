"""`askdesk search` (dense-only first version; replaced by the hybrid retriever)."""

from __future__ import annotations

from typing import Annotated

import typer


def search(
    query: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int, typer.Option("-k", help="How many entries.")] = 5,
) -> None:
    """Print the top entries for a question, with scores."""
    from app.knowledge_store import open_store
    from app.settings import get_settings

    store = open_store(get_settings())
    vec = store.embedders[0].embed_queries([query])
    seen: set[str] = set()
    for rid, score, meta, text in store.query(0, vec, k * 8)[0]:
        key = meta["entry_key"]
        if key in seen:
            continue
        seen.add(key)
        typer.echo(f"{score:.3f}  {key}  {text[:80]!r}")
        if len(seen) >= k:
            break


def register(cli: typer.Typer) -> None:
    cli.command("search")(search)
