"""What every route of one app shares: the service, the log, the answer cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.api.cache import AnswerCache
from monitor.api.errors import ApiError
from monitor.api.freshness import NewestResult
from monitor.api.scrub import Scrubber
from monitor.artifacts.build import build_artifact_store
from monitor.artifacts.store import ArtifactStore
from monitor.config.loader import LoadedConfig
from monitor.config.models import ApiSettings, CheckCommon
from monitor.config.root import SmokewatchConfig
from monitor.contract import ServiceView
from monitor.store import ResultStore


@dataclass(slots=True)
class ApiContext:
    """One app's state.  The config is read through the service on every use: a reload swaps it."""

    service: ServiceView
    log: Any
    version: str
    cache: AnswerCache = field(default_factory=AnswerCache)
    newest: NewestResult = field(default_factory=NewestResult)
    _scrubbed: tuple[LoadedConfig, Scrubber] | None = None
    _artifacts: tuple[LoadedConfig, ResultStore, ArtifactStore] | None = None

    @property
    def loaded(self) -> LoadedConfig:
        return self.service.loaded

    @property
    def config(self) -> SmokewatchConfig:
        return self.service.loaded.config

    @property
    def settings(self) -> ApiSettings:
        return self.service.loaded.config.api

    def scrubber(self) -> Scrubber:
        """The scrubber for the config now in force (rebuilt after a reload)."""
        loaded = self.service.loaded
        if self._scrubbed is None or self._scrubbed[0] is not loaded:
            self._scrubbed = (loaded, Scrubber(loaded.secrets))
        return self._scrubbed[1]

    def artifacts(self) -> ArtifactStore:
        """The artifact store of the config and store now in force (rebuilt after a reload)."""
        loaded, store = self.service.loaded, self.service.store
        cached = self._artifacts
        if cached is None or cached[0] is not loaded or cached[1] is not store:
            cached = (loaded, store, build_artifact_store(loaded.config, store))
            self._artifacts = cached
        return cached[2]

    def check(self, name: str, *, private: bool = True) -> CheckCommon:
        """The configured check ``name``; a 404 answer if there is none, or if it is not
        public and ``private`` (the caller holds the token) is false: the same answer, so a
        private check's name is not confirmed to outsiders."""
        try:
            check = self.config.check(name)
        except KeyError:
            check = None
        if check is None or not (check.public or private):
            raise ApiError(404, "unknown_check", f"no check named '{name}'")
        return check

    async def cached(
        self,
        key: str,
        compute: Callable[[], Awaitable[bytes]],
        *,
        page: bool = False,
        private: bool = False,
    ) -> bytes:
        """``compute()``'s answer, reused for ``api.cache`` (``api.page_cache`` for the page)
        until a newer result is stored (:mod:`monitor.api.freshness`); ``private`` answers
        (with ``public: false`` checks) are kept apart from public ones."""
        ttl = self.settings.page_cache if page else self.settings.cache
        if ttl.total_seconds() <= 0:
            return await compute()
        newest = await self.newest.id(self.service.store)
        key = f"{key}+private" if private else key
        return await self.cache.get(key, ttl.total_seconds(), compute, version=newest)
