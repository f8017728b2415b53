"""The container health check: ``python -m web_service.healthcheck``.

Calls ``/health/live`` over HTTPS on loopback and verifies the server against the
certificate it wrote at start (hostname 127.0.0.1 included), so the probe proves the TLS
endpoint the load balancer uses, not just an open port. Exit 0 when alive, 1 otherwise.
"""

import ssl
import sys
import urllib.request

from .config import Settings


def main() -> int:
    try:
        settings = Settings.from_env()
        context = ssl.create_default_context(cafile=str(settings.certificate_file))
        url = f"https://127.0.0.1:{settings.port}/health/live"
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return 0 if response.status == 200 else 1
    except (OSError, ValueError) as exc:  # settings, missing certificate, TLS, connection
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
