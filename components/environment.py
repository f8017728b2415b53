"""Environment tiers: what dev, staging and prod each demand of the estate.

A stack names its tier (``environment: prod``); the tier supplies the minimums the stack
validation enforces and the defaults components start from. Adding a stack (say ``qa``)
means choosing a tier, not writing new rules.
"""


from dataclasses import dataclass
from typing import NotRequired

from typing_extensions import TypedDict


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
    """Further tags applied everywhere."""


DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
