"""Question -> ranked, scored hits: hybrid dense + BM25 retrieval with a calibrated confidence."""

from app.retrieval.retriever import Hit, Retriever, SearchResult

__all__ = ["Hit", "Retriever", "SearchResult"]
