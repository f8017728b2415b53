"""The estate as a Mermaid flowchart: subnet tiers of each VPC (with the zones each component
spans), load balancers, services, functions, APIs, stores, topics and queues, and who may
talk to whom: security-group rules (port), API integrations, event wiring and IAM grants
(a role's policy naming or depending on a store).

Components are grouped by subnet tier, not drawn once per zone, so 50 services stay one
column of boxes per tier; each box says which zones it spans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .graph import Node, ResourceGraph

SUBNET = "aws:ec2/subnet:Subnet"
SG = "aws:ec2/securityGroup:SecurityGroup"

# type -> (kind, short label, Mermaid shape open, close)
SHAPES: dict[str, tuple[str, str, str, str]] = {
    "aws:lb/loadBalancer:LoadBalancer": ("loadBalancer", "load balancer", "[/", "\\]"),
    "aws:alb/loadBalancer:LoadBalancer": ("loadBalancer", "load balancer", "[/", "\\]"),
    "aws:ecs/service:Service": ("service", "ECS service", "[", "]"),
    "kubernetes:apps/v1:Deployment": ("service", "Deployment", "[", "]"),
    "kubernetes:apps/v1:StatefulSet": ("service", "StatefulSet", "[", "]"),
    "aws:lambda/function:Function": ("function", "Lambda", "([", "])"),
    "aws:apigatewayv2/api:Api": ("api", "API Gateway", "{{", "}}"),
    "aws:apigateway/restApi:RestApi": ("api", "REST API", "{{", "}}"),
    "aws:rds/cluster:Cluster": ("store", "Aurora/RDS cluster", "[(", ")]"),
    "aws:rds/instance:Instance": ("store", "RDS instance", "[(", ")]"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("store", "ElastiCache", "[(", ")]"),
    "aws:elasticache/cluster:Cluster": ("store", "ElastiCache", "[(", ")]"),
    "aws:elasticache/serverlessCache:ServerlessCache": ("store", "ElastiCache", "[(", ")]"),
    "aws:dynamodb/table:Table": ("store", "DynamoDB", "[(", ")]"),
    "aws:s3/bucket:Bucket": ("store", "S3", "[(", ")]"),
    "aws:s3/bucketV2:BucketV2": ("store", "S3", "[(", ")]"),
    "aws:sqs/queue:Queue": ("messaging", "SQS queue", ">", "]"),
    "aws:sns/topic:Topic": ("messaging", "SNS topic", ">", "]"),
    "aws:cloudwatch/eventBus:EventBus": ("messaging", "EventBridge bus", ">", "]"),
    "aws:sfn/stateMachine:StateMachine": ("workflow", "Step Functions", "[[", "]]"),
    "aws:ec2/natGateway:NatGateway": ("nat", "NAT gateway", "[", "]"),
}
# Where a resource keeps its subnets and its security groups.
SUBNET_PROPS = ("networkConfiguration", "subnets", "subnetMappings", "vpcConfig", "subnetId",
                "subnetIds")
SG_PROPS = ("networkConfiguration", "securityGroups", "vpcSecurityGroupIds",
            "securityGroupIds", "vpcConfig")
STORE_PARTS = ("store", "messaging", "workflow", "function")


@dataclass
class DiagramNode:
    id: str
    name: str
    type: str
    kind: str
    label: str
    tier: str
    """Subnet tier (``public``, ``private``, ``isolated``...) or ``regional``."""
    vpc: str
    zones: list[str]


@dataclass
class Edge:
    source: str
    target: str
    label: str
    via: str
    """``network`` (security groups), ``route`` (integrations, events) or ``iam``."""


@dataclass
class Diagram:
    nodes: list[DiagramNode] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mermaid: str = ""


def _zone_suffix(zones: Iterable[str]) -> str:
    zones = sorted(zones)
    if not zones:
        return ""
    common = zones[0][:-1]
    if all(z[:-1] == common for z in zones):
        return f"{common}{'/'.join(z[-1] for z in zones)}"
    return ", ".join(zones)


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label; line breaks become ``<br/>``."""
    safe = text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return safe.replace("\n", "<br/>")


