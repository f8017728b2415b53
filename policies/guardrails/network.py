"""EC2 / VPC: availability-zone spread, NAT per AZ, flow logs, security groups, subnets,
VPC endpoints, Elastic IPs and internet gateways."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .az_loss import nat_routes
from .core import (
    Param,
    Resource,
    Settings,
    Stack,
    as_list,
    is_unknown,
    load_json,
    num,
    resource_policy,
    stack_policy,
    unknown,
)
from .iam import Statement, condition_keys, statements

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
RT_ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
NAT = "aws:ec2/natGateway:NatGateway"
LB_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
ECS_SERVICE = "aws:ecs/service:Service"
DB_SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
CACHE_SUBNET_GROUP = "aws:elasticache/subnetGroup:SubnetGroup"
FUNCTION = "aws:lambda/function:Function"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
VPC_ENDPOINT_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"
VPC_LINK = "aws:apigatewayv2/vpcLink:VpcLink"
SG_RULE_TYPES = (SG_INGRESS, SG_EGRESS, SG_RULE)

OPEN_CIDRS = ("0.0.0.0/0", "::/0")

# resource type -> properties that carry subnets
AZ_SPREAD_PROPS: dict[str, tuple[str, ...]] = {
    ECS_SERVICE: ("networkConfiguration",),
    LB_TYPES[0]: ("subnets", "subnetMappings"),
    LB_TYPES[1]: ("subnets", "subnetMappings"),
    DB_SUBNET_GROUP: ("subnetIds",),
    CACHE_SUBNET_GROUP: ("subnetIds",),
    FUNCTION: ("vpcConfig",),
    EKS_CLUSTER: ("vpcConfig",),
    EKS_NODE_GROUP: ("subnetIds",),
    VPC_ENDPOINT: ("subnetIds",),
    VPC_LINK: ("subnetIds",),
}


def subnet_zone(subnet: Resource) -> Any:
    zone = subnet.get("availabilityZone")
    if zone is None:
        zone = subnet.get("availabilityZoneId")
    return zone


def _has_subnets(resource: Resource, prop: str) -> object:
    """The literal subnet list a property holds (None if the property is not set)."""
    value = resource.get(prop)
    if value is None or is_unknown(value):
        return value
    if prop in ("networkConfiguration", "vpcConfig"):
        key = "subnets" if prop == "networkConfiguration" else "subnetIds"
        value = value.get(key) if isinstance(value, dict) else None
        if value is None or is_unknown(value):
            return value
    return value if len(value) else None


@stack_policy(
    "multi-az-footprint",
    types=(*AZ_SPREAD_PROPS, SUBNET),
    description="Every VPC-attached service, load balancer, DB/cache subnet group, VPC "
                "function, interface endpoint and VPC link spans at least minAzCount "
                "availability zones.",
    severity="high", guardrail="multi-az",
    fsbp=("ELB.13", "Lambda.5", "RDS.5", "ElastiCache.3"),
    refs=("cdk-nag AS-ELB4", "cdk-nag AS-RDS3"),
    params={"minAzCount": Param("integer", 2, "Fewest availability zones each footprint "
                                "must span (3 in prod).", minimum=1)},
    remediation="Pass one subnet per availability zone (the network's private subnets for "
                "services, functions and data stores; its public subnets for internet-facing "
                "load balancers) and give every subnet a known availabilityZone.",
)
def multi_az_footprint(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    need = s["minAzCount"]
    for resource in stack.of_type(*AZ_SPREAD_PROPS):
        for prop in AZ_SPREAD_PROPS[resource.type]:
            listed = _has_subnets(resource, prop)
            if listed is None:
                continue
            subnets = resource.deps(prop, (SUBNET,))
            claim = f"{prop} spans {need} availability zones"
            # Fewer subnets than zones needed is single-AZ (or too few zones) whatever the
            # zones turn out to be; say so rather than that the zones are unknown.
            too_few = (f"{prop} lists {len(listed)} subnet(s), so it spans at most "
                       f"{len(listed)} availability zone(s); at least {need} are required"
                       if isinstance(listed, list) and len(listed) < need else None)
            if not subnets:
                if too_few:
                    yield resource, too_few
                elif is_unknown(listed):
                    yield resource, unknown(prop, claim)
                else:
                    yield resource, (f"{prop} names subnets that are not resources of this "
                                     f"stack; cannot prove it spans {need} availability zones")
                continue
            zones: set[str] = set()
            for subnet in subnets:
                zone = subnet_zone(subnet)
                if zone is None or is_unknown(zone):
                    yield resource, too_few or unknown(
                        f"availabilityZone of subnet {subnet.name}", claim)
                    break
                zones.add(zone)
            else:
                if len(zones) < need:
                    yield resource, (f"{prop} spans {len(zones)} availability zone(s) "
                                     f"({', '.join(sorted(zones))}); at least {need} are "
                                     "required")


@stack_policy(
    "nat-gateway-per-az",
    types=(ROUTE_TABLE, ROUTE, RT_ASSOC, NAT, SUBNET),
    description="Each private route table's default route uses a NAT gateway in the same "
                "availability zone as the subnets it serves (no cross-AZ egress dependency).",
    severity="medium", guardrail="multi-az",
    refs=("AWS Well-Architected REL10-BP01",),
    remediation="Create one NAT gateway per availability zone (natStrategy per-az) and one "
                "private route table per zone whose 0.0.0.0/0 route targets that zone's NAT "
                "gateway.",
)
def nat_gateway_per_az(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for table, nats in nat_routes(stack):
        if len(nats) != 1:
            yield table, ("default route goes through a NAT gateway that is not a resource of "
                          "this stack; cannot prove it is in the subnets' availability zone")
            continue
        nat = nats[0]
        nat_subnets = nat.deps("subnetId", (SUBNET,))
        nat_zone = subnet_zone(nat_subnets[0]) if nat_subnets else None
        if nat_zone is None or is_unknown(nat_zone):
            yield table, unknown(f"availability zone of NAT gateway {nat.name}",
                                 "egress stays in one availability zone")
            continue
        zones: set[str] = set()
        for assoc in stack.referencing(table, (RT_ASSOC,), "routeTableId"):
            for subnet in assoc.deps("subnetId", (SUBNET,)):
                zone = subnet_zone(subnet)
                if zone is None or is_unknown(zone):
                    yield table, unknown(f"availabilityZone of subnet {subnet.name}",
                                         "egress stays in one availability zone")
                    continue
                zones.add(zone)
        if zones - {nat_zone}:
            yield table, (f"serves subnets in {', '.join(sorted(zones))} but its default route "
                          f"uses NAT gateway {nat.name} in {nat_zone}; each availability zone "
                          "needs its own NAT gateway")


@stack_policy(
    "vpc-flow-logs-enabled",
    types=(VPC, FLOW_LOG),
    description="Every VPC has a flow log capturing ALL traffic.",
    severity="medium", fsbp=("EC2.6",), refs=("cdk-nag AS-VPC7", "checkov CKV2_AWS_11"),
    remediation="Add an aws.ec2.FlowLog for the VPC with trafficType ALL, delivering to a "
                "KMS-encrypted log group with retention.",
)
def vpc_flow_logs(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for vpc in stack.of_type(VPC):
        logs = stack.referencing(vpc, (FLOW_LOG,), "vpcId")
        if not logs:
            yield vpc, "VPC has no flow log"
        for log in logs:
            traffic = log.get("trafficType")
            if is_unknown(traffic):
                yield log, unknown("trafficType", "the flow log captures ALL traffic")
            elif traffic != "ALL":
                yield log, f"flow log captures {traffic or 'no'} traffic; capture ALL"


@stack_policy(
    "default-security-group-closed",
    types=(VPC, DEFAULT_SG),
    description="Every VPC's default security group is adopted and has no rules, so it "
                "denies all traffic.",
    severity="medium", fsbp=("EC2.2",),
    refs=("cdk-nag VPCDefaultSecurityGroupClosed", "checkov CKV2_AWS_12"),
    remediation="Adopt the default security group with aws.ec2.DefaultSecurityGroup(vpc_id=...) "
                "and no ingress or egress rules.",
)
def default_sg_closed(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for vpc in stack.of_type(VPC):
        if not stack.referencing(vpc, (DEFAULT_SG,), "vpcId"):
            yield vpc, ("the default security group is not adopted; manage it with "
                        "aws.ec2.DefaultSecurityGroup and no rules")
    for dsg in stack.of_type(DEFAULT_SG):
        for prop in ("ingress", "egress"):
            value = dsg.get(prop)
            if is_unknown(value):
                yield dsg, unknown(prop, "the default security group denies all traffic")
            elif value:
                yield dsg, f"default security group has {prop} rules; remove them"


def _ingress_rules(stack: Stack) -> Iterator[tuple[Resource, Resource | None, dict, str]]:
    """(resource holding the rule, its security group, normalised rule, label)."""
    for rule in stack.of_type(SG_INGRESS):
        sgs = rule.deps("securityGroupId", (SG,))
        norm = {"protocol": rule.get("ipProtocol"), "from": rule.get("fromPort"),
                "to": rule.get("toPort"),
                "cidrs": [c for c in (rule.get("cidrIpv4"), rule.get("cidrIpv6")) if c is not None]}
        yield rule, sgs[0] if sgs else None, norm, "ingress rule"
    for rule in stack.of_type(SG_RULE):
        if rule.get("type") != "ingress":
            continue
        sgs = rule.deps("securityGroupId", (SG,))
        norm = {"protocol": rule.get("protocol"), "from": rule.get("fromPort"),
                "to": rule.get("toPort"),
                "cidrs": as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))}
        yield rule, sgs[0] if sgs else None, norm, "ingress rule"
    for sg in stack.of_type(SG):
        ingress = sg.get("ingress")
        if is_unknown(ingress):
            yield sg, sg, {"protocol": "-1", "from": 0, "to": 0, "cidrs": [ingress]}, "ingress"
            continue
        for i, entry in enumerate(as_list(ingress)):
            if not isinstance(entry, dict):
                continue
            norm = {"protocol": entry.get("protocol"), "from": entry.get("fromPort"),
                    "to": entry.get("toPort"),
                    "cidrs": as_list(entry.get("cidrBlocks"))
                    + as_list(entry.get("ipv6CidrBlocks"))}
            yield sg, sg, norm, f"ingress[{i}]"


def _alb_only_groups(stack: Stack) -> list[Resource]:
    """Security groups attached to at least one application load balancer and to nothing
    else (rules and other groups that merely reference a group are not attachments)."""
    users: dict[int, list[Resource]] = {}
    for r in stack.resources:
        if r.type in (SG, *SG_RULE_TYPES):
            continue
        for dep in r.deps():
            if dep.type == SG:
                users.setdefault(id(dep), []).append(r)
    out = []
    for sg in stack.of_type(SG):
        found = users.get(id(sg), [])
        if found and all(r.type in LB_TYPES
                         and r.get("loadBalancerType", "application") == "application"
                         for r in found):
            out.append(sg)
    return out


def _ports(rule: dict) -> str:
    if str(rule["protocol"]) in ("-1", "all"):
        return "all ports"
    low, high = num(rule["from"]), num(rule["to"])
    return f"port {low}" if low == high else f"ports {low}-{high}"


@stack_policy(
    "security-group-no-public-ingress",
    types=(SG, SG_INGRESS, SG_RULE, *LB_TYPES),
    description="No security group admits 0.0.0.0/0 or ::/0, except TCP 80/443 on a "
                "security group used only by application load balancers.",
    severity="critical", fsbp=("EC2.18", "EC2.19"),
    refs=("cdk-nag AS-EC23", "checkov CKV_AWS_24", "checkov CKV_AWS_260"),
    remediation="Admit traffic from the load balancer's security group (referencedSecurityGroupId)"
                " or a prefix list instead of an open CIDR; only the ALB listener ports may be "
                "open to the internet.",
)
def sg_no_public_ingress(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    alb_sgs = _alb_only_groups(stack)
    for holder, sg, rule, label in _ingress_rules(stack):
        for cidr in rule["cidrs"]:
            if is_unknown(cidr):
                yield holder, unknown(f"{label} CIDR", "it is not open to the internet")
                continue
            if cidr not in OPEN_CIDRS:
                continue
            web = (str(rule["protocol"]).lower() in ("tcp", "6")
                   and num(rule["from"]) == num(rule["to"]) and num(rule["from"]) in (80, 443))
            if web and sg is not None and sg in alb_sgs:
                continue
            yield holder, (f"{label} admits {cidr} on {_ports(rule)}; only ports 80 and 443 on "
                           "a security group used only by application load balancers may be "
                           "open to the internet")


@resource_policy(
    "security-group-rule-descriptions",
    types=(SG, SG_INGRESS, SG_EGRESS, SG_RULE),
    description="Security groups and every security group rule say what they are for.",
    severity="low", refs=("cdk-nag AS-EC27", "checkov CKV_AWS_23"),
    remediation="Set description on the security group (not the default 'Managed by Pulumi') "
                "and on every ingress and egress rule.",
)
def sg_descriptions(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == SG:
        description = r.get("description")
        if description is None or description == "Managed by Pulumi":
            yield "security group has no description of its purpose"
        for prop in ("ingress", "egress"):
            for i, entry in enumerate(as_list(r.get(prop))):
                if isinstance(entry, dict) and entry.get("description") in (None, ""):
                    yield f"{prop}[{i}] has no description"
    elif r.get("description") in (None, ""):
        yield "rule has no description"


@resource_policy(
    "subnet-no-auto-public-ip",
    types=(SUBNET,),
    description="Subnets do not assign public IPv4 addresses on launch.",
    severity="medium", fsbp=("EC2.15",),
    refs=("cdk-nag VPCSubnetAutoAssignPublicIpDisabled", "checkov CKV_AWS_130"),
    remediation="Leave mapPublicIpOnLaunch unset or false; internet-facing load balancers and "
                "NAT gateways get their addresses explicitly.",
)
def subnet_no_public_ip(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("mapPublicIpOnLaunch")
    if is_unknown(value):
        yield unknown("mapPublicIpOnLaunch", "the subnet assigns no public IPs")
    elif value is True:
        yield "mapPublicIpOnLaunch is true; instances launched here get public IPs"


AWS_SERVICE_PREFIX = "com.amazonaws."


@resource_policy(
    "vpc-interface-endpoint-secured",
    types=(VPC_ENDPOINT,),
    description="Interface endpoints to AWS services resolve the service's own name privately "
                "(private DNS) and admit clients through their own security groups.",
    severity="medium", refs=("AWS PrivateLink guide: DNS and security groups of interface "
                             "endpoints",),
    remediation="Set privateDnsEnabled: true and securityGroupIds to a group admitting HTTPS "
                "from the VPC (the Network component's endpoint security group).",
)
def interface_endpoint_secured(r: Resource, s: Settings) -> Iterator[str]:
    kind, service = r.get("vpcEndpointType", "Gateway"), r.get("serviceName")
    if is_unknown(kind) or is_unknown(service):
        yield unknown("vpcEndpointType/serviceName", "the endpoint is private and guarded")
        return
    if kind != "Interface":
        return
    dns = r.get("privateDnsEnabled")
    if str(service).startswith(AWS_SERVICE_PREFIX):
        if is_unknown(dns):
            yield unknown("privateDnsEnabled", "clients use the endpoint")
        elif dns is not True:
            yield ("privateDnsEnabled is not true: clients resolve the service's public "
                   "endpoint and bypass this one")
    groups = r.get("securityGroupIds")
    if not is_unknown(groups) and not groups:
        yield "securityGroupIds is empty: the endpoint takes the VPC's default security group"


PERIMETER_KEYS = ("aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths",
                  "aws:principalarn", "aws:resourceaccount", "aws:resourceorgid",
                  "aws:resourceorgpaths")
"""Condition keys that keep an endpoint to this account's (or organisation's) principals or
resources: the identity and resource perimeters of AWS's data perimeter guidance."""


