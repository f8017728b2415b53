"""HTTP surface: liveness, readiness, and one endpoint that depends on the recommender."""

import contextlib
import time
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import tracing
from .config import Settings
from .downstream import Recommender
from .events import Consumer, Publisher, log_event
from .logs import log
from .secrets import fetch_secrets
from .tls import client_context


class State:
    """Process-wide state; nothing durable lives here (that goes to the data stores)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.draining = False
        self.recommender: Recommender | None = None
        self.secrets: dict[str, str] = {}
        self.publisher: Publisher | None = None


async def live(request: Request) -> JSONResponse:
    # Alive means the event loop answers; dependencies do not matter here, or ECS would
    # restart healthy tasks whenever a dependency failed.
    return JSONResponse({"status": "alive"})


async def ready(request: Request) -> JSONResponse:
    state: State = request.app.state.web
    reasons = []
    if state.draining:
        reasons.append("draining")
    rec = state.recommender
    if rec is not None and rec.open_for() > state.settings.ready_open_grace_s:
        reasons.append("downstream circuit open")
    if reasons:
        return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
    return JSONResponse({"status": "ready"})


async def recommendations(request: Request) -> JSONResponse:
    state: State = request.app.state.web
    assert state.recommender is not None
    user = request.query_params.get("user", "anonymous")[:64]
    return JSONResponse(await state.recommender.recommendations(user))


async def place_order(request: Request) -> JSONResponse:
    """Publish ``OrderPlaced``; a client retry with the same ``Idempotency-Key`` publishes
    the same event id, which consumers handle once."""
    state: State = request.app.state.web
    if state.publisher is None:
        return JSONResponse({"error": "order events are not configured"}, status_code=503)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("orderId"), str) \
            or not 1 <= len(body["orderId"]) <= 64:
        return JSONResponse({"error": "orderId (1-64 characters) is required"},
                            status_code=400)
    key = request.headers.get("idempotency-key")
    event_id = key[:128] if key else None
    event_id = await run_in_threadpool(state.publisher.publish, "OrderPlaced",
                                       {"orderId": body["orderId"]}, event_id)
    return JSONResponse({"eventId": event_id, "orderId": body["orderId"]}, status_code=202)


class AccessLog:
    """Binds the trace id for the request and writes one JSON line per request."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        token = tracing.bind(tracing.trace_id_from(headers))
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info("request", method=scope["method"], path=scope["path"], status=status,
                     duration_ms=round((time.perf_counter() - started) * 1000, 1))
            tracing.unbind(token)


def create_app(settings: Settings) -> Starlette:
    state = State(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.secrets = fetch_secrets(settings.secret_arns)
        if settings.topic_arn:
            state.publisher = Publisher(settings.topic_arn)
        consumer = Consumer(settings.queue_url, log_event) if settings.queue_url else None
        if consumer is not None:
            consumer.start()
        # Certificates are verified (hostname included): the dependency is reached through
        # the internal load balancer, whose certificate names it.
        async with httpx.AsyncClient(base_url=settings.downstream_url,
                                     verify=client_context(settings.downstream_ca_file)
                                     ) as client:
            state.recommender = Recommender(settings, client)
            log.info("started", port=settings.port, secrets=sorted(state.secrets))
            yield
        if consumer is not None:
            consumer.stop(timeout=1)
        log.info("stopped")

    app = Starlette(routes=[
        Route("/health/live", live),
        Route("/health/ready", ready),
        Route("/recommendations", recommendations),
        Route("/orders", place_order, methods=["POST"]),
    ], lifespan=lifespan)
    app.state.web = state
    app.add_middleware(AccessLog)
    return app
