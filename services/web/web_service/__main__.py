"""Run the service: ``python -m web_service``.

HTTPS only, on ``PORT``, with a key pair generated at start (see :mod:`web_service.tls`).

SIGTERM (what ECS sends on stop): report not-ready at once and keep serving for ``DRAIN_S``
while the load balancer deregisters the task, then stop accepting connections and let
in-flight requests finish within ``GRACEFUL_TIMEOUT_S`` (kept below the task's stopTimeout).
"""

import os
import sys
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

from .app import create_app
from .config import Settings
from .logs import configure, log
from .tls import harden, server_credentials


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_drain: Callable[[], None], drain_s: float):
        super().__init__(config)
        self._on_drain = on_drain
        self._drain_s = drain_s
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining:  # a second signal: stop now
            super().handle_exit(sig, frame)
            return
        self._draining = True
        self._on_drain()
        log.info("draining", seconds=self._drain_s)
        timer = threading.Timer(self._drain_s, super().handle_exit, args=(sig, frame))
        timer.daemon = True
        timer.start()


def main() -> None:
    configure()
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        log.error("invalid_configuration", reason=str(exc))
        sys.exit(2)
    app = create_app(settings)

    def on_drain() -> None:
        app.state.web.draining = True

    # Inside the task's network namespace only the load balancer reaches the port.
    host = os.environ.get("HOST", "0.0.0.0")
    with server_credentials(settings.certificate_file) as (certfile, keyfile):
        config = uvicorn.Config(app, host=host, port=settings.port,
                                ssl_certfile=certfile, ssl_keyfile=keyfile,
                                access_log=False, log_config=None, lifespan="on",
                                timeout_graceful_shutdown=int(settings.graceful_timeout_s))
        config.load()  # reads the key into the TLS context; its file goes with the block
    assert config.ssl is not None
    harden(config.ssl)
    DrainingServer(config, on_drain, settings.drain_s).run()


if __name__ == "__main__":
    main()
