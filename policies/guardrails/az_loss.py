"""What survives the loss of one availability zone: a simulation over a stack's resources.

For every zone the stack's subnets use, the zone is taken away and each component is asked
what it keeps:

- ECS services: the running tasks left, with the desired count spread evenly over the
  zones of the service's subnets (what the ECS scheduler does for awsvpc services unless a
  placement strategy says otherwise), against the service's minimum;
- Kubernetes Deployments/StatefulSets on EKS: the same for replicas, spread by zone only
  when a topology spread constraint on ``topology.kubernetes.io/zone`` says so;
- Lambda functions in a VPC and load balancers: the zones (subnets, load balancer nodes)
  left;
- egress: each NAT gateway and the private subnets whose default route goes through it (a
  NAT gateway serving subnets of other zones is a single point of failure for them);
- databases: the Aurora instances left for the writer to fail over to, RDS Multi-AZ
  standbys, single-AZ instances (data since the last backup is at risk);
- caches: ElastiCache replication groups with automatic failover and Multi-AZ, or not;
- regional services (DynamoDB, S3, SQS, SNS, EventBridge, Step Functions, API Gateway,
  Lambda outside a VPC): AWS runs them across zones.

This module is pure and depends on nothing but the standard library, so the policy pack's
``availability-zone-loss`` rule and preflight's AZ-loss report run the same code. It reads a
stack through a small protocol (:class:`Graph`, :class:`Node`) that the pack's
``Stack``/``Resource`` and preflight's resource graph both provide. A value that is not a
literal of the expected shape (an output unknown at preview, whatever object stands for it)
is treated as unknown: the component is reported as not judged, never as surviving.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

POLICY = "availability-zone-loss"
"""The pack's stack policy that fails on the breaches this simulation finds."""

DEFAULT_MIN_SURVIVING_TASKS = 1
DEFAULT_MIN_SURVIVING_PERCENT = 50

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
RT_ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ECS_SERVICE = "aws:ecs/service:Service"
SCALING_TARGET = "aws:appautoscaling/target:Target"
LB_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
FUNCTION = "aws:lambda/function:Function"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
CACHE_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
CACHE_SUBNET_GROUP = "aws:elasticache/subnetGroup:SubnetGroup"
K8S_WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
K8S_HPA = ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
           "kubernetes:autoscaling/v1:HorizontalPodAutoscaler")
EKS_CAPACITY = ("aws:eks/nodeGroup:NodeGroup", "aws:eks/fargateProfile:FargateProfile")
ZONE_KEY = "topology.kubernetes.io/zone"
ECS_ZONE_FIELD = "attribute:ecs.availability-zone"

REGIONAL: dict[str, str] = {
    "aws:dynamodb/table:Table": "table",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:sqs/queue:Queue": "queue",
    "aws:sns/topic:Topic": "topic",
    "aws:cloudwatch/eventBus:EventBus": "event bus",
    "aws:sfn/stateMachine:StateMachine": "state machine",
    "aws:apigatewayv2/api:Api": "API",
    "aws:apigateway/restApi:RestApi": "API",
    "aws:elasticache/serverlessCache:ServerlessCache": "cache",
}
"""Regional services: AWS runs them across the region's zones (a zone's loss is absorbed)."""


class Node(Protocol):
    """One resource: type token, name, URN and camelCase inputs, linked by dependencies."""

    type: str
    name: str
    urn: str

    def get(self, path: str, default: Any = None) -> Any: ...

    def deps(self, prop: str | None = None,
             types: Sequence[str] | None = None) -> Sequence[Any]: ...


class Graph(Protocol):
    """A stack's resources."""

    def of_type(self, *types: str) -> Sequence[Any]: ...

    def referencing(self, target: Any, types: Sequence[str],
                    prop: str | None = None) -> Sequence[Any]: ...


# --- results -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What one component keeps when one zone is lost."""

    left: str
    """What is left, e.g. ``2 of 3 tasks`` or ``replica promoted``."""
    breach: str = ""
    """Why this loss breaks a requirement (without the zone): non-empty fails the rule."""

    @property
    def ok(self) -> bool:
        return not self.breach


