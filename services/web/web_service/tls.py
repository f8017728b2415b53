"""TLS on the service's own port, with a key pair generated at start.

The load balancer speaks HTTPS to the task and checks its health over HTTPS. An Application
Load Balancer does not validate the certificate a target presents (traffic between the load
balancer and its targets is authenticated by the VPC at the packet level), so a self-signed
certificate made at start is enough, and AWS documents it as acceptable: nothing to issue,
store, rotate or leak. Each task has its own key; it lives in the process only (the file the
TLS library needs to read it from is removed as soon as the server has loaded it) and dies
with the task. The certificate, which is public, stays at ``<TLS_DIR>/cert.pem`` so the
container health check can verify the server it calls.

The certificate is valid for a year. ALB ignores expiry; the health check does not, so a task
that somehow outlives its certificate turns unhealthy and ECS replaces it with a fresh key.
"""

import contextlib
import datetime as dt
import ipaddress
import os
import socket
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 365
LOOPBACK = ipaddress.ip_address("127.0.0.1")


def self_signed(hostname: str, valid_days: int = VALID_DAYS) -> tuple[bytes, bytes]:
    """A new ECDSA P-256 key and a self-signed server certificate for ``hostname``,
    ``localhost`` and 127.0.0.1, as PEM (certificate, private key). P-256 rather than
    Ed25519: Application Load Balancers do not negotiate Ed25519."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname[:64])])
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys((hostname,
                                                                             "localhost"))]
    names.append(x509.IPAddress(LOOPBACK))
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate clock skew
            .not_valid_after(now + dt.timedelta(days=valid_days))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                         content_commitment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@contextlib.contextmanager
def server_credentials(certificate_file: Path) -> Iterator[tuple[str, str]]:
    """Generate a key pair; yield (certificate file, key file) for the server to load.

    The certificate is written to ``certificate_file`` and stays; the key goes to a private
    temporary directory that is removed when the block ends, so load it inside the block."""
    cert_pem, key_pem = self_signed(socket.gethostname())
    certificate_file.parent.mkdir(parents=True, exist_ok=True)
    certificate_file.write_bytes(cert_pem)
    with tempfile.TemporaryDirectory(prefix="tls-") as private:  # created mode 0700
        key_file = Path(private) / "key.pem"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
        yield str(certificate_file), str(key_file)


def harden(context: ssl.SSLContext) -> ssl.SSLContext:
    """TLS 1.2 or newer only, whatever the runtime's default."""
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def client_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifying client context for calls to other services: Mozilla's root store (certifi;
    the internal load balancer's ACM certificate chains to an Amazon root in it), or
    ``ca_file`` for a private CA. Hostnames are always checked."""
    return harden(ssl.create_default_context(cafile=ca_file or certifi.where()))
