"""Structured JSON logs on stdout (the awslogs driver ships them), with the trace id."""

import logging
import sys

import structlog

from .tracing import current_trace_id


def _add_trace(_: object, __: str, event: dict) -> dict:
    trace_id = current_trace_id()
    if trace_id:
        event["trace_id"] = trace_id
    return event


def configure(level: str = "INFO") -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_trace,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )


log = structlog.get_logger("web")
