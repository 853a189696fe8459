"""The few domain exceptions. They are converted to HTTP errors (app/api) or one-line CLI errors
(askdesk/cli.py) at the edge, in one place each."""


class AskDeskError(Exception):
    """Base class: the message is shown to the user as is, so it says what to do. ``param`` names the
    input at fault, where there is one (an API error body carries it)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ConfigError(AskDeskError):
    """Settings or environment make the requested operation impossible."""


class IngestError(AskDeskError):
    """A knowledge file cannot be read or parsed."""


class UnsupportedFileType(IngestError):
    """A file whose type AskDesk does not read as knowledge."""


class FileTooLarge(IngestError):
    """A file over the configured upload size."""


class UnreadableFile(IngestError):
    """A file of a supported type that failed to parse; nothing it held was changed."""


class NotFound(AskDeskError):
    """The named thing (a knowledge source) does not exist."""


class EmptyKnowledgeBase(AskDeskError):
    """Nothing has been ingested into the collection being queried."""


class EmbeddingMismatch(AskDeskError):
    """The collection was built with another embedding model than the one configured."""


class LLMUnavailable(AskDeskError):
    """No LLM backend could serve the request."""


class BadRequest(AskDeskError):
    """The caller sent something invalid."""


class OperationError(AskDeskError):
    """A backup, restore or re-embed cannot go on (bad archive, data in the way, a check failed)."""
