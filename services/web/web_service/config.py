"""Settings come from the environment (the task definition); secrets by ARN, fetched at start."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    port: int = 8080
    """The HTTPS port (the task's container port)."""
    tls_dir: str = "/tmp/tls"
    """Where the certificate generated at start is written (``cert.pem``; never the key)."""
    downstream_url: str = "https://127.0.0.1:9/"
    """The dependency, reached over HTTPS only (through the internal load balancer)."""
    downstream_ca_file: str | None = None
    """CA bundle that verifies the dependency's certificate; default: Mozilla's roots."""
    downstream_timeout_s: float = 0.5
    """Per attempt: connect + read. ALB's idle timeout and the client's patience bound it."""
    retry_attempts: int = 3
    """Attempts per request, first one included; a request never loops beyond this."""
    retry_budget_s: float = 2.0
    """Wall-clock cap for all attempts of one request, backoff included."""
    breaker_failures: int = 5
    """Consecutive failed requests that open the circuit."""
    breaker_recovery_s: float = 30.0
    """How long the circuit stays open before one half-open probe is let through."""
    ready_open_grace_s: float = 30.0
    """The task reports not-ready once the circuit has stayed open this long."""
    drain_s: float = 5.0
    """After SIGTERM: keep serving (reporting not-ready) while the load balancer deregisters."""
    graceful_timeout_s: float = 20.0
    """Then stop accepting and give in-flight requests this long (below ECS stopTimeout)."""
    secret_arns: dict[str, str] = field(default_factory=dict)
    """``NAME_SECRET_ARN=arn`` variables: secrets fetched from Secrets Manager at start."""
    topic_arn: str = ""
    """``TOPIC_ORDER_EVENTS_ARN``: where ``POST /orders`` publishes (empty: not wired)."""
    queue_url: str = ""
    """``QUEUE_ORDER_EVENTS_URL``: the subscription queue this task consumes (empty: none)."""

    def __post_init__(self) -> None:
        if urlsplit(self.downstream_url).scheme != "https":
            raise ValueError(f"DOWNSTREAM_URL must be an https:// URL (got "
                             f"'{self.downstream_url}'): services call each other over TLS")

    @property
    def certificate_file(self) -> Path:
        return Path(self.tls_dir) / "cert.pem"

    @classmethod
    def from_env(cls) -> "Settings":
        secrets = {k[: -len("_SECRET_ARN")]: v for k, v in os.environ.items()
                   if k.endswith("_SECRET_ARN") and v}
        return cls(
            port=_int("PORT", 8080),
            tls_dir=os.environ.get("TLS_DIR", cls.tls_dir),
            downstream_url=os.environ.get("DOWNSTREAM_URL", cls.downstream_url),
            downstream_ca_file=os.environ.get("DOWNSTREAM_CA_FILE") or None,
            downstream_timeout_s=_float("DOWNSTREAM_TIMEOUT_S", cls.downstream_timeout_s),
            retry_attempts=_int("RETRY_ATTEMPTS", cls.retry_attempts),
            retry_budget_s=_float("RETRY_BUDGET_S", cls.retry_budget_s),
            breaker_failures=_int("BREAKER_FAILURES", cls.breaker_failures),
            breaker_recovery_s=_float("BREAKER_RECOVERY_S", cls.breaker_recovery_s),
            ready_open_grace_s=_float("READY_OPEN_GRACE_S", cls.ready_open_grace_s),
            drain_s=_float("DRAIN_S", cls.drain_s),
            graceful_timeout_s=_float("GRACEFUL_TIMEOUT_S", cls.graceful_timeout_s),
            secret_arns=secrets,
            topic_arn=os.environ.get("TOPIC_ORDER_EVENTS_ARN", ""),
            queue_url=os.environ.get("QUEUE_ORDER_EVENTS_URL", ""),
        )