@dataclass
class Row:
    """One component of the stack through every single-zone loss."""

    kind: str
    """``service``, ``workload``, ``function``, ``load balancer``, ``egress``, ``database``,
    ``cache`` or a regional kind (``table``, ``queue``, ...)."""
    resource: Any
    spans: tuple[str, ...]
    """Zones the component runs in (empty for regional services)."""
    detail: str
    """What the simulation assumed, e.g. ``3 tasks, even spread; minimum 2``."""
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    """Per lost zone."""
    not_judged: str = ""
    """Why the component could not be simulated (then ``outcomes`` is empty)."""
    regional: bool = False

    @property
    def name(self) -> str:
        return str(self.resource.name)

    def breaches(self) -> list[tuple[list[str], str]]:
        """Each distinct breach with the zones whose loss causes it."""
        grouped: dict[str, list[str]] = {}
        for zone, outcome in self.outcomes.items():
            if outcome.breach:
                grouped.setdefault(outcome.breach, []).append(zone)
        return [(zones, breach) for breach, zones in grouped.items()]


@dataclass
class Simulation:
    zones: tuple[str, ...]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    min_surviving_tasks: int = DEFAULT_MIN_SURVIVING_TASKS
    min_surviving_percent: int = DEFAULT_MIN_SURVIVING_PERCENT

    def messages(self) -> Iterator[tuple[Any, str]]:
        """``(resource, message)`` for every breach and every component not judged."""
        for row in self.rows:
            if row.not_judged:
                yield row.resource, (f"{row.not_judged}; cannot prove the {row.kind} survives "
                                     "the loss of one availability zone")
            for zones, breach in row.breaches():
                yield row.resource, f"losing {_either(zones)} {breach}"


def _either(zones: Sequence[str]) -> str:
    zones = sorted(zones)
    if len(zones) == 1:
        return zones[0]
    return ", ".join(zones[:-1]) + f" or {zones[-1]}"


# --- reading values ----------------------------------------------------------------------

class _Unknown:
    def __repr__(self) -> str:
        return "unknown"


UNKNOWN: Any = _Unknown()
"""What the readers below return for a value that is not a literal of the expected shape."""


def _count(node: Any, path: str, default: int | None = None) -> Any:
    value = node.get(path)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        return UNKNOWN
    if isinstance(value, float) and not value.is_integer():
        return UNKNOWN
    return int(value)


def _text(node: Any, path: str) -> Any:
    value = node.get(path)
    if value is None or isinstance(value, str):
        return value
    return UNKNOWN


def _flag(node: Any, path: str) -> Any:
    value = node.get(path)
    if value is None or isinstance(value, bool):
        return value
    return UNKNOWN


def _items(node: Any, path: str) -> Any:
    value = node.get(path)
    if value is None:
        return []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return UNKNOWN


def subnet_zone(subnet: Any) -> Any:
    """The subnet's zone (name or id), None if unset, UNKNOWN if not known."""
    zone = _text(subnet, "availabilityZone")
    if zone is None:
        zone = _text(subnet, "availabilityZoneId")
    return zone


def _zones_of(subnets: Sequence[Any]) -> tuple[tuple[str, ...], str]:
    """(sorted zones, why not known)."""
    zones: set[str] = set()
    for subnet in subnets:
        zone = subnet_zone(subnet)
        if not isinstance(zone, str):
            return (), f"the availability zone of subnet {subnet.name} is not known"
        zones.add(zone)
    return tuple(sorted(zones)), ""


def nat_routes(graph: Graph) -> Iterator[tuple[Any, list[Any]]]:
    """(route table, NAT gateways behind its 0.0.0.0/0 route), from Route resources and
    inline routes."""
    for route in graph.of_type(ROUTE):
        if route.get("destinationCidrBlock") == "0.0.0.0/0" \
                and route.get("natGatewayId") is not None:
            for table in route.deps("routeTableId", (ROUTE_TABLE,)):
                yield table, list(route.deps("natGatewayId", (NAT,)))
    for table in graph.of_type(ROUTE_TABLE):
        routes = table.get("routes")
        if not isinstance(routes, list):
            continue
        for entry in routes:
            if isinstance(entry, dict) and entry.get("cidrBlock") == "0.0.0.0/0" \
                    and entry.get("natGatewayId") is not None:
                yield table, list(table.deps("routes", (NAT,)))


