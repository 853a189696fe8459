"""The few domain exceptions. They are converted to HTTP errors (app/api) or one-line CLI errors
(app/cli.py) at the edge, in one place each."""


class AskDeskError(Exception):
    """Base class: the message is shown to the user as is, so it says what to do."""


class ConfigError(AskDeskError):
    """Settings or environment make the requested operation impossible."""


class IngestError(AskDeskError):
    """A knowledge file cannot be read or parsed."""


class EmptyKnowledgeBase(AskDeskError):
    """Nothing has been ingested into the collection being queried."""


class EmbeddingMismatch(AskDeskError):
    """The collection was built with another embedding model than the one configured."""


class LLMUnavailable(AskDeskError):
    """No LLM backend could serve the request."""


class BadRequest(AskDeskError):
    """The caller sent something invalid."""