class _Builder:
    def __init__(self, graph: ResourceGraph) -> None:
        self.graph = graph
        self.diagram = Diagram()
        self.ids: dict[str, str] = {}
        self.subnet_tier: dict[str, str] = {}
        self.subnet_vpc: dict[str, str] = {}
        self.edge_keys: set[tuple[str, str, str]] = set()

    # --- subnets ---------------------------------------------------------------------

    def classify_subnets(self) -> None:
        routes: dict[str, str] = {}
        for route in self.graph.of_type("aws:ec2/route:Route"):
            if route.get("destinationCidrBlock") != "0.0.0.0/0":
                continue
            kind = ("public" if route.get("gatewayId") is not None else
                    "private" if route.get("natGatewayId") is not None else "")
            for table in route.deps("routeTableId"):
                if kind:
                    routes[table.urn] = kind
        for assoc in self.graph.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
            tables = assoc.deps("routeTableId")
            for subnet in assoc.deps("subnetId", (SUBNET,)):
                self.subnet_tier[subnet.urn] = routes.get(tables[0].urn, "isolated") \
                    if tables else "isolated"
        for subnet in self.graph.of_type(SUBNET):
            tags = subnet.get("tags")
            tag = tags.get("tier") if isinstance(tags, dict) else None
            if isinstance(tag, str):
                self.subnet_tier[subnet.urn] = tag
            self.subnet_tier.setdefault(subnet.urn, "isolated")
            vpcs = subnet.deps("vpcId")
            self.subnet_vpc[subnet.urn] = vpcs[0].name if vpcs else ""

    def subnets_of(self, node: Node) -> list[Node]:
        found = [s for p in SUBNET_PROPS for s in node.deps(p, (SUBNET,))]
        for group_prop in ("dbSubnetGroupName", "subnetGroupName"):
            for group in node.deps(group_prop):
                found += group.deps("subnetIds", (SUBNET,))
        if node.type == "aws:rds/cluster:Cluster" and not found:
            for group in node.deps("dbSubnetGroupName"):
                found += group.deps("subnetIds", (SUBNET,))
        return found

    # --- nodes -----------------------------------------------------------------------

    def add_nodes(self) -> None:
        for node in self.graph.nodes:
            shape = SHAPES.get(node.type)
            if shape is None:
                continue
            kind, what, _, _ = shape
            subnets = self.subnets_of(node)
            zones = sorted({z for z in (s.get("availabilityZone") for s in subnets)
                            if isinstance(z, str)})
            tiers = [self.subnet_tier.get(s.urn, "isolated") for s in subnets]
            tier = max(set(tiers), key=tiers.count) if tiers else "regional"
            vpc = self.subnet_vpc.get(subnets[0].urn, "") if subnets else ""
            detail = self.detail(node, what)
            zone_text = _zone_suffix(zones)
            label = f"{node.name}\n{detail}" + (f" · {zone_text}" if zone_text else "")
            nid = f"n{len(self.ids)}"
            self.ids[node.urn] = nid
            self.diagram.nodes.append(DiagramNode(nid, node.name, node.type, kind, label, tier,
                                                  vpc, zones))

    def detail(self, node: Node, what: str) -> str:
        if node.type == "aws:ecs/service:Service":
            count = node.get("desiredCount")
            return f"{what} x{count:g}" if isinstance(count, int | float) else what
        if node.type.startswith("kubernetes:apps"):
            count = node.get("spec.replicas", 1)
            return f"{what} x{count:g}" if isinstance(count, int | float) else what
        if "loadBalancer" in node.type:
            scheme = "internal" if node.get("internal") is True else "internet-facing"
            kind = node.get("loadBalancerType", "application")
            return f"{'ALB' if kind == 'application' else str(kind).upper()} · {scheme}"
        if node.type == "aws:rds/cluster:Cluster":
            members = self.graph.referencing(node, ("aws:rds/clusterInstance:ClusterInstance",),
                                             "clusterIdentifier")
            engine = node.get("engine")
            return f"{engine if isinstance(engine, str) else 'RDS'} x{len(members)}"
        if node.type == "aws:elasticache/replicationGroup:ReplicationGroup":
            engine = node.get("engine", "redis")
            return f"ElastiCache {engine}" if isinstance(engine, str) else what
        if node.type == "aws:apigatewayv2/api:Api":
            protocol = node.get("protocolType")
            return f"{protocol} API" if isinstance(protocol, str) else what
        return what

    # --- edges -----------------------------------------------------------------------

    def edge(self, source: Node | str, target: Node, label: str, via: str) -> None:
        src = source if isinstance(source, str) else self.ids.get(source.urn)
        dst = self.ids.get(target.urn)
        if src is None or dst is None or src == dst:
            return
        key = (src, dst, via)
        if key in self.edge_keys:
            for e in self.diagram.edges:
                if (e.source, e.target, e.via) == key and label not in e.label.split(", "):
                    e.label = f"{e.label}, {label}"
            return
        self.edge_keys.add(key)
        self.diagram.edges.append(Edge(src, dst, label, via))

    def sg_holders(self) -> dict[str, list[Node]]:
        holders: dict[str, list[Node]] = {}
        for node in self.graph.nodes:
            if node.urn not in self.ids and node.type != "aws:apigatewayv2/vpcLink:VpcLink":
                continue
            owner = node
            if node.type == "aws:apigatewayv2/vpcLink:VpcLink":
                owners = [api for integ in self.graph.referencing(
                    node, ("aws:apigatewayv2/integration:Integration",), "connectionId")
                    for api in integ.deps("apiId")]
                if not owners:
                    continue
                owner = owners[0]
            for prop in SG_PROPS:
                for sg in node.deps(prop, (SG,)):
                    holders.setdefault(sg.urn, []).append(owner)
        return holders

    def network_edges(self) -> None:
        holders = self.sg_holders()
        rules: list[tuple[Node, list[Node], list[Node], str]] = []
        for rule in self.graph.of_type(
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
            port = _ports(rule.get("ipProtocol"), rule.get("fromPort"), rule.get("toPort"))
            rules.append((rule, rule.deps("securityGroupId", (SG,)),
                          rule.deps("referencedSecurityGroupId", (SG,)), port))
        for rule in self.graph.of_type("aws:ec2/securityGroupRule:SecurityGroupRule"):
            if rule.get("type") != "ingress":
                continue
            port = _ports(rule.get("protocol"), rule.get("fromPort"), rule.get("toPort"))
            rules.append((rule, rule.deps("securityGroupId", (SG,)),
                          rule.deps("sourceSecurityGroupId", (SG,)), port))
        internet = False
        for rule, targets, sources, port in rules:
            cidrs = [rule.get("cidrIpv4"), rule.get("cidrIpv6"),
                     *(rule.get("cidrBlocks") or [])]
            open_world = any(c in ("0.0.0.0/0", "::/0") for c in cidrs)
            for sg in targets:
                for dst in holders.get(sg.urn, []):
                    if open_world:
                        internet = True
                        self.edge("internet", dst, port, "network")
                    for src_sg in sources:
                        for src in holders.get(src_sg.urn, []):
                            self.edge(src, dst, port, "network")
        if internet:
            self.diagram.nodes.insert(0, DiagramNode("internet", "Internet", "", "internet",
                                                     "Internet", "internet", "", []))

    def route_edges(self) -> None:
        for integ in self.graph.of_type("aws:apigatewayv2/integration:Integration"):
            for api in integ.deps("apiId"):
                for target in integ.deps("integrationUri"):
                    if target.type == "aws:lb/listener:Listener":
                        for lb in target.deps("loadBalancerArn"):
                            self.edge(api, lb, "integration", "route")
                    else:
                        self.edge(api, target, "integration", "route")
        for mapping in self.graph.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
            for source in mapping.deps("eventSourceArn"):
                for fn in mapping.deps("functionName"):
                    self.edge(source, fn, "events", "route")
        for sub in self.graph.of_type("aws:sns/topicSubscription:TopicSubscription"):
            for topic in sub.deps("topic"):
                for target in sub.deps("endpoint"):
                    self.edge(topic, target, "subscription", "route")
        for target in self.graph.of_type("aws:cloudwatch/eventTarget:EventTarget"):
            buses = [b for rule in target.deps("rule") for b in rule.deps("eventBusName")]
            for dst in target.deps("arn"):
                for bus in buses:
                    self.edge(bus, dst, "rule", "route")
        for sm in self.graph.of_type("aws:sfn/stateMachine:StateMachine"):
            for dst in sm.deps("definition"):
                self.edge(sm, dst, "task", "route")

    def iam_edges(self) -> None:
        principals: dict[str, list[Node]] = {}
        for svc in self.graph.of_type("aws:ecs/service:Service"):
            for task in svc.deps("taskDefinition"):
                for role in task.deps("taskRoleArn"):
                    principals.setdefault(role.urn, []).append(svc)
        for fn in self.graph.of_type("aws:lambda/function:Function"):
            for role in fn.deps("role"):
                principals.setdefault(role.urn, []).append(fn)
        for sm in self.graph.of_type("aws:sfn/stateMachine:StateMachine"):
            for role in sm.deps("roleArn"):
                principals.setdefault(role.urn, []).append(sm)
        stores = [n for n in self.graph.nodes
                  if n.urn in self.ids and SHAPES[n.type][0] in STORE_PARTS]
        documents: list[tuple[Node, Node]] = []  # (role, policy holder)
        for policy in self.graph.of_type("aws:iam/rolePolicy:RolePolicy"):
            documents += [(role, policy) for role in policy.deps("role")]
        for attachment in self.graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
            documents += [(role, policy) for role in attachment.deps("role")
                          for policy in attachment.deps("policyArn")]
        for role, policy in documents:
            users = principals.get(role.urn, [])
            if not users:
                continue
            grants = _grants(policy.get("policy"))
            for store in stores:
                actions = sorted({a for arn, acts in grants.items() if _names(arn, store)
                                  for a in acts})
                if store in policy.deps("policy") or actions:
                    label = "IAM " + ", ".join(sorted({a.split(":")[0] for a in actions})) \
                        if actions else "IAM"
                    for user in users:
                        self.edge(user, store, label, "iam")

    # --- Mermaid ---------------------------------------------------------------------

    def render(self) -> str:
        out = ["flowchart LR"]
        nodes = self.diagram.nodes
        by_vpc: dict[str, dict[str, list[DiagramNode]]] = {}
        for n in nodes:
            if n.tier in ("regional", "internet"):
                continue
            by_vpc.setdefault(n.vpc, {}).setdefault(n.tier, []).append(n)
        for n in nodes:
            if n.tier == "internet":
                out.append(f'  {n.id}(("{_label(n.label)}"))')
        for v, (vpc, tiers) in enumerate(sorted(by_vpc.items())):
            zones = sorted({z for tier in tiers.values() for n in tier for z in n.zones})
            title = f"VPC {vpc or '(outside this stack)'} · zones {_zone_suffix(zones)}"
            out.append(f'  subgraph vpc{v}["{_label(title)}"]')
            out.append("    direction LR")
            for t, (tier, members) in enumerate(sorted(tiers.items(), key=_tier_order)):
                out.append(f'    subgraph vpc{v}t{t}["{_label(tier)} subnets"]')
                out += [f"      {self.node_line(n)}" for n in members]
                out.append("    end")
            out.append("  end")
        regional = [n for n in nodes if n.tier == "regional"]
        if regional:
            out.append('  subgraph regional["Regional services"]')
            out += [f"    {self.node_line(n)}" for n in regional]
            out.append("  end")
        arrows = {"network": "-->", "route": "==>", "iam": "-.->"}
        for e in self.diagram.edges:
            out.append(f'  {e.source} {arrows[e.via]}|"{_label(e.label)}"| {e.target}')
        return "\n".join(out) + "\n"

    def node_line(self, n: DiagramNode) -> str:
        _, _, open_, close = SHAPES[n.type]
        return f'{n.id}{open_}"{_label(n.label)}"{close}'


def _tier_order(item: tuple[str, Any]) -> tuple[int, str]:
    order = {"public": 0, "private": 1, "isolated": 2}
    return order.get(item[0], 3), item[0]


def _ports(protocol: Any, low: Any, high: Any) -> str:
    if str(protocol) in ("-1", "all"):
        return "all traffic"
    if isinstance(low, int | float) and isinstance(high, int | float):
        ports = f"{low:g}" if low == high else f"{low:g}-{high:g}"
        return f"{protocol} {ports}"
    return str(protocol)


def _grants(document: Any) -> dict[str, list[str]]:
    """Resource ARN -> actions allowed on it by a JSON policy document."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return {}
    if not isinstance(document, dict):
        return {}
    out: dict[str, list[str]] = {}
    statements = document.get("Statement")
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        actions = st.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        resources = st.get("Resource")
        resources = [resources] if isinstance(resources, str) else resources or []
        for arn in resources:
            if isinstance(arn, str):
                out.setdefault(arn, []).extend(a for a in actions if isinstance(a, str))
    return out


_ARN = re.compile(r"^arn:[^:]+:(?P<service>[^:]+):[^:]*:[^:]*:(?P<resource>.+)$")


def _names(arn: str, store: Node) -> bool:
    """Whether ``arn`` names ``store`` (by the name its inputs give)."""
    match = _ARN.match(arn)
    if not match:
        return False
    service, resource = match["service"], match["resource"]
    name = store.get("name")
    if store.type == "aws:dynamodb/table:Table" and isinstance(name, str):
        return service == "dynamodb" and (resource == f"table/{name}"
                                          or resource.startswith(f"table/{name}/"))
    if store.type in ("aws:sqs/queue:Queue", "aws:sns/topic:Topic") and isinstance(name, str):
        return service in ("sqs", "sns") and resource == name
    if store.type in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
        bucket = store.get("bucket")
        return service == "s3" and isinstance(bucket, str) and (
            resource == bucket or resource.startswith(f"{bucket}/"))
    if store.type == "aws:lambda/function:Function" and isinstance(name, str):
        return service == "lambda" and resource in (f"function:{name}", f"function:{name}:*")
    if store.type == "aws:sfn/stateMachine:StateMachine" and isinstance(name, str):
        return service == "states" and resource == f"stateMachine:{name}"
    return False


def build(graph: ResourceGraph) -> Diagram:
    builder = _Builder(graph)
    builder.classify_subnets()
    builder.add_nodes()
    builder.network_edges()
    builder.route_edges()
    builder.iam_edges()
    if not builder.diagram.nodes:
        builder.diagram.notes.append("no load balancer, service, function, API, store, topic "
                                     "or queue in this stack: nothing to draw")
    builder.diagram.mermaid = builder.render()
    return builder.diagram