# --- the simulation ----------------------------------------------------------------------

def simulate(graph: Graph, *, min_surviving_tasks: int = DEFAULT_MIN_SURVIVING_TASKS,
             min_surviving_percent: int = DEFAULT_MIN_SURVIVING_PERCENT) -> Simulation:
    """Lose each zone of the stack in turn.

    A service's (or workload's) minimum is the larger of ``min_surviving_tasks`` and
    ``min_surviving_percent`` of its floor, rounded up; the floor is its autoscaling
    minimum (``minCapacity``, HPA ``minReplicas``) or else its desired count."""
    all_zones: set[str] = set()
    for subnet in graph.of_type(SUBNET):
        zone = subnet_zone(subnet)
        if isinstance(zone, str):
            all_zones.add(zone)
    sim = Simulation(tuple(sorted(all_zones)), [], min_surviving_tasks=min_surviving_tasks,
                     min_surviving_percent=min_surviving_percent)

    def minimum(floor: int) -> int:
        return max(min_surviving_tasks, math.ceil(floor * min_surviving_percent / 100))

    sim.rows += _services(graph, sim.zones, minimum)
    sim.rows += _workloads(graph, sim.zones, minimum)
    sim.rows += _functions(graph, sim.zones)
    sim.rows += _load_balancers(graph, sim.zones)
    sim.rows += _egress(graph, sim.zones)
    sim.rows += _databases(graph, sim.zones)
    sim.rows += _caches(graph, sim.zones)
    for rtype, kind in REGIONAL.items():
        for node in graph.of_type(rtype):
            sim.rows.append(Row(kind, node, (), "regional: AWS runs it across zones",
                                {z: Outcome("unaffected") for z in sim.zones},
                                regional=True))
    if not sim.zones:
        sim.notes.append("no subnet of this stack has a known availability zone: "
                         "zonal components were not simulated")
    return sim


def _spread(count: int, spans: Sequence[str], zones: Sequence[str], even: bool,
            floor_text: str, need: int, unit: str) -> dict[str, Outcome]:
    """Outcomes for ``count`` replicas over ``spans``: evenly (the zone that holds the most
    is lost) or, without a zone spread, all of them possibly in the lost zone."""
    out: dict[str, Outcome] = {}
    most = math.ceil(count / len(spans)) if even else count
    for zone in zones:
        left = count - most if zone in spans else count
        text = f"{left} of {count} {unit}"
        breach = ""
        if left < need:
            breach = (f"leaves {left} of {count} {unit} running, below the minimum of {need} "
                      f"({floor_text})")
        out[zone] = Outcome(text, breach)
    return out


def _minimum_text(floor: int, source: str, need: int) -> str:
    return f"minimum {need} of floor {floor} ({source})"


def _services(graph: Graph, zones: Sequence[str], minimum: Any) -> Iterator[Row]:
    for svc in graph.of_type(ECS_SERVICE):
        row = Row("service", svc, (), "")
        if _text(svc, "schedulingStrategy") == "DAEMON":
            row.not_judged = "a DAEMON service runs one task per container instance"
            yield row
            continue
        subnets = svc.deps("networkConfiguration", (SUBNET,))
        if not subnets:
            # Subnets from a data source or another stack carry no zone this stack shows;
            # without networkConfiguration, tasks run where the container instances are.
            row.not_judged = (
                "networkConfiguration names no subnet of this stack (its zones are not "
                "visible here)" if svc.get("networkConfiguration.subnets") is not None else
                "no networkConfiguration: tasks follow the cluster's container instances")
            yield row
            continue
        spans, why = _zones_of(subnets)
        row.spans = spans
        desired = _count(svc, "desiredCount", 0)
        if why or desired is UNKNOWN:
            row.not_judged = why or "desiredCount is unknown at preview"
            yield row
            continue
        floor, source = desired, "desired count"
        for target in graph.referencing(svc, (SCALING_TARGET,), "resourceId"):
            low = _count(target, "minCapacity")
            if isinstance(low, int):
                floor, source = low, "autoscaling minimum"
        strategies = _items(svc, "orderedPlacementStrategies")
        even = strategies is not UNKNOWN and (
            not strategies or any(s.get("type") == "spread" and s.get("field") == ECS_ZONE_FIELD
                                  for s in strategies))
        how = "even spread" if even else "placement strategy does not spread by zone"
        need = minimum(floor)
        row.detail = f"{desired} tasks over {len(spans)} zone(s), {how}; " \
                     f"{_minimum_text(floor, source, need)}"
        if desired == 0:
            row.outcomes = {z: Outcome("no tasks") for z in zones}
        else:
            row.outcomes = _spread(desired, spans, zones, even,
                                   f"{source} {floor}", need, "tasks")
        yield row


