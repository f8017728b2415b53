"""The reference web service, run for real on loopback against a fake downstream.

Every request loop here is bounded in count and wall time, and every process is stopped by
the test that started it.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

SERVICE_DIR = Path(__file__).resolve().parents[2] / "services" / "web"
HOST = "127.0.0.1"


class FakeDownstream:
    """The recommender, on command: ``ok``, ``fail`` (HTTP 503) or ``slow`` (sleeps)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.slow_s = 2.0
        self.hits = 0
        self.traceparents: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                outer.traceparents.append(self.headers.get("traceparent", ""))
                if outer.mode == "fail":
                    self.send_response(503)
                    self.end_headers()
                    return
                if outer.mode == "slow":
                    time.sleep(outer.slow_s)
                body = json.dumps({"items": ["fresh-1", "fresh-2"]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{HOST}:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def service(downstream: FakeDownstream, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    settings = {"HOST": HOST, "PORT": str(port), "DOWNSTREAM_URL": downstream.url,
                "DOWNSTREAM_TIMEOUT_S": "0.3", "RETRY_ATTEMPTS": "2", "RETRY_BUDGET_S": "1.0",
                "BREAKER_FAILURES": "2", "BREAKER_RECOVERY_S": "1.0",
                "READY_OPEN_GRACE_S": "0", "DRAIN_S": "0", "GRACEFUL_TIMEOUT_S": "5", **env}
    proc = subprocess.Popen([sys.executable, "-m", "web_service"], cwd=SERVICE_DIR,
                            env={**os.environ, **settings, "PYTHONPATH": str(SERVICE_DIR)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/health/live", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise AssertionError("service did not start within 15 s")
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def assert_graceful_exit(proc: subprocess.Popen, within_s: float) -> None:
    """Shutdown ran to the end (lifespan logged "stopped"); uvicorn then re-raises the
    SIGTERM it captured, so the exit status is the signal's, as ECS expects (143)."""
    out, _ = proc.communicate(timeout=within_s)
    assert proc.returncode == -signal.SIGTERM
    events = [json.loads(line).get("event") for line in out.splitlines()
              if line.startswith("{")]
    assert events[-1] == "stopped" and "draining" in events


@pytest.fixture
def downstream() -> Iterator[FakeDownstream]:
    fake = FakeDownstream()
    yield fake
    fake.close()


def test_healthy_path_serves_fresh_answers_and_is_ready(downstream: FakeDownstream) -> None:
    with service(downstream) as (base, _):
        assert httpx.get(base + "/health/live").json() == {"status": "alive"}
        assert httpx.get(base + "/health/ready").status_code == 200
        body = httpx.get(base + "/recommendations", params={"user": "u1"}).json()
        assert body == {"user": "u1", "items": ["fresh-1", "fresh-2"], "degraded": False}


def test_open_circuit_returns_fallback_without_calling_downstream(
        downstream: FakeDownstream) -> None:
    with service(downstream) as (base, _):
        downstream.mode = "fail"
        for _ in range(2):  # two failed requests (2 attempts each) open the circuit
            body = httpx.get(base + "/recommendations").json()
            assert body["degraded"] is True
        assert downstream.hits == 4
        started = time.monotonic()
        body = httpx.get(base + "/recommendations").json()
        elapsed = time.monotonic() - started
        assert body["items"] == ["bestseller-1", "bestseller-2", "bestseller-3"]
        assert body["degraded"] is True
        assert downstream.hits == 4, "an open circuit must not call the dependency"
        assert elapsed < 0.25, f"fallback while open must be immediate ({elapsed:.2f}s)"


def test_readiness_flips_while_open_and_recovers_through_half_open(
        downstream: FakeDownstream) -> None:
    with service(downstream) as (base, _):
        downstream.mode = "fail"
        for _ in range(2):
            httpx.get(base + "/recommendations")
        ready = httpx.get(base + "/health/ready")
        assert ready.status_code == 503
        assert ready.json()["reasons"] == ["downstream circuit open"]
        assert httpx.get(base + "/health/live").status_code == 200
        downstream.mode = "ok"
        time.sleep(1.1)  # recovery timeout: the next call is the half-open probe
        hits_before = downstream.hits
        body = httpx.get(base + "/recommendations").json()
        assert body["degraded"] is False
        assert downstream.hits == hits_before + 1
        assert httpx.get(base + "/health/ready").status_code == 200


def test_failed_half_open_probe_reopens_the_circuit(downstream: FakeDownstream) -> None:
    with service(downstream) as (base, _):
        downstream.mode = "fail"
        for _ in range(2):
            httpx.get(base + "/recommendations")
        time.sleep(1.1)
        hits_before = downstream.hits
        assert httpx.get(base + "/recommendations").json()["degraded"] is True
        assert downstream.hits - hits_before <= 2  # one probe request, its bounded retries
        hits_after_probe = downstream.hits
        assert httpx.get(base + "/recommendations").json()["degraded"] is True
        assert downstream.hits == hits_after_probe, "re-opened circuit must not call again"


def test_slow_dependency_is_cut_by_timeouts_within_the_retry_budget(
        downstream: FakeDownstream) -> None:
    downstream.mode = "slow"
    with service(downstream) as (base, _):
        started = time.monotonic()
        body = httpx.get(base + "/recommendations", timeout=5).json()
        elapsed = time.monotonic() - started
        assert body["degraded"] is True
        assert downstream.hits == 2  # RETRY_ATTEMPTS
        assert elapsed < 1.5, f"2 attempts x 0.3 s timeout plus backoff, took {elapsed:.2f}s"


def test_trace_context_reaches_the_logs_and_the_dependency(
        downstream: FakeDownstream) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with service(downstream) as (base, proc):
        httpx.get(base + "/recommendations",
                  headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    assert downstream.traceparents[-1].startswith(f"00-{trace_id}-")
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    request_lines = [x for x in lines if x.get("event") == "request"
                     and x.get("path") == "/recommendations"]
    assert request_lines and request_lines[0]["trace_id"] == trace_id
    assert request_lines[0]["status"] == 200 and request_lines[0]["level"] == "info"


def test_sigterm_finishes_in_flight_requests_and_refuses_new_ones(
        downstream: FakeDownstream) -> None:
    downstream.mode = "slow"
    downstream.slow_s = 0.25
    with service(downstream, DOWNSTREAM_TIMEOUT_S="2") as (base, proc):
        result: dict[str, object] = {}

        def in_flight() -> None:
            result["body"] = httpx.get(base + "/recommendations", timeout=5).json()

        worker = threading.Thread(target=in_flight)
        worker.start()
        deadline = time.monotonic() + 2
        while downstream.hits == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        worker.join(timeout=5)
        assert result["body"] == {"user": "anonymous", "items": ["fresh-1", "fresh-2"],
                                  "degraded": False}
        assert_graceful_exit(proc, within_s=5)
        with pytest.raises(httpx.ConnectError):
            httpx.get(base + "/health/live", timeout=1)


def test_drain_reports_not_ready_but_keeps_serving(downstream: FakeDownstream) -> None:
    with service(downstream, DRAIN_S="1.5") as (base, proc):
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        ready = httpx.get(base + "/health/ready")
        assert ready.status_code == 503 and ready.json()["reasons"] == ["draining"]
        assert httpx.get(base + "/recommendations").json()["degraded"] is False
        assert_graceful_exit(proc, within_s=6)


def test_secrets_are_fetched_by_arn_at_start_and_never_logged() -> None:
    sys.path.insert(0, str(SERVICE_DIR))
    try:
        from web_service.secrets import fetch_secrets
    finally:
        sys.path.remove(str(SERVICE_DIR))
    calls: list[str] = []

    def fake_fetch(arn: str) -> str:
        calls.append(arn)
        return "s3cr3t-value"

    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
    assert fetch_secrets({"DB": arn}, fake_fetch) == {"DB": "s3cr3t-value"}
    assert calls == [arn]
    assert fetch_secrets({}, fake_fetch) == {}


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, "--no-color", str(SERVICE_DIR / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_structure_is_hardened() -> None:
    text = (SERVICE_DIR / "Dockerfile").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    # build -> test (the pipeline's --target test) -> runtime, which must come last
    assert [s.split(" AS ")[-1] for s in stages] == ["build", "test", "runtime"]
    bases = [s.split()[1] for s in stages if not s.startswith("FROM build ")]
    assert bases == ["python:3.12.8-slim-bookworm"] * 2, "pinned minimal base"
    assert "\nUSER 10001:10001\n" in text
    assert "HEALTHCHECK" in text and "/health/live" in text
    assert "SECRET" not in text.upper().replace("_SECRET_ARN", "")
    assert (SERVICE_DIR / ".dockerignore").read_text().startswith("# ")
