"""The microservices-platform policy pack: every rule, its metadata and the adapters that
turn them into pulumi_policy policies.

Importing this package registers every policy in :data:`REGISTRY`; it never starts a
server (``policies/__main__.py`` does that).
"""

from . import (  # noqa: F401  (importing registers the rules)
    apigateway,
    delivery,
    dynamodb,
    ecr,
    ecs,
    elasticache,
    elb,
    events,
    iam,
    kms,
    lambda_,
    logs,
    messaging,
    network,
    provider,
    rds,
    resilience,
    s3,
    waf,
)
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
from .server import GuardrailAnalyzer, use_guardrail_analyzer

__all__ = [
    "EXEMPTED_PREFIX",
    "PACK_NAME",
    "REGISTRY",
    "UNKNOWN",
    "ConfigError",
    "GuardrailAnalyzer",
    "PolicyRecord",
    "Resource",
    "Stack",
    "build_policies",
    "config_problems",
    "evaluate",
    "evaluate_stack",
    "reconcile",
    "use_guardrail_analyzer",
]
