"""The reference web service, run for real over HTTPS on loopback against a fake downstream
that also speaks HTTPS, with a certificate from a test CA the service is told to trust.

Every request loop here is bounded in count and wall time, and every process is stopped by
the test that started it.
"""

import json
import os
import shutil
import signal
import socket
import ssl
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
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

SERVICE_DIR = Path(__file__).resolve().parents[2] / "services" / "web"
HOST = "127.0.0.1"


class FakeDownstream:
    """The recommender, on command: ``ok``, ``fail`` (HTTP 503) or ``slow`` (sleeps); over
    HTTPS with a certificate for 127.0.0.1 issued by ``ca``."""

    def __init__(self, ca: trustme.CA) -> None:
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
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(HOST).configure_cert(context)
        # The handshake runs in each request's thread, so a refused one blocks nothing.
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.url = f"https://{HOST}:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Service:
    """A running service: its HTTPS base URL, a client that verifies the certificate the
    service generated at start, and the process."""

    def __init__(self, base: str, proc: subprocess.Popen, tls_dir: Path):
        self.base = base
        self.proc = proc
        self.tls_dir = tls_dir
        self.certificate = tls_dir / "cert.pem"
        # A new connection per request, as separate clients (and health checks) make.
        self.client = httpx.Client(base_url=base, verify=ssl.create_default_context(
            cafile=str(self.certificate)), timeout=5,
            limits=httpx.Limits(max_keepalive_connections=0))

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]


def service_env(port: int, downstream: FakeDownstream, tls_dir: Path, ca_file: Path,
                **env: str) -> dict[str, str]:
    settings = {"HOST": HOST, "PORT": str(port), "TLS_DIR": str(tls_dir),
                "DOWNSTREAM_URL": downstream.url, "DOWNSTREAM_CA_FILE": str(ca_file),
                "DOWNSTREAM_TIMEOUT_S": "0.3", "RETRY_ATTEMPTS": "2", "RETRY_BUDGET_S": "1.0",
                "BREAKER_FAILURES": "2", "BREAKER_RECOVERY_S": "1.0",
                "READY_OPEN_GRACE_S": "0", "DRAIN_S": "0", "GRACEFUL_TIMEOUT_S": "5", **env}
    return {**os.environ, **settings, "PYTHONPATH": str(SERVICE_DIR)}


