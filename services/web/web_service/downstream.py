"""The one downstream dependency, guarded: timeout per attempt, bounded retries with jittered
backoff inside a wall-clock budget, and a circuit breaker that answers with a degraded
fallback while the dependency is down, probing it again (half-open) after a pause."""

import time

import httpx
from circuitbreaker import CircuitBreaker, CircuitBreakerError
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from .config import Settings
from .logs import log
from .tracing import outgoing_headers

# A functional answer when the recommender is unavailable: popular items, marked degraded.
FALLBACK_ITEMS = ("bestseller-1", "bestseller-2", "bestseller-3")


class DownstreamError(Exception):
    """The dependency failed: transport error, timeout or 5xx."""


class Recommender:
    def __init__(self, settings: Settings, client: httpx.AsyncClient):
        self.settings = settings
        self.client = client
        self.breaker = CircuitBreaker(failure_threshold=settings.breaker_failures,
                                      recovery_timeout=settings.breaker_recovery_s,
                                      expected_exception=DownstreamError,
                                      name="recommender")
        # The decorated form is the one that refuses calls while the circuit is open.
        self._guarded_fetch = self.breaker.decorate(self._fetch)
        self._opened_at: float | None = None

    @property
    def state(self) -> str:
        return str(self.breaker.state)

    def open_for(self) -> float:
        """Seconds the circuit has been open without recovering; 0 when closed."""
        if self.breaker.closed:
            self._opened_at = None
            return 0.0
        if self._opened_at is None:
            self._opened_at = time.monotonic()
        return time.monotonic() - self._opened_at

    async def recommendations(self, user: str) -> dict:
        try:
            items = await self._guarded_fetch(user)
            self.open_for()  # a success in half-open closes the circuit
            return {"user": user, "items": items, "degraded": False}
        except (DownstreamError, CircuitBreakerError) as exc:
            self.open_for()
            log.warning("downstream_fallback", reason=type(exc).__name__,
                        circuit=self.state)
            return {"user": user, "items": list(FALLBACK_ITEMS), "degraded": True}

    async def _fetch(self, user: str) -> list[str]:
        s = self.settings
        retrying = AsyncRetrying(
            stop=stop_after_attempt(s.retry_attempts) | stop_after_delay(s.retry_budget_s),
            wait=wait_random_exponential(multiplier=0.05, max=0.5),
            retry=retry_if_exception_type(DownstreamError),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(user)
        raise DownstreamError("no attempt made")  # unreachable: tenacity re-raises

    async def _attempt(self, user: str) -> list[str]:
        try:
            response = await self.client.get(
                "recommendations", params={"user": user}, headers=outgoing_headers(),
                timeout=self.settings.downstream_timeout_s)
        except httpx.HTTPError as exc:
            raise DownstreamError(f"{type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise DownstreamError(f"status {response.status_code}")
        response.raise_for_status()
        return list(response.json()["items"])
