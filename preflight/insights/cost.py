"""A monthly cost estimate of the stack, from the price table the project ships.

Every priced resource becomes one or more :class:`Line` items (what, how much, the monthly
amount at the desired size and at the autoscaling maximum), grouped by the component that
owns it. Usage that no program states (NAT traffic, requests, log volume...) comes from
:class:`Assumptions`, printed with the estimate and overridable per stack. Resources free in
themselves are counted as such; anything else is listed as not priced, never as zero.

The price table (``prices.json`` beside this module) is dated, names its source, and is read
offline; ``preflight/README.md`` says how to refresh it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, get_type_hints

from annotated_types import Ge

from .graph import UNKNOWN, Node, ResourceGraph

PRICES = Path(__file__).with_name("prices.json")


def camel(name: str) -> str:
    """``nat_processed_gb`` -> ``natProcessedGb``: a setting's key in the preflight config."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


NonNegative = Annotated[float, Ge(0)]


@dataclass(frozen=True)
class Assumptions:
    """Usage the program does not state; each value is per resource and per month, with
    its description last in its annotation.

    A plain dataclass: a stack's preflight config is validated into it by pydantic
    (:mod:`.settings` reads these constraints and ``__pydantic_config__``), and a run
    without one never imports pydantic (a tenth of a second and 9 MB of a small run)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {
        "extra": "forbid", "alias_generator": camel, "populate_by_name": True}

    nat_processed_gb: Annotated[NonNegative, "GB processed by each NAT gateway"] = 100
    load_balancer_lcu: Annotated[NonNegative, "average LCUs of each load balancer"] = 1
    endpoint_processed_gb: Annotated[NonNegative, "GB through each interface endpoint"] = 10
    aurora_storage_gb: Annotated[NonNegative, "storage of each Aurora cluster"] = 50
    aurora_io_million: Annotated[NonNegative, "million I/O requests of each Aurora cluster "
                                              "(Standard storage)"] = 20
    aurora_serverless_acu: Annotated[NonNegative, "average ACUs of each Aurora Serverless v2 "
                                                  "instance"] = 2
    dynamodb_read_million: Annotated[NonNegative, "million read request units of each on-demand "
                                                  "table"] = 10
    dynamodb_write_million: Annotated[NonNegative, "million write request units of each on-demand "
                                                   "table"] = 2
    dynamodb_storage_gb: Annotated[NonNegative, "storage of each table"] = 10
    lambda_invocations_million: Annotated[NonNegative, "million invocations of each function"] = 1
    lambda_duration_ms: Annotated[NonNegative, "average duration of an invocation"] = 200
    api_requests_million: Annotated[NonNegative, "million requests to each API"] = 1
    log_ingest_gb: Annotated[NonNegative, "GB ingested by each log group (stored for its "
                                          "retention)"] = 2
    kms_requests_million: Annotated[NonNegative, "million requests to each key"] = 1
    waf_requests_million: Annotated[NonNegative, "million requests inspected by each web ACL"] = 10
    s3_storage_gb: Annotated[NonNegative, "Standard storage of each bucket"] = 10
    ecr_storage_gb: Annotated[NonNegative, "image storage of each repository"] = 2
    sqs_requests_million: Annotated[NonNegative, "million requests to each queue"] = 1
    sns_publishes_million: Annotated[NonNegative, "million publishes to each topic"] = 1
    events_million: Annotated[NonNegative, "million custom events to each bus"] = 1
    archived_gb: Annotated[NonNegative, "GB of events each event archive takes in per month"] = 1
    state_transitions_thousand: Annotated[NonNegative, "thousand state transitions of each "
                                                       "Standard state machine"] = 100
    xray_traces_million: Annotated[NonNegative, "million traces recorded per sampling rule"] = 1
    build_minutes: Annotated[NonNegative, "build minutes of each CodeBuild project"] = 100
    pipeline_action_minutes: Annotated[NonNegative, "action minutes of each V2 pipeline"] = 300

    def described(self) -> list[tuple[str, float, str]]:
        """(camelCase key, value, description) for every assumption."""
        hints = get_type_hints(type(self), include_extras=True)
        return [(camel(f.name), float(getattr(self, f.name)), hints[f.name].__metadata__[-1])
                for f in fields(self)]


@dataclass
class Line:
    """One priced item of one resource."""

    urn: str
    name: str
    type: str
    group: str
    """The component that owns the resource (or the resource itself)."""
    item: str
    """What is charged, with the quantities, e.g. ``3 tasks x (0.25 vCPU, 0.5 GB)``."""
    monthly: float
    """At the desired size."""
    monthly_max: float
    """At the autoscaling maximum (equal to ``monthly`` when nothing scales)."""


@dataclass
class Estimate:
    currency: str
    as_of: str
    source: str
    hours_per_month: float
    regions: list[str]
    assumptions: Assumptions
    lines: list[Line] = field(default_factory=list)
    free: int = 0
    """Resources that cost nothing in themselves (subnets, roles, rules...)."""
    unpriced: dict[str, list[str]] = field(default_factory=dict)
    """Resource type -> names of resources the price table does not cover, with why."""
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    @property
    def total_max(self) -> float:
        return sum(line.monthly_max for line in self.lines)

    def by_group(self) -> list[tuple[str, float, float]]:
        groups: dict[str, list[float]] = {}
        for line in self.lines:
            entry = groups.setdefault(line.group, [0.0, 0.0])
            entry[0] += line.monthly
            entry[1] += line.monthly_max
        return sorted(((g, a, b) for g, (a, b) in groups.items()), key=lambda x: (-x[1], x[0]))


@cache
def price_table() -> dict[str, Any]:
    return json.loads(PRICES.read_text(encoding="utf-8"))


# Resources that cost nothing in themselves; what they carry is priced elsewhere (a route
# table's traffic on the NAT gateway, a task definition on its service, a log group's
# subscription filter on the log group...).
FREE = frozenset({
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable",
    "aws:ec2/route:Route", "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/internetGateway:InternetGateway", "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ec2/flowLog:FlowLog",
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy",
    "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener",
    "aws:lb/listenerRule:ListenerRule", "aws:lb/targetGroupAttachment:TargetGroupAttachment",
    "aws:lb/listenerCertificate:ListenerCertificate",
    "aws:ecs/cluster:Cluster", "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy", "aws:ecr/repositoryPolicy:RepositoryPolicy",
    "aws:kms/alias:Alias", "aws:lambda/permission:Permission",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:rds/subnetGroup:SubnetGroup", "aws:rds/clusterParameterGroup:ClusterParameterGroup",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:elasticache/subnetGroup:SubnetGroup", "aws:elasticache/user:User",
    "aws:elasticache/userGroup:UserGroup", "aws:elasticache/parameterGroup:ParameterGroup",
    "aws:apigatewayv2/route:Route", "aws:apigatewayv2/integration:Integration",
    "aws:apigatewayv2/authorizer:Authorizer", "aws:apigatewayv2/stage:Stage",
    "aws:apigatewayv2/vpcLink:VpcLink", "aws:apigateway/stage:Stage",
    "aws:apigateway/deployment:Deployment", "aws:apigateway/resource:Resource",
    "aws:apigateway/method:Method", "aws:apigateway/integration:Integration",
    "aws:apigateway/methodSettings:MethodSettings",
    "aws:wafv2/webAclAssociation:WebAclAssociation",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    "aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketNotification:BucketNotification",
    "aws:sns/topicPolicy:TopicPolicy", "aws:sns/topicSubscription:TopicSubscription",
    "aws:sqs/queuePolicy:QueuePolicy", "aws:sqs/redrivePolicy:RedrivePolicy",
    "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget",
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:secretsmanager/secretPolicy:SecretPolicy",
    "aws:eks/addon:Addon", "aws:eks/accessEntry:AccessEntry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    # AWS Signer charges nothing for Lambda code signing; an uploaded object's storage is
    # its bucket's (priced with the bucket's storage assumption).
    "aws:signer/signingProfile:SigningProfile", "aws:signer/signingJob:SigningJob",
    "aws:lambda/codeSigningConfig:CodeSigningConfig",
    "aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2",
})

_MB = 1024.0


class _Pricer:
    """Prices one stack's resources; one method per priced resource type."""

    def __init__(self, graph: ResourceGraph, assumptions: Assumptions, default_region: str):
        self.graph = graph
        self.a = assumptions
        self.table = price_table()
        self.hours = float(self.table["hoursPerMonth"])
        self.default_region = default_region
        self.regions: set[str] = set()

    # --- helpers ---------------------------------------------------------------------

    def region_prices(self, node: Node) -> tuple[str, dict[str, Any] | None]:
        region = node.region() or self.default_region
        self.regions.add(region)
        return region, self.table["regions"].get(region)

    @staticmethod
    def number(node: Node, path: str, default: float | None = None) -> float | None:
        value = node.get(path)
        if value is None:
            return default
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return None

    # --- resource types --------------------------------------------------------------

    def ecs_service(self, svc: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        if svc.get("launchType") == "EC2" or svc.get("schedulingStrategy") == "DAEMON":
            raise _Unpriced("EC2 launch type: priced with the cluster's instances")
        tasks = svc.deps("taskDefinition", ("aws:ecs/taskDefinition:TaskDefinition",))
        if not tasks:
            raise _Unpriced("its task definition is not a resource of this stack")
        task = tasks[0]
        cpu, memory = self.number(task, "cpu"), self.number(task, "memory")
        desired = self.number(svc, "desiredCount", 0)
        if cpu is None or memory is None or desired is None:
            raise _Unpriced("task cpu/memory or desiredCount is unknown at preview")
        maximum = desired
        for target in self.graph.referencing(svc, ("aws:appautoscaling/target:Target",),
                                             "resourceId"):
            high = self.number(target, "maxCapacity")
            if high is not None:
                maximum = max(desired, high)
        arm = task.get("runtimePlatform.cpuArchitecture") == "ARM64"
        strategies = svc.get("capacityProviderStrategies")
        spot_share = 0.0
        if isinstance(strategies, list) and strategies:
            weights = {str(s.get("capacityProvider")): float(s.get("weight") or 0)
                       for s in strategies if isinstance(s, dict)}
            total = sum(weights.values()) or 1.0
            spot_share = weights.get("FARGATE_SPOT", 0.0) / total
        prices = p["fargate"]
        on_demand = prices["arm" if arm else "x86"]
        vcpu, gb = cpu / 1024, memory / _MB

        def task_hour(kind: dict[str, float]) -> float:
            return vcpu * kind["vcpuHour"] + gb * kind["gbHour"]

        per_task = ((1 - spot_share) * task_hour(on_demand)
                    + spot_share * task_hour(prices["spot"])) * self.hours
        capacity = "Fargate Spot" if spot_share == 1 else (
            f"Fargate {'ARM' if arm else 'x86'}" + (f", {spot_share:.0%} Spot" if spot_share
                                                   else ""))
        yield (f"{_n(desired)} tasks x ({_n(vcpu)} vCPU, {_n(gb)} GB), {capacity}; "
               f"up to {_n(maximum)}", desired * per_task, maximum * per_task)

    def nat(self, nat: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        price = p["natGateway"]
        gb = self.a.nat_processed_gb
        cost = price["hour"] * self.hours + price["gb"] * gb
        yield f"NAT gateway, {_n(gb)} GB processed", cost, cost

    def eip(self, eip: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        cost = p["publicIpv4Hour"] * self.hours
        yield "public IPv4 address", cost, cost

    def load_balancer(self, lb: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        kind = lb.get("loadBalancerType", "application")
        price = p["loadBalancer"].get(kind) if isinstance(kind, str) else None
        if price is None:
            raise _Unpriced(f"load balancer type {kind!r} is not in the price table")
        lcu = self.a.load_balancer_lcu
        cost = (price["hour"] + price["lcuHour"] * lcu) * self.hours
        yield f"{kind} load balancer, {_n(lcu)} LCU", cost, cost
        if lb.get("internal") is not True and kind == "application":
            zones = len(lb.deps("subnets", ("aws:ec2/subnet:Subnet",))
                        + lb.deps("subnetMappings", ("aws:ec2/subnet:Subnet",)))
            if zones:
                ips = zones * p["publicIpv4Hour"] * self.hours
                yield f"{zones} public IPv4 addresses (one per zone)", ips, ips

    def vpc_endpoint(self, ep: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        if ep.get("vpcEndpointType", "Gateway") != "Interface":
            yield "gateway endpoint (no charge)", 0.0, 0.0
            return
        subnets = ep.deps("subnetIds", ("aws:ec2/subnet:Subnet",))
        zones = len(subnets) or 1
        price = p["vpcEndpoint"]
        gb = self.a.endpoint_processed_gb
        cost = price["interfaceAzHour"] * zones * self.hours + price["gb"] * gb
        yield f"interface endpoint in {zones} zone(s), {_n(gb)} GB", cost, cost

    def aurora_instance(self, inst: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        cls = inst.get("instanceClass")
        price = p["aurora"]
        if cls == "db.serverless":
            acu = self.a.aurora_serverless_acu
            cost = acu * price["acuHour"] * self.hours
            yield f"Aurora Serverless v2, {_n(acu)} ACU", cost, cost
            return
        hourly = price["instanceHour"].get(cls) if isinstance(cls, str) else None
        if hourly is None:
            raise _Unpriced(f"instance class {cls!r} is not in the price table"
                            if cls is not UNKNOWN else "instanceClass is unknown at preview")
        cost = hourly * self.hours
        yield f"Aurora {cls}", cost, cost

    def rds_cluster(self, cluster: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        engine = cluster.get("engine")
        if not (isinstance(engine, str) and engine.startswith("aurora")):
            raise _Unpriced("Multi-AZ DB clusters are not in the price table")
        price = p["aurora"]
        storage = self.a.aurora_storage_gb * price["storageGbMonth"]
        io = 0.0
        if cluster.get("storageType") != "aurora-iopt1":
            io = self.a.aurora_io_million * price["ioMillion"]
        yield (f"Aurora storage {_n(self.a.aurora_storage_gb)} GB, "
               f"{_n(self.a.aurora_io_million)}M I/O"), storage + io, storage + io

    def rds_instance(self, inst: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        cls = inst.get("instanceClass")
        hourly = p["rds"]["instanceHour"].get(cls) if isinstance(cls, str) else None
        gb = self.number(inst, "allocatedStorage")
        if hourly is None or gb is None:
            raise _Unpriced(f"instance class {cls!r} or allocatedStorage is not priced")
        copies = 2 if inst.get("multiAz") is True else 1
        cost = copies * (hourly * self.hours + gb * p["rds"]["storageGbMonth"])
        yield f"RDS {cls}{' Multi-AZ' if copies == 2 else ''}, {_n(gb)} GB", cost, cost

    def cache_group(self, group: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        node_type = group.get("nodeType")
        price = p["elasticache"]
        hourly = price["nodeHour"].get(node_type) if isinstance(node_type, str) else None
        shards = self.number(group, "numNodeGroups", 1) or 1
        replicas = self.number(group, "replicasPerNodeGroup")
        clusters = self.number(group, "numCacheClusters")
        if hourly is None:
            raise _Unpriced(f"node type {node_type!r} is not in the price table")
        nodes = shards * (replicas + 1) if replicas is not None else (clusters or 1)
        engine = group.get("engine", "redis")
        if engine != "valkey":
            hourly *= price["redisFactor"]
        cost = nodes * hourly * self.hours
        yield f"{_n(nodes)} x {node_type} ({engine})", cost, cost

    def dynamodb(self, table: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        price = p["dynamodb"]
        storage = self.a.dynamodb_storage_gb * price["storageGbMonth"]
        if table.get("billingMode") == "PROVISIONED":
            rcu = self.number(table, "readCapacity", 0) or 0
            wcu = self.number(table, "writeCapacity", 0) or 0
            cost = (rcu * price["rcuHour"] + wcu * price["wcuHour"]) * self.hours + storage
            yield f"provisioned {_n(rcu)} RCU / {_n(wcu)} WCU", cost, cost
            return
        reads, writes = self.a.dynamodb_read_million, self.a.dynamodb_write_million
        cost = reads * price["readMillion"] + writes * price["writeMillion"] + storage
        yield (f"on-demand {_n(reads)}M reads, {_n(writes)}M writes, "
               f"{_n(self.a.dynamodb_storage_gb)} GB"), cost, cost

    def function(self, fn: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        price = p["lambda"]
        memory = self.number(fn, "memorySize", 128) or 128
        arm = fn.get("architectures") == ["arm64"]
        calls = self.a.lambda_invocations_million
        gb_s = calls * 1e6 * self.a.lambda_duration_ms / 1000 * memory / _MB
        cost = gb_s * price["armGbSecond" if arm else "x86GbSecond"] \
            + calls * price["requestMillion"]
        yield (f"{_n(calls)}M invocations x {_n(self.a.lambda_duration_ms)} ms at "
               f"{_n(memory)} MB ({'arm64' if arm else 'x86'})"), cost, cost

    def api(self, api: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        rest = api.type == "aws:apigateway/restApi:RestApi"
        if not rest and api.get("protocolType") == "WEBSOCKET":
            raise _Unpriced("WebSocket APIs are not in the price table")
        calls = self.a.api_requests_million
        cost = calls * p["apiGateway"]["restMillion" if rest else "httpMillion"]
        yield f"{'REST' if rest else 'HTTP'} API, {_n(calls)}M requests", cost, cost

    def log_group(self, group: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        price = p["logs"]
        gb = self.a.log_ingest_gb
        days = self.number(group, "retentionInDays", 0) or 0
        months = days / 30 if days else 12.0
        cost = gb * price["ingestGb"] + gb * min(months, 12.0) * price["storageGbMonth"]
        kept = f"{_n(days)} days" if days else "never expires (12 months counted)"
        yield f"{_n(gb)} GB ingested, kept {kept}", cost, cost

    def alarm(self, alarm: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        price = p["cloudwatch"]
        queries = alarm.get("metricQueries")
        metrics = len([q for q in queries if isinstance(q, dict) and q.get("metric")]) \
            if isinstance(queries, list) and queries else 1
        periods = [q["metric"].get("period") for q in queries
                   if isinstance(q, dict) and isinstance(q.get("metric"), dict)] \
            if isinstance(queries, list) else [alarm.get("period")]
        period = min([p for p in periods if isinstance(p, int | float) and p > 0] or [60])
        high = period < 60
        each = price["highResolutionAlarmMetricMonth" if high else "alarmMetricMonth"]
        yield (f"alarm on {metrics} metric(s){', high resolution' if high else ''}",
               metrics * each, metrics * each)


    def kms_key(self, _: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        price = p["kms"]
        calls = self.a.kms_requests_million
        cost = price["keyMonth"] + calls * 100 * price["tenThousandRequests"]
        yield f"customer managed key, {_n(calls)}M requests", cost, cost

    def web_acl(self, acl: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        price = p["waf"]
        rules = acl.get("rules")
        count = len(rules) if isinstance(rules, list) else 0
        calls = self.a.waf_requests_million
        cost = price["webAclMonth"] + count * price["ruleMonth"] + calls * price["requestMillion"]
        yield f"web ACL with {count} rule(s), {_n(calls)}M requests", cost, cost


    def parameter(self, param: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        if param.get("tier") in ("Advanced", "Intelligent-Tiering"):
            cost = p["ssm"]["advancedParameterMonth"]
            yield "advanced parameter", cost, cost
        else:
            yield "standard parameter (no charge)", 0.0, 0.0


    def event_archive(self, archive: Node, p: dict[str, Any]
                      ) -> Iterator[tuple[str, float, float]]:
        """Archiving (per GB taken in) and storage of what the retention keeps."""
        price = p["eventBridge"]
        gb = self.a.archived_gb
        days = self.number(archive, "retentionDays", 0) or 0
        months = days / 30 if days else 12.0
        cost = gb * price["archiveGb"] + gb * min(months, 12.0) * price["archiveStorageGbMonth"]
        kept = f"{_n(days)} days" if days else "forever (12 months counted)"
        yield f"{_n(gb)} GB archived, kept {kept}", cost, cost

    def state_machine(self, sm: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        if sm.get("type") == "EXPRESS":
            raise _Unpriced("Express workflows are not in the price table")
        thousands = self.a.state_transitions_thousand
        cost = thousands * p["stepFunctions"]["thousandTransitions"]
        yield f"{_n(thousands)}k state transitions", cost, cost


    def build_project(self, proj: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        compute = proj.get("environment.computeType")
        env_type = proj.get("environment.type", "LINUX_CONTAINER")
        per_minute = p["codeBuild"]["minute"].get(compute) if isinstance(compute, str) else None
        if per_minute is None or env_type != "LINUX_CONTAINER":
            raise _Unpriced(f"build environment {env_type}/{compute} is not in the price table")
        minutes = self.a.build_minutes
        cost = minutes * per_minute
        yield f"{_n(minutes)} build minutes on {compute}", cost, cost

    def pipeline(self, pipe: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        price = p["codePipeline"]
        if pipe.get("pipelineType") == "V2":
            minutes = self.a.pipeline_action_minutes
            cost = minutes * price["v2ActionMinute"]
            yield f"V2 pipeline, {_n(minutes)} action minutes", cost, cost
        else:
            yield "V1 pipeline", price["v1PipelineMonth"], price["v1PipelineMonth"]

    def usage(self, node: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        """A fixed price or one assumed quantity times a unit price (:data:`USAGE`)."""
        section, key, assumption, what = USAGE[node.type]
        quantity = getattr(self.a, assumption) if assumption else 1.0
        cost = quantity * p[section][key]
        yield what.format(_n(quantity)), cost, cost

    def eks_cluster(self, _: Node, p: dict[str, Any]) -> Iterator[tuple[str, float, float]]:
        cost = p["eks"]["clusterHour"] * self.hours
        yield "EKS control plane", cost, cost


class _Unpriced(Exception):
    """The resource has a cost the price table or the inputs cannot give."""


# type -> (price section, price key, assumption giving the quantity or None, what is charged)
USAGE: dict[str, tuple[str, str, str | None, str]] = {
    "aws:cloudwatch/dashboard:Dashboard": ("cloudwatch", "dashboardMonth", None, "dashboard"),
    "aws:secretsmanager/secret:Secret": ("secretsManager", "secretMonth", None, "secret"),
    "aws:ecr/repository:Repository": ("ecr", "storageGbMonth", "ecr_storage_gb",
                                      "{} GB of images"),
    "aws:s3/bucket:Bucket": ("s3", "standardGbMonth", "s3_storage_gb", "{} GB Standard"),
    "aws:s3/bucketV2:BucketV2": ("s3", "standardGbMonth", "s3_storage_gb", "{} GB Standard"),
    "aws:sqs/queue:Queue": ("sqs", "requestMillion", "sqs_requests_million", "{}M requests"),
    "aws:sns/topic:Topic": ("sns", "publishMillion", "sns_publishes_million", "{}M publishes"),
    "aws:cloudwatch/eventBus:EventBus": ("eventBridge", "eventMillion", "events_million",
                                         "{}M custom events"),
    "aws:schemas/discoverer:Discoverer": ("eventBridge", "schemaDiscoveryMillion",
                                          "events_million", "{}M events inspected"),
    "aws:xray/samplingRule:SamplingRule": ("xray", "tracesRecordedMillion",
                                           "xray_traces_million", "{}M traces recorded"),
}

Items = Iterator[tuple[str, float, float]]
PRICERS: dict[str, Callable[[_Pricer, Node, dict[str, Any]], Items]] = {
    "aws:ecs/service:Service": _Pricer.ecs_service,
    "aws:ec2/natGateway:NatGateway": _Pricer.nat,
    "aws:ec2/eip:Eip": _Pricer.eip,
    "aws:lb/loadBalancer:LoadBalancer": _Pricer.load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": _Pricer.load_balancer,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _Pricer.vpc_endpoint,
    "aws:rds/cluster:Cluster": _Pricer.rds_cluster,
    "aws:rds/clusterInstance:ClusterInstance": _Pricer.aurora_instance,
    "aws:rds/instance:Instance": _Pricer.rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _Pricer.cache_group,
    "aws:dynamodb/table:Table": _Pricer.dynamodb,
    "aws:lambda/function:Function": _Pricer.function,
    "aws:apigatewayv2/api:Api": _Pricer.api,
    "aws:apigateway/restApi:RestApi": _Pricer.api,
    "aws:cloudwatch/logGroup:LogGroup": _Pricer.log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _Pricer.alarm,
    "aws:kms/key:Key": _Pricer.kms_key,
    "aws:wafv2/webAcl:WebAcl": _Pricer.web_acl,
    "aws:ssm/parameter:Parameter": _Pricer.parameter,
    "aws:sfn/stateMachine:StateMachine": _Pricer.state_machine,
    "aws:cloudwatch/eventArchive:EventArchive": _Pricer.event_archive,
    "aws:codebuild/project:Project": _Pricer.build_project,
    "aws:codepipeline/pipeline:Pipeline": _Pricer.pipeline,
    "aws:eks/cluster:Cluster": _Pricer.eks_cluster,
    **dict.fromkeys(USAGE, _Pricer.usage),
}


def _n(value: float) -> str:
    """A quantity without a trailing .0."""
    return f"{value:g}" if not math.isclose(value, round(value)) else str(round(value))


def estimate(graph: ResourceGraph, assumptions: Assumptions | None = None,
             default_region: str = "") -> Estimate:
    """Price every resource of ``graph``."""
    assumptions = assumptions or Assumptions()
    pricer = _Pricer(graph, assumptions, default_region)
    table = pricer.table
    est = Estimate(table["currency"], table["asOf"], table["source"], pricer.hours, [],
                   assumptions)
    missing_regions: set[str] = set()
    for node in graph.nodes:
        if not node.reg.custom or node.type.startswith("pulumi:"):
            continue
        if node.type in FREE or not node.type.startswith("aws:"):
            if node.type in FREE:
                est.free += 1
            else:
                est.unpriced.setdefault(node.type, []).append(
                    f"{node.name} (not an AWS resource; priced by what runs it)")
            continue
        price = PRICERS.get(node.type)
        if price is None:
            est.unpriced.setdefault(node.type, []).append(f"{node.name} (not in the price model)")
            continue
        region, prices = pricer.region_prices(node)
        if prices is None:
            missing_regions.add(region or "(no region)")
            est.unpriced.setdefault(node.type, []).append(
                f"{node.name} (no prices for region {region or '(none configured)'})")
            continue
        try:
            items = list(price(pricer, node, prices))
        except _Unpriced as exc:
            est.unpriced.setdefault(node.type, []).append(f"{node.name} ({exc})")
            continue
        group = node.group()
        for item, monthly, monthly_max in items:
            est.lines.append(Line(node.urn, node.name, node.type, group, item,
                                  round(monthly, 6), round(monthly_max, 6)))
    est.regions = sorted(pricer.regions - missing_regions)
    if missing_regions:
        known = ", ".join(sorted(table["regions"]))
        est.notes.append(f"no prices for region(s) {', '.join(sorted(missing_regions))} in the "
                         f"shipped table (it has {known})")
    return est
