"""Environment tiers: what dev, staging and prod each demand of the estate.

A stack names its tier (``environment: prod``); the tier supplies the minimums the stack
validation enforces and the defaults components start from. Adding a stack (say ``qa``)
means choosing a tier, not writing new rules.
"""


import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired

from typing_extensions import TypedDict

from .validation import Problem, check_choice, check_key


@dataclass(frozen=True)
class Tier:
    name: str
    min_az_count: int
    """Fewest availability zones the network may span."""
    nat_per_az: bool
    """Each AZ must egress through its own NAT gateway (no cross-AZ dependency)."""
    desired_at_least_az_count: bool
    """Every service runs at least one task per AZ."""
    log_retention_days: int
    """Default and minimum CloudWatch Logs retention."""
    protect: bool
    """Stateful resources are Pulumi-protected and retained on delete."""
    deletion_protection: bool
    """Load balancers and data stores refuse deletion at the AWS API."""
    fargate_spot: bool
    """Services may run on Fargate Spot capacity."""
    backup_retention_days: int
    """Minimum automated-backup retention for databases and caches."""


TIERS: dict[str, Tier] = {
    "dev": Tier("dev", min_az_count=2, nat_per_az=False, desired_at_least_az_count=False,
                log_retention_days=14, protect=False, deletion_protection=False,
                fargate_spot=True, backup_retention_days=1),
    "staging": Tier("staging", min_az_count=2, nat_per_az=False, desired_at_least_az_count=True,
                    log_retention_days=90, protect=False, deletion_protection=True,
                    fargate_spot=True, backup_retention_days=7),
    "prod": Tier("prod", min_az_count=3, nat_per_az=True, desired_at_least_az_count=True,
                 log_retention_days=365, protect=True, deletion_protection=True,
                 fargate_spot=False, backup_retention_days=14),
}

# CloudWatch Logs accepts only these retention values.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)


class TagsSpec(TypedDict):
    """Tags every resource carries (the provider's default tags), for ownership and cost."""

    owner: str
    """Team or person accountable for the estate, e.g. ``platform-team``."""
    cost_centre: str
    """Cost centre billed for the estate, e.g. ``cc-1234``."""
    data_classification: str
    """Most sensitive data the estate holds: public, internal, confidential or restricted."""
    extra: NotRequired[dict[str, str]]
    """Further tags applied everywhere (at most 40; never the platform's own keys)."""


DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")


def tier_name(spec: Mapping[str, Any]) -> str:
    """The tier of a component's ``environment``: its ``tier`` when given (a stack named
    ``qa`` that follows staging), else the environment's own name."""
    return str(spec.get("tier", spec["environment"]))


def check_environment_name(spec: Mapping[str, Any]) -> list[Problem]:
    """``environment`` names things (any stack name); the tier it follows is a real one."""
    problems = check_key(("environment",), spec["environment"])
    where = ("tier",) if "tier" in spec else ("environment",)
    return problems + check_choice(where, tier_name(spec), list(TIERS))


# --- tags ------------------------------------------------------------------------------------

TAG_KEY_RE = re.compile(r"[\w .:/=+\-@]{1,128}", re.UNICODE)
TAG_VALUE_RE = re.compile(r"[\w .:/=+\-@]{0,256}", re.UNICODE)
"""AWS tags: letters, digits, spaces and ``_ . : / = + - @``; keys 1-128 characters, values
up to 256."""
MAX_EXTRA_TAGS = 40
"""AWS allows 50 tags per resource; the platform and its components set up to 10 of their
own (the global tags below, ``Name``, ``tier`` ...)."""
RESERVED_TAG_KEYS = ("environment", "owner", "cost-centre", "data-classification",
                     "managed-by", "Name")


def global_tags(environment: str, tags: TagsSpec) -> dict[str, str]:
    """The tags every resource carries (the provider's default tags)."""
    return {"environment": environment, "owner": tags["owner"],
            "cost-centre": tags["cost_centre"],
            "data-classification": tags["data_classification"], "managed-by": "pulumi",
            **tags.get("extra", {})}


def check_tags(spec: TagsSpec) -> list[Problem]:
    """Values AWS accepts as tags; extra tags never replace the platform's own."""
    problems = check_choice(("data_classification",), spec["data_classification"],
                            DATA_CLASSIFICATIONS)
    for field in ("owner", "cost_centre"):
        value = spec[field]  # type: ignore[literal-required]
        if not value.strip() or not TAG_VALUE_RE.fullmatch(value):
            problems.append(Problem((field,), _bad_value(value)))
    extra = spec.get("extra", {})
    if len(extra) > MAX_EXTRA_TAGS:
        problems.append(Problem(("extra",), f"{len(extra)} tags: at most {MAX_EXTRA_TAGS} "
                                            "(AWS allows 50 per resource and the platform "
                                            "sets up to 10 of its own)"))
    for key, value in sorted(extra.items()):
        if key.lower().startswith("aws:"):
            problems.append(Problem(("extra", key), "keys starting with aws: are reserved "
                                                    "for AWS: choose another key"))
        elif not TAG_KEY_RE.fullmatch(key):
            problems.append(Problem(("extra", key), "is not a tag key: use 1-128 letters, "
                                                    "digits, spaces and _ . : / = + - @"))
        elif key in RESERVED_TAG_KEYS:
            problems.append(Problem(("extra", key), f"the platform sets '{key}' itself: "
                                                    "choose another key"))
        if not TAG_VALUE_RE.fullmatch(value):
            problems.append(Problem(("extra", key), _bad_value(value)))
    return problems


def _bad_value(value: str) -> str:
    if len(value) > 256:
        return f"is {len(value)} characters long: a tag value has at most 256"
    return ("is not a tag value: use letters, digits, spaces and _ . : / = + - @"
            + ("" if value.strip() else " (and not only spaces)"))
