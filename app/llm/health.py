"""Background health checks: poll ``<base_url without /v1>/health`` of every backend."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx

log = logging.getLogger(__name__)


def health_url(base_url: str) -> str:
    """``http://h:8000/v1`` -> ``http://h:8000/health`` (vLLM and llama.cpp serve it at the root)."""
    url = base_url.rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url + "/health"


async def check(client: httpx.AsyncClient, base_url: str, timeout_s: float = 2.0) -> bool:
    try:
        r = await client.get(health_url(base_url), timeout=timeout_s)
    except (httpx.HTTPError, OSError):
        return False
    return r.status_code == 200


class HealthMonitor:
    """Runs one asyncio task that checks all backends every ``interval_s`` and reports changes."""

    def __init__(
        self,
        urls: dict[str, str],
        on_result: Callable[[str, bool], None],
        *,
        interval_s: float = 5.0,
        timeout_s: float = 2.0,
    ) -> None:
        self._urls = urls
        self._on_result = on_result
        self._interval = interval_s
        self._timeout = timeout_s
        self._task: asyncio.Task | None = None
        self._client: httpx.AsyncClient | None = None

    async def check_all(self) -> None:
        assert self._client is not None
        names = list(self._urls)
        results = await asyncio.gather(*(check(self._client, self._urls[n], self._timeout) for n in names))
        for name, ok in zip(names, results, strict=True):
            self._on_result(name, ok)

    async def start(self) -> None:
        if self._task is not None:
            return
        self._client = httpx.AsyncClient()
        await self.check_all()  # know the state before the first request
        self._task = asyncio.create_task(self._loop(), name="llm-health")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check_all()
            except Exception:  # never let the monitor die silently
                log.exception("LLM health check failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