def _open(st: Statement) -> bool:
    """An Allow of every action (or every action of a service) on every resource, to any
    principal, with no perimeter condition."""
    principal = st.body.get("Principal")
    anyone = principal in (None, "*") or (
        isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))
    every_action = any(isinstance(a, str) and (a == "*" or a.endswith(":*"))
                       for a in st.values("Action"))
    every_resource = st.body.get("Resource") in (None, "*") or "*" in st.values("Resource")
    perimeter = any(k in PERIMETER_KEYS for k in condition_keys(st))
    return st.allow and anyone and every_action and every_resource and not perimeter


def _endpoint_policies(stack: Stack, endpoint: Resource) -> list[tuple[Resource, Any]]:
    """(resource holding it, policy) for an endpoint's own policy and each
    aws.ec2.VpcEndpointPolicy set on it."""
    found = [(endpoint, endpoint.get("policy"))] if endpoint.get("policy") is not None else []
    found += [(p, p.get("policy")) for p in
              stack.referencing(endpoint, (VPC_ENDPOINT_POLICY,), "vpcEndpointId")]
    return found


@stack_policy(
    "vpc-endpoint-policy-scoped",
    types=(VPC_ENDPOINT, VPC_ENDPOINT_POLICY),
    description="Gateway and interface endpoints to AWS services carry a policy that keeps "
                "them to this account's principals or resources (or names what else they "
                "reach): the default policy lets any credentials, another account's included, "
                "use the endpoint for anything.",
    severity="medium",
    refs=("prowler vpc_endpoint_connections_trust_boundaries",
          "AWS data perimeter guidance: VPC endpoint policies"),
    remediation="Set the endpoint's policy to Allow '*' with a Condition StringEquals "
                "aws:PrincipalAccount (or aws:PrincipalOrgID) and one with aws:ResourceAccount "
                "for this account, plus the AWS-owned resources the workloads need (the ECR "
                "layer bucket prod-<region>-starport-layer-bucket on the S3 endpoint).",
)
def endpoint_policy_scoped(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for endpoint in stack.of_type(VPC_ENDPOINT):
        kind = endpoint.get("vpcEndpointType", "Gateway")
        service = endpoint.get("serviceName")
        if is_unknown(kind) or is_unknown(service):
            yield endpoint, unknown("vpcEndpointType/serviceName", "the endpoint is scoped")
            continue
        if kind not in ("Gateway", "Interface") or not str(service).startswith(
                AWS_SERVICE_PREFIX):
            continue  # other services' endpoints take no policy (AWS allows full access)
        policies = _endpoint_policies(stack, endpoint)
        if not policies:
            yield endpoint, ("endpoint has no policy: the default policy allows any "
                             "principal every action on every resource through it")
        for holder, value in policies:
            try:
                doc = load_json(value)
            except ValueError as exc:
                yield holder, f"policy {exc}"
                continue
            body = doc.get("Statement") if isinstance(doc, dict) else None
            if is_unknown(doc) or is_unknown(body) or any(is_unknown(b)
                                                         for b in as_list(body)):
                yield holder, unknown("policy", "the endpoint is scoped")
                continue
            for st in statements(doc if isinstance(doc, dict) else {}):
                if _open(st):
                    yield holder, (f"policy: {st.label} allows any principal every action on "
                                   "every resource with no perimeter condition")


EIP = "aws:ec2/eip:Eip"
EIP_HOLDERS = ("aws:ec2/eipAssociation:EipAssociation", NAT,
               "aws:ec2/natGatewayEipAssociation:NatGatewayEipAssociation", *LB_TYPES)


@stack_policy(
    "ec2-eip-attached",
    types=(EIP, *EIP_HOLDERS),
    description="Every Elastic IP is attached (to an instance, a network interface, a NAT "
                "gateway or a load balancer): an idle address costs money and may stay on "
                "allowlists after its owner is gone.",
    severity="low", fsbp=("EC2.12",), refs=("AWS Config eip-attached",),
    remediation="Attach the address (instance, networkInterface, an aws.ec2.EipAssociation, "
                "a NAT gateway's allocationId or a load balancer's subnetMappings) or remove "
                "it.",
)
def eip_attached(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for eip in stack.of_type(EIP):
        if eip.get("instance") is not None or eip.get("networkInterface") is not None:
            continue
        if not stack.referencing(eip, EIP_HOLDERS):
            yield eip, ("Elastic IP is attached to nothing in this stack (no instance, "
                        "network interface, association, NAT gateway or load balancer)")


IGW = "aws:ec2/internetGateway:InternetGateway"
IGW_ATTACHMENT = "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment"


def _gateway_vpc(holder: Resource) -> str | None:
    """A problem with the VPC ``holder`` (a gateway or its attachment) attaches to, or
    None when it is a VPC of this stack."""
    if holder.deps("vpcId", (VPC,)):
        return None
    vpc_id = holder.get("vpcId")
    if is_unknown(vpc_id):
        return unknown("vpcId", "the internet gateway serves a VPC of this stack")
    return (f"vpcId {vpc_id} is not a VPC of this stack: its subnets and routes to the "
            "internet are reviewed nowhere here")


@stack_policy(
    "internet-gateway-stack-vpc",
    types=(IGW, IGW_ATTACHMENT, VPC),
    description="Internet gateways attach only to VPCs of this stack, whose subnets, routes "
                "and security groups the pack checks (never to a shared, default or "
                "isolated VPC by id).",
    severity="high", refs=("AWS Config internet-gateway-authorized-vpc-only",),
    remediation="Create the internet gateway with vpcId of a VPC this program manages (the "
                "Network component's VPC); reach other VPCs through their own egress design.",
)
def igw_stack_vpc(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for igw in stack.of_type(IGW):
        if igw.get("vpcId") is not None:
            problem = _gateway_vpc(igw)
            if problem:
                yield igw, problem
        elif not stack.referencing(igw, (IGW_ATTACHMENT,), "internetGatewayId"):
            yield igw, "internet gateway is attached to no VPC of this stack"
    for attachment in stack.of_type(IGW_ATTACHMENT):
        problem = _gateway_vpc(attachment)
        if problem:
            yield attachment, problem
