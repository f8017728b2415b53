"""The microservices-platform policy pack: every rule, its metadata and the analyzer that
serves them.

The rules load on first use of any name below (``from policies.guardrails import
REGISTRY``), not on import of the package: ``policies.guardrails.credentials`` is the pack's
vocabulary that the components import, and it must not pull in the policy SDK or the IAM
data with it. Nothing here starts a server (``policies/__main__.py`` does).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

RULE_MODULES = (
    "apigateway", "appsync", "cloudfront", "delivery", "dynamodb", "ec2", "ecr", "ecs", "eks",
    "elasticache", "elb", "events", "exceptions", "helm", "iam", "kms", "kubernetes",
    "lambda_", "logs", "messaging", "network", "provider", "rds", "resilience", "s3",
    "signer", "stepfunctions", "waf", "xray",
)
"""Modules whose import registers their rules in REGISTRY."""

_EXPORTS = {
    "EXEMPTED_PREFIX": "core", "REGISTRY": "core", "UNKNOWN": "core", "ConfigError": "core",
    "PolicyRecord": "core", "Resource": "core", "Stack": "core", "evaluate": "core",
    "evaluate_stack": "core",
    "PACK_NAME": "pack", "build_policies": "pack", "config_problems": "pack",
    "reconcile": "pack",
    "GuardrailAnalyzer": "server", "serve": "server",
}
__all__ = [
    "EXEMPTED_PREFIX", "PACK_NAME", "REGISTRY", "UNKNOWN", "ConfigError", "GuardrailAnalyzer",
    "PolicyRecord", "Resource", "Stack", "build_policies", "config_problems", "evaluate",
    "evaluate_stack", "reconcile", "serve",
]

if TYPE_CHECKING:
    from .core import (
        EXEMPTED_PREFIX,
        REGISTRY,
        UNKNOWN,
        ConfigError,
        PolicyRecord,
        Resource,
        Stack,
        evaluate,
        evaluate_stack,
    )
    from .pack import PACK_NAME, build_policies, config_problems, reconcile
    from .server import GuardrailAnalyzer, serve


def load_rules() -> None:
    """Import every rule module (registering its policies); idempotent."""
    for module in RULE_MODULES:
        importlib.import_module(f"{__name__}.{module}")


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    load_rules()
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
