"""Cluster: the ECS cluster that Fargate services run in."""


from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, type_token
from .encryption import check_log_retention, tags_with
from .validation import Problem, check_choice, check_key, raise_for

CONTAINER_INSIGHTS = ("enhanced", "enabled")
ON_DEMAND, SPOT = "FARGATE", "FARGATE_SPOT"
DEFAULT_LOG_RETENTION_DAYS = 365


class ClusterSpec(TypedDict):
    """What a stack file says about the ECS cluster."""

    container_insights: NotRequired[str]
    """Container Insights level: ``enhanced`` (default, per-task and per-container metrics)
    or ``enabled``. It cannot be switched off."""
    exec_enabled: NotRequired[bool]
    """Set up ``aws ecs execute-command`` sessions (default true): encrypted with the platform
    key and logged to their own encrypted log group. Each service still opts in to exec."""


class ClusterArgs(ClusterSpec):
    """Cluster settings plus wiring."""

    kms_key_arn: pulumi.Input[str]
    """KMS key for the execute-command sessions and their log group."""
    log_retention_days: NotRequired[int]
    """Retention of the execute-command log group (default 365)."""
    allow_spot: NotRequired[bool]
    """Offer Fargate Spot capacity to services that ask for it (default false: on-demand
    Fargate only, as the pack's ``ecs-no-fargate-spot`` requires unless an environment
    accepts that AWS may stop a Spot task at two minutes' notice)."""
    name_prefix: NotRequired[str]
    """First part of physical names (log group ``/<prefix>/ecs/exec``); default the
    component name."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child."""


def check_cluster(spec: ClusterSpec) -> list[Problem]:
    return check_choice(("container_insights",), spec.get("container_insights", "enhanced"),
                        CONTAINER_INSIGHTS)


class Cluster(pulumi.ComponentResource):
    """An ECS cluster with Container Insights, Fargate capacity (on-demand by default, Spot
    where allowed) and, when enabled, audited and encrypted ECS Exec."""

    cluster_arn: pulumi.Output[str]
    """Cluster ARN."""
    cluster_name: pulumi.Output[str]
    """Cluster name (the component name)."""

    def __init__(self, name: str, args: ClusterArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Cluster"), name, None, opts)
        raise_for("Cluster", name,
                  check_key(("name",), name) + check_cluster(args)
                  + check_log_retention(args.get("log_retention_days"))
                  + ([] if "name_prefix" not in args
                     else check_key(("name_prefix",), args["name_prefix"])))

        insights = args.get("container_insights", "enhanced")
        prefix = args.get("name_prefix") or name
        tags = args.get("tags")

        configuration = None
        depends_on: list[pulumi.Resource] = []
        if args.get("exec_enabled", True):
            group_name = f"/{prefix}/ecs/exec"
            group = aws.cloudwatch.LogGroup(f"{name}-exec", aws.cloudwatch.LogGroupArgs(
                name=group_name, kms_key_id=args["kms_key_arn"],
                retention_in_days=args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS),
                tags=tags_with(tags, {"Name": f"{name}-exec"})), opts=child_opts(self))
            configuration = aws.ecs.ClusterConfigurationArgs(
                execute_command_configuration=aws.ecs
                .ClusterConfigurationExecuteCommandConfigurationArgs(
                    kms_key_id=args["kms_key_arn"],
                    logging="OVERRIDE",
                    log_configuration=aws.ecs
                    .ClusterConfigurationExecuteCommandConfigurationLogConfigurationArgs(
                        cloud_watch_log_group_name=group_name,
                        cloud_watch_encryption_enabled=True)))
            depends_on.append(group)

        cluster = aws.ecs.Cluster(f"{name}-cluster", aws.ecs.ClusterArgs(
            name=name,
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value=insights)],
            configuration=configuration,
            tags=tags_with(tags, {"Name": name})),
            opts=child_opts(self, depends_on=depends_on))
        aws.ecs.ClusterCapacityProviders(f"{name}-capacity",
                                         aws.ecs.ClusterCapacityProvidersArgs(
            cluster_name=cluster.name,
            capacity_providers=[ON_DEMAND, SPOT] if args.get("allow_spot", False) else [ON_DEMAND],
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider=ON_DEMAND, base=1, weight=1)]), opts=child_opts(self))

        self.cluster_arn = cluster.arn
        self.cluster_name = cluster.name
        self.register_outputs({"cluster_arn": self.cluster_arn,
                               "cluster_name": self.cluster_name})