@contextmanager
def service(downstream: FakeDownstream, tmp_path: Path, ca_file: Path,
            **env: str) -> Iterator[Service]:
    port = free_port()
    tls_dir = tmp_path / f"tls-{port}"
    proc = subprocess.Popen([sys.executable, "-m", "web_service"], cwd=SERVICE_DIR,
                            env=service_env(port, downstream, tls_dir, ca_file, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"https://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if (tls_dir / "cert.pem").exists():
                    running = Service(base, proc, tls_dir)
                    if running.get("/health/live", timeout=0.5).status_code == 200:
                        break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise AssertionError(f"service exited: {proc.communicate()[0]}")
            time.sleep(0.05)
        else:
            raise AssertionError("service did not start within 15 s")
        yield running
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


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "downstream-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def downstream(ca: trustme.CA) -> Iterator[FakeDownstream]:
    fake = FakeDownstream(ca)
    yield fake
    fake.close()


@pytest.fixture
def run(downstream: FakeDownstream, tmp_path: Path, ca_file: Path):  # type: ignore[no-untyped-def]
    """``with run(**env) as svc``: the service against the fake downstream."""
    return lambda **env: service(downstream, tmp_path, ca_file, **env)


def test_healthy_path_serves_fresh_answers_and_is_ready(downstream: FakeDownstream, run) -> None:
    with run() as svc:
        assert svc.get("/health/live").json() == {"status": "alive"}
        assert svc.get("/health/ready").status_code == 200
        body = svc.get("/recommendations", params={"user": "u1"}).json()
        assert body == {"user": "u1", "items": ["fresh-1", "fresh-2"], "degraded": False}


def test_open_circuit_returns_fallback_without_calling_downstream(
        downstream: FakeDownstream, run) -> None:
    with run() as svc:
        downstream.mode = "fail"
        for _ in range(2):  # two failed requests (2 attempts each) open the circuit
            body = svc.get("/recommendations").json()
            assert body["degraded"] is True
        assert downstream.hits == 4
        started = time.monotonic()
        body = svc.get("/recommendations").json()
        elapsed = time.monotonic() - started
        assert body["items"] == ["bestseller-1", "bestseller-2", "bestseller-3"]
        assert body["degraded"] is True
        assert downstream.hits == 4, "an open circuit must not call the dependency"
        assert elapsed < 0.25, f"fallback while open must be immediate ({elapsed:.2f}s)"


def test_readiness_flips_while_open_and_recovers_through_half_open(
        downstream: FakeDownstream, run) -> None:
    with run() as svc:
        downstream.mode = "fail"
        for _ in range(2):
            svc.get("/recommendations")
        ready = svc.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["reasons"] == ["downstream circuit open"]
        assert svc.get("/health/live").status_code == 200
        downstream.mode = "ok"
        time.sleep(1.1)  # recovery timeout: the next call is the half-open probe
        hits_before = downstream.hits
        body = svc.get("/recommendations").json()
        assert body["degraded"] is False
        assert downstream.hits == hits_before + 1
        assert svc.get("/health/ready").status_code == 200


def test_failed_half_open_probe_reopens_the_circuit(downstream: FakeDownstream, run) -> None:
    with run() as svc:
        downstream.mode = "fail"
        for _ in range(2):
            svc.get("/recommendations")
        time.sleep(1.1)
        hits_before = downstream.hits
        assert svc.get("/recommendations").json()["degraded"] is True
        assert downstream.hits - hits_before <= 2  # one probe request, its bounded retries
        hits_after_probe = downstream.hits
        assert svc.get("/recommendations").json()["degraded"] is True
        assert downstream.hits == hits_after_probe, "re-opened circuit must not call again"


def test_slow_dependency_is_cut_by_timeouts_within_the_retry_budget(
        downstream: FakeDownstream, run) -> None:
    downstream.mode = "slow"
    with run() as svc:
        started = time.monotonic()
        body = svc.get("/recommendations", timeout=5).json()
        elapsed = time.monotonic() - started
        assert body["degraded"] is True
        assert downstream.hits == 2  # RETRY_ATTEMPTS
        assert elapsed < 1.5, f"2 attempts x 0.3 s timeout plus backoff, took {elapsed:.2f}s"


def test_trace_context_reaches_the_logs_and_the_dependency(
        downstream: FakeDownstream, run) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with run() as svc:
        svc.get("/recommendations",
                  headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        svc.proc.send_signal(signal.SIGTERM)
        out, _ = svc.proc.communicate(timeout=10)
    assert downstream.traceparents[-1].startswith(f"00-{trace_id}-")
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    request_lines = [x for x in lines if x.get("event") == "request"
                     and x.get("path") == "/recommendations"]
    assert request_lines and request_lines[0]["trace_id"] == trace_id
    assert request_lines[0]["status"] == 200 and request_lines[0]["level"] == "info"


def test_sigterm_finishes_in_flight_requests_and_refuses_new_ones(
        downstream: FakeDownstream, run) -> None:
    downstream.mode = "slow"
    downstream.slow_s = 0.25
    with run(DOWNSTREAM_TIMEOUT_S="2") as svc:
        result: dict[str, object] = {}

        def in_flight() -> None:
            result["body"] = svc.get("/recommendations", timeout=5).json()

        worker = threading.Thread(target=in_flight)
        worker.start()
        deadline = time.monotonic() + 2
        while downstream.hits == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        svc.proc.send_signal(signal.SIGTERM)
        worker.join(timeout=5)
        assert result["body"] == {"user": "anonymous", "items": ["fresh-1", "fresh-2"],
                                  "degraded": False}
        assert_graceful_exit(svc.proc, within_s=5)
        with pytest.raises(httpx.ConnectError):
            svc.get("/health/live", timeout=1)


def test_drain_reports_not_ready_but_keeps_serving(downstream: FakeDownstream, run) -> None:
    with run(DRAIN_S="1.5") as svc:
        svc.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        ready = svc.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["reasons"] == ["draining"]
        assert svc.get("/recommendations").json()["degraded"] is False
        assert_graceful_exit(svc.proc, within_s=6)


# --- TLS -------------------------------------------------------------------------------------

def test_serves_https_only_with_a_certificate_generated_at_start(run) -> None:
    with run() as svc:
        # Plain HTTP on the port gets no answer: the server expects a TLS handshake.
        with pytest.raises(httpx.TransportError):
            httpx.get(svc.base.replace("https://", "http://") + "/health/live", timeout=2)
        # A client that trusts only the usual roots refuses the self-signed certificate.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(svc.base + "/health/live", timeout=2)
        assert svc.get("/health/live").json() == {"status": "alive"}
        with socket.create_connection((HOST, int(svc.base.rsplit(":", 1)[1])), timeout=2) as raw:
            context = ssl.create_default_context(cafile=str(svc.certificate))
            with context.wrap_socket(raw, server_hostname=HOST) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
                served = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
        # Only the public certificate is on disk; the key never outlives the start.
        assert sorted(p.name for p in svc.tls_dir.iterdir()) == ["cert.pem"]
        assert b"PRIVATE KEY" not in svc.certificate.read_bytes()
    cert = x509.load_pem_x509_certificate(svc.certificate.read_bytes())
    assert cert == served
    assert cert.issuer == cert.subject, "self-signed"
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == [HOST]
    days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
    assert days == 365
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_every_start_generates_a_new_key(run) -> None:
    keys = []
    for _ in range(2):
        with run() as svc:
            cert = x509.load_pem_x509_certificate(svc.certificate.read_bytes())
            keys.append(cert.public_key().public_numbers())
    assert keys[0] != keys[1]


def test_downstream_certificate_is_verified(downstream: FakeDownstream, tmp_path: Path,
                                            ca_file: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    # The same fake, but the service trusts another CA: no request may reach it.
    with service(downstream, tmp_path, other) as svc:
        body = svc.get("/recommendations").json()
        assert body["degraded"] is True
        assert downstream.hits == 0, "an unverified peer must not receive the request"
    out, _ = svc.proc.communicate(timeout=5)
    assert '"event": "downstream_fallback"' in out
    # Trusting the right CA, the same call goes through.
    with service(downstream, tmp_path, ca_file) as svc:
        assert svc.get("/recommendations").json()["degraded"] is False
        assert downstream.hits == 1


def test_plain_http_dependency_is_refused_at_start(downstream: FakeDownstream,
                                                   tmp_path: Path, ca_file: Path) -> None:
    env = service_env(free_port(), downstream, tmp_path / "tls", ca_file,
                      DOWNSTREAM_URL="http://orders.internal/")
    result = subprocess.run([sys.executable, "-m", "web_service"], cwd=SERVICE_DIR, env=env,
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["event"] == "invalid_configuration"
    assert line["reason"] == ("DOWNSTREAM_URL must be an https:// URL (got "
                              "'http://orders.internal/'): services call each other over TLS")
    assert not (tmp_path / "tls").exists(), "nothing starts on a bad configuration"


def healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "web_service.healthcheck"], cwd=SERVICE_DIR,
                          env=env, capture_output=True, text=True, timeout=20)


def test_container_health_check_verifies_the_served_certificate(
        downstream: FakeDownstream, tmp_path: Path, ca_file: Path, run) -> None:
    with run() as svc:
        port = int(svc.base.rsplit(":", 1)[1])
        env = service_env(port, downstream, svc.tls_dir, ca_file)
        ok = healthcheck(env)
        assert (ok.returncode, ok.stderr) == (0, "")
        # A certificate other than the one served fails the probe.
        impostor = tmp_path / "impostor"
        impostor.mkdir()
        trustme.CA().issue_cert(HOST).cert_chain_pems[0].write_to_path(
            str(impostor / "cert.pem"))
        wrong = healthcheck(service_env(port, downstream, impostor, ca_file))
        assert wrong.returncode == 1
        assert "CERTIFICATE_VERIFY_FAILED" in wrong.stderr
    stopped = healthcheck(env)
    assert stopped.returncode == 1 and stopped.stderr.startswith("unhealthy: ")


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
    assert 'CMD ["python", "-m", "web_service.healthcheck"]' in text
    assert "SECRET" not in text.upper().replace("_SECRET_ARN", "")
    assert (SERVICE_DIR / ".dockerignore").read_text().startswith("# ")