def _zone_spread(workload: Any) -> bool:
    spec = workload.get("spec.template.spec")
    if not isinstance(spec, dict):
        return False
    for constraint in spec.get("topologySpreadConstraints") or []:
        if isinstance(constraint, dict) and constraint.get("topologyKey") == ZONE_KEY \
                and constraint.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule":
            return True
    return False


def _workloads(graph: Graph, zones: Sequence[str], minimum: Any) -> Iterator[Row]:
    workloads = graph.of_type(*K8S_WORKLOADS)
    if not workloads:
        return
    capacity = graph.of_type(*EKS_CAPACITY)
    subnets = [s for c in capacity for s in c.deps("subnetIds", (SUBNET,))]
    spans, why = _zones_of(subnets)
    if not subnets:
        why = "no EKS node group or Fargate profile with subnets in this stack"
    floors: dict[str, int] = {}
    for hpa in graph.of_type(*K8S_HPA):
        target = hpa.get("spec.scaleTargetRef.name")
        low = _count(hpa, "spec.minReplicas", 1)
        if isinstance(target, str) and isinstance(low, int):
            floors[target] = low
    for workload in workloads:
        row = Row("workload", workload, spans, "")
        replicas = _count(workload, "spec.replicas", 1)
        if why or replicas is UNKNOWN:
            row.not_judged = why or "spec.replicas is unknown at preview"
            yield row
            continue
        name = workload.get("metadata.name")
        floor, source = replicas, "replicas"
        if isinstance(name, str) and name in floors:
            floor, source = floors[name], "HPA minReplicas"
        even = _zone_spread(workload)
        how = "zone topology spread" if even else \
            "no zone topology spread: replicas may share one zone"
        need = minimum(floor)
        row.detail = f"{replicas} replicas over {len(spans)} zone(s), {how}; " \
                     f"{_minimum_text(floor, source, need)}"
        row.outcomes = _spread(replicas, spans, zones, even, f"{source} {floor}", need,
                               "replicas")
        yield row


def _zonal_row(kind: str, node: Any, subnets: Sequence[Any], zones: Sequence[str],
               unit: str, down: str) -> Row:
    spans, why = _zones_of(subnets)
    row = Row(kind, node, spans, f"{len(spans)} zone(s) of {unit}")
    if why:
        row.not_judged = why
        return row
    for zone in zones:
        left = len([z for z in spans if z != zone])
        breach = "" if left else down
        row.outcomes[zone] = Outcome(f"{left} of {len(spans)} {unit}", breach)
    return row


def _functions(graph: Graph, zones: Sequence[str]) -> Iterator[Row]:
    for fn in graph.of_type(FUNCTION):
        if fn.get("vpcConfig") is None:
            yield Row("function", fn, (), "regional: not attached to a VPC",
                      {z: Outcome("unaffected") for z in zones}, regional=True)
            continue
        subnets = fn.deps("vpcConfig", (SUBNET,))
        if not subnets:
            row = Row("function", fn, (), "")
            row.not_judged = "vpcConfig names no subnet of this stack"
            yield row
            continue
        yield _zonal_row("function", fn, subnets, zones, "subnet zones",
                         "leaves the function no subnet to run in")


def _load_balancers(graph: Graph, zones: Sequence[str]) -> Iterator[Row]:
    for lb in graph.of_type(*LB_TYPES):
        subnets = [*lb.deps("subnets", (SUBNET,)), *lb.deps("subnetMappings", (SUBNET,))]
        if not subnets:
            row = Row("load balancer", lb, (), "")
            row.not_judged = "its subnets are not resources of this stack"
            yield row
            continue
        yield _zonal_row("load balancer", lb, subnets, zones, "load balancer nodes",
                         "leaves the load balancer no node")


