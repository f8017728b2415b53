"""Network: a VPC over 2-6 availability zones with public, private and isolated subnets."""


from typing import NotRequired

from typing_extensions import TypedDict

from .validation import Problem, check_choice, check_range, parse_cidr

NAT_STRATEGIES = ("per-az", "single", "none")
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts", "ssm", "kms",
                       "xray")


class NetworkSpec(TypedDict):
    """What a stack file says about the network."""

    cidr: str
    """VPC IPv4 block, private range, /16 to /24, e.g. ``10.20.0.0/16``."""
    az_count: NotRequired[int]
    """Availability zones to span, 2-6 (default 3; prod needs 3 or more)."""
    availability_zones: NotRequired[list[str]]
    """Explicit AZ names; default is the first ``az_count`` zones the region reports."""
    nat_strategy: NotRequired[str]
    """``per-az`` (one NAT gateway per AZ, default), ``single`` or ``none``."""
    endpoints: NotRequired[list[str]]
    """Interface endpoints to create (the S3 gateway endpoint is always created)."""


def check_network(spec: NetworkSpec) -> list[Problem]:
    problems: list[Problem] = []
    parse_cidr(("cidr",), spec["cidr"], problems, min_prefix=16, max_prefix=24)
    az_count = spec.get("az_count", 3)
    problems += check_range(("az_count",), az_count, 2, 6, "azCount")
    zones = spec.get("availability_zones")
    if zones is not None:
        if len(set(zones)) != len(zones):
            problems.append(Problem(("availability_zones",), "lists an availability zone twice"))
        if "az_count" in spec and len(zones) != az_count:
            problems.append(Problem(("availability_zones",),
                                    f"names {len(zones)} zones but azCount is {az_count}"))
    problems += check_choice(("nat_strategy",), spec.get("nat_strategy", "per-az"),
                             NAT_STRATEGIES)
    for i, endpoint in enumerate(spec.get("endpoints", [])):
        problems += check_choice(("endpoints", i), endpoint, INTERFACE_ENDPOINTS)
    return problems
