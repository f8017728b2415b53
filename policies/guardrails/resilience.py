"""Cross-service resilience: what the estate keeps when one availability zone is lost."""

from __future__ import annotations

from collections.abc import Iterator

from . import az_loss
from .core import Param, Resource, Settings, Stack, stack_policy


@stack_policy(
    az_loss.POLICY,
    types=(az_loss.SUBNET, az_loss.ECS_SERVICE, az_loss.SCALING_TARGET, *az_loss.LB_TYPES,
           az_loss.FUNCTION, az_loss.NAT, az_loss.ROUTE, az_loss.ROUTE_TABLE, az_loss.RT_ASSOC,
           az_loss.RDS_CLUSTER, az_loss.RDS_CLUSTER_INSTANCE, az_loss.RDS_INSTANCE,
           az_loss.CACHE_GROUP, az_loss.CACHE_CLUSTER, *az_loss.K8S_WORKLOADS),
    description="Losing any one availability zone leaves every service at or above its "
                "minimum, keeps egress for the private subnets of the other zones, and "
                "loses no database writer or cache data.",
    severity="high", guardrail="multi-az",
    refs=("AWS Well-Architected REL10-BP01", "AWS Builders' Library: static stability"),
    params={
        "minSurvivingTasks": Param(
            "integer", az_loss.DEFAULT_MIN_SURVIVING_TASKS,
            "Fewest tasks (replicas) each service must keep running after losing its busiest "
            "zone (2 in prod: still redundant).", minimum=0),
        "minSurvivingPercent": Param(
            "integer", az_loss.DEFAULT_MIN_SURVIVING_PERCENT,
            "Share of its floor (autoscaling minimum, else desired count) each service must "
            "keep after losing its busiest zone, rounded up.", minimum=0),
    },
    remediation="Spread at least minSurvivingTasks + one zone's share of tasks over three "
                "zones (desiredCount >= zones, evenly placed), give each zone its own NAT "
                "gateway, give Aurora clusters an instance in a second zone (RDS instances "
                "multiAz), and give caches a replica with automatic failover and Multi-AZ.",
)
def availability_zone_loss(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    sim = az_loss.simulate(stack, min_surviving_tasks=s["minSurvivingTasks"],
                           min_surviving_percent=s["minSurvivingPercent"])
    yield from sim.messages()