def _egress(graph: Graph, zones: Sequence[str]) -> Iterator[Row]:
    served: dict[str, tuple[Any, list[Any]]] = {}
    for table, nats in nat_routes(graph):
        for nat in nats:
            entry = served.setdefault(nat.urn, (nat, []))
            for assoc in graph.referencing(table, (RT_ASSOC,), "routeTableId"):
                entry[1].extend(assoc.deps("subnetId", (SUBNET,)))
    services = graph.of_type(ECS_SERVICE, FUNCTION)
    for nat, subnets in served.values():
        row = Row("egress", nat, (), "")
        nat_subnets = nat.deps("subnetId", (SUBNET,))
        nat_zone = subnet_zone(nat_subnets[0]) if nat_subnets else UNKNOWN
        spans, why = _zones_of(subnets)
        if not isinstance(nat_zone, str) or why:
            row.not_judged = why or f"the availability zone of NAT gateway {nat.name} is not known"
            yield row
            continue
        row.spans = (nat_zone,)
        row.detail = f"NAT gateway in {nat_zone} for private subnets in {', '.join(spans)}"
        for zone in zones:
            if zone != nat_zone:
                row.outcomes[zone] = Outcome("egress kept")
                continue
            cut = sorted(s.name for s in subnets if subnet_zone(s) != zone)
            if not cut:
                row.outcomes[zone] = Outcome("lost with its own zone")
                continue
            users = sorted({str(s.name) for s in services
                            if any(sub.name in cut for sub in [
                                *s.deps("networkConfiguration", (SUBNET,)),
                                *s.deps("vpcConfig", (SUBNET,))])})
            who = f" (used by {', '.join(users)})" if users else ""
            row.outcomes[zone] = Outcome(
                f"egress lost for {len(cut)} subnet(s) in other zones",
                f"cuts internet egress for private subnet(s) {', '.join(cut)}{who}: NAT gateway "
                f"{nat.name} in {nat_zone} is their single point of failure")
        yield row


def _subnet_group_zones(node: Any, prop: str, group_type: str) -> tuple[tuple[str, ...], str]:
    groups = node.deps(prop, (group_type,))
    subnets = [s for g in groups for s in g.deps("subnetIds", (SUBNET,))]
    if not subnets:
        return (), ""
    return _zones_of(subnets)


