"""Trace context: accept W3C ``traceparent`` and X-Ray ``X-Amzn-Trace-Id``, forward both.

The ALB adds ``X-Amzn-Trace-Id``; callers may send ``traceparent``. One trace id (32 hex,
the X-Ray form without dashes and epoch split) follows the request into logs and downstream.
"""

import contextvars
import re
import secrets

_TRACE: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_XRAY_ROOT = re.compile(r"Root=1-([0-9a-f]{8})-([0-9a-f]{24})")


def current_trace_id() -> str | None:
    return _TRACE.get()


def trace_id_from(headers: dict[str, str]) -> str:
    """The incoming trace id, or a new one."""
    match = _TRACEPARENT.match(headers.get("traceparent", "").strip())
    if match and match.group(1) != "0" * 32:
        return match.group(1)
    match = _XRAY_ROOT.search(headers.get("x-amzn-trace-id", ""))
    if match:
        return match.group(1) + match.group(2)
    return secrets.token_hex(16)


def bind(trace_id: str) -> contextvars.Token:
    return _TRACE.set(trace_id)


def unbind(token: contextvars.Token) -> None:
    _TRACE.reset(token)


def outgoing_headers() -> dict[str, str]:
    """Headers for a downstream call: same trace, a new span."""
    trace_id = current_trace_id() or secrets.token_hex(16)
    return {
        "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        "X-Amzn-Trace-Id": f"Root=1-{trace_id[:8]}-{trace_id[8:]}",
    }