def _databases(graph: Graph, zones: Sequence[str]) -> Iterator[Row]:
    for cluster in graph.of_type(RDS_CLUSTER):
        engine = _text(cluster, "engine")
        row = Row("database", cluster, (), "")
        if not isinstance(engine, str):
            row.not_judged = "engine is unknown at preview"
            yield row
            continue
        if not engine.startswith("aurora"):
            spans, _ = _subnet_group_zones(cluster, "dbSubnetGroupName", RDS_SUBNET_GROUP)
            row.spans = spans
            row.detail = "Multi-AZ DB cluster: a writer and two readable standbys in 3 zones"
            row.outcomes = {z: Outcome("standby promoted") for z in zones}
            yield row
            continue
        members = graph.referencing(cluster, (RDS_CLUSTER_INSTANCE,), "clusterIdentifier")
        placed: list[str] = []
        unplaced: list[str] = []
        for member in members:
            zone = _text(member, "availabilityZone")
            if isinstance(zone, str):
                placed.append(zone)
            elif zone is None:
                unplaced.append(str(member.name))
            else:
                row.not_judged = f"the availabilityZone of instance {member.name} is unknown"
                break
        if row.not_judged:
            yield row
            continue
        row.spans = tuple(sorted(set(placed)))
        row.detail = (f"Aurora, {len(members)} instance(s)"
                      + (f" in {', '.join(sorted(placed))}" if placed else "")
                      + (f"; {', '.join(unplaced)} placed by RDS" if unplaced else "")
                      + "; storage replicated across 3 zones")
        for zone in zones:
            left = len([z for z in placed if z != zone])
            if not members:
                row.outcomes[zone] = Outcome("no instance", "leaves the cluster no instance")
            elif left and not unplaced:
                row.outcomes[zone] = Outcome(f"writer fails over ({left} instance(s) left)")
            elif left:
                row.outcomes[zone] = Outcome(f"writer fails over ({left} placed instance(s) "
                                             "left)")
            elif unplaced and len(members) > 1:
                row.outcomes[zone] = Outcome(
                    "may lose every instance",
                    f"may take every instance: RDS places instances without an "
                    f"availabilityZone ({', '.join(unplaced)}) in any zone; pin instances to "
                    "different zones")
            else:
                row.outcomes[zone] = Outcome(
                    "writer down until replaced",
                    "leaves the database no instance to fail over to: the writer is down "
                    "until RDS replaces it (no data lost: Aurora storage spans 3 zones)")
        yield row
    for instance in graph.of_type(RDS_INSTANCE):
        row = Row("database", instance, (), "")
        multi = _flag(instance, "multiAz")
        zone = _text(instance, "availabilityZone")
        if multi is UNKNOWN or zone is UNKNOWN:
            row.not_judged = "multiAz or availabilityZone is unknown at preview"
            yield row
            continue
        if multi is True:
            row.spans, _ = _subnet_group_zones(instance, "dbSubnetGroupName", RDS_SUBNET_GROUP)
            row.detail = "Multi-AZ: synchronous standby in another zone"
            row.outcomes = {z: Outcome("standby takes over") for z in zones}
            yield row
            continue
        row.spans = (zone,) if zone else ()
        row.detail = f"single-AZ instance in {zone or 'a zone RDS picks'}"
        for z in zones:
            if zone is not None and z != zone:
                row.outcomes[z] = Outcome("unaffected")
            else:
                row.outcomes[z] = Outcome(
                    "instance lost" if zone else "instance lost if it is there",
                    "takes the single-AZ database: it is down and writes since the last "
                    "backup may be lost; set multiAz: true")
        yield row


def _caches(graph: Graph, zones: Sequence[str]) -> Iterator[Row]:
    for group in graph.of_type(CACHE_GROUP):
        row = Row("cache", group, (), "")
        shards = _count(group, "numNodeGroups")
        replicas = _count(group, "replicasPerNodeGroup")
        clusters = _count(group, "numCacheClusters")
        failover = _flag(group, "automaticFailoverEnabled")
        multi = _flag(group, "multiAzEnabled")
        if UNKNOWN in (shards, replicas, clusters, failover, multi):
            row.not_judged = "node counts or failover settings are unknown at preview"
            yield row
            continue
        nodes_per_shard = replicas + 1 if replicas is not None else (clusters or 1)
        row.spans, _ = _subnet_group_zones(group, "subnetGroupName", CACHE_SUBNET_GROUP)
        survives = nodes_per_shard > 1 and failover is True and multi is True
        row.detail = (f"{shards or 1} shard(s) x {nodes_per_shard} node(s), automatic failover "
                      f"{'on' if failover else 'off'}, Multi-AZ {'on' if multi else 'off'}")
        for zone in zones:
            if survives:
                row.outcomes[zone] = Outcome("replica promoted")
            else:
                row.outcomes[zone] = Outcome(
                    "primary lost",
                    "may take the cache's primary with no replica in another zone to promote: "
                    "its data since the last snapshot is lost; add a replica and enable "
                    "automaticFailoverEnabled and multiAzEnabled")
        yield row
    for cluster in graph.of_type(CACHE_CLUSTER):
        if cluster.get("replicationGroupId") is not None:
            continue  # a member of a replication group, judged above
        row = Row("cache", cluster, (), "")
        nodes = _count(cluster, "numCacheNodes", 1)
        mode = _text(cluster, "azMode")
        if nodes is UNKNOWN or mode is UNKNOWN:
            row.not_judged = "numCacheNodes or azMode is unknown at preview"
            yield row
            continue
        spread = mode == "cross-az" and nodes > 1
        row.detail = f"{nodes} node(s), {'cross-az' if spread else 'single zone'}"
        for zone in zones:
            row.outcomes[zone] = Outcome(
                "some nodes lost" if spread else "cache lost",
                "" if spread else "may take every node of the cache: set azMode cross-az with "
                                  "nodes in several zones, or use a replication group")
        yield row
