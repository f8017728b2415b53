"""Network: a VPC over 2-6 availability zones with public, private and isolated subnets.

Subnet layout (deterministic, independent of how many zones are used). The VPC block
(prefix ``/p``) is cut into eight ``/p+3`` blocks:

- blocks 0-5 are the **private** subnets of AZ slots 0-5 (the large ones: tasks live there);
- block 6 is cut into eight ``/p+6`` slots; slot ``i`` is the **public** subnet of AZ ``i``;
- block 7 is cut likewise; slot ``i`` is the **isolated** (data) subnet of AZ ``i``.

For ``10.0.0.0/16``: AZ 0 gets private ``10.0.0.0/19``, public ``10.0.192.0/22`` and
isolated ``10.0.224.0/22``; AZ 1 gets ``10.0.32.0/19``, ``10.0.196.0/22``, ``10.0.228.0/22``.
Every zone slot is reserved up front, so adding a zone never moves an existing subnet, and
the smallest subnets are ``/p+6``: AWS subnets are at least ``/28``, so the VPC block must be
``/22`` or larger whatever the zone count. Two public and two isolated slots stay spare.

Private subnets reach the internet through a NAT gateway in their own zone (``per-az``),
through one NAT gateway in the first zone (``single``) or not at all (``none``). Isolated
subnets never have an internet route. S3 is reached through a gateway endpoint from private
and isolated subnets; other AWS APIs through the interface endpoints listed in ``endpoints``.

Every endpoint carries a perimeter policy (:func:`endpoint_policy`): it serves this account's
principals, and any principal acting on this account's resources, and nothing else, so
credentials of another account cannot carry data out through it. The S3 endpoint also lets
anyone read ECR's image layer bucket, which image pulls reach with URLs ECR signs itself.
"""


import ipaddress
import json
import re
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import allow, child_opts, policy_document, service_trust, type_token
from .encryption import AwsContext, aws_context, check_log_retention, tags_with
from .validation import (
    ArgsError,
    Problem,
    check_choice,
    check_key,
    check_range,
    parse_cidr,
    raise_for,
)

NAT_STRATEGIES = ("per-az", "single", "none")
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts", "ssm",
                       "ssmmessages", "ec2messages", "kms", "xray", "monitoring", "ecs",
                       "ecs-agent", "ecs-telemetry", "sqs", "sns", "elasticloadbalancing")
MAX_AZ_SLOTS = 6
SMALLEST_VPC_PREFIX = 22
"""A /22 VPC gives each zone a /25 private and two /28 (the AWS minimum) subnets."""
DEFAULT_LOG_RETENTION_DAYS = 365

RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                    "192.168.0.0/16"))
AZ_RE = re.compile(r"^([a-z]{2}(?:-[a-z]+)+-\d)([a-z])$")


class NetworkSpec(TypedDict):
    """What a stack file says about the network."""

    cidr: str
    """VPC IPv4 block, private (RFC 1918) range, /16 to /22, e.g. ``10.20.0.0/16``."""
    az_count: NotRequired[int]
    """Availability zones to span, 2-6 (default 3, or as many as ``availability_zones``
    names; prod needs 3 or more)."""
    availability_zones: NotRequired[list[str]]
    """Explicit AZ names; default is the first ``az_count`` zones the region reports."""
    nat_strategy: NotRequired[str]
    """``per-az`` (one NAT gateway per AZ, default), ``single`` or ``none``."""
    endpoints: NotRequired[list[str]]
    """Interface endpoints to create (the S3 gateway endpoint is always created)."""


def check_network(spec: NetworkSpec) -> list[Problem]:
    problems: list[Problem] = []
    cidr = spec["cidr"]
    net = parse_cidr(("cidr",), cidr, problems, min_prefix=16, max_prefix=28)
    zones = spec.get("availability_zones")
    az_count = spec.get("az_count", len(zones) if zones is not None else 3)
    if net is not None:
        if not any(net.subnet_of(block) for block in RFC1918):
            problems.append(Problem(("cidr",), f"{cidr} is not a private (RFC 1918) range: "
                                               "use a block inside 10.0.0.0/8, "
                                               "172.16.0.0/12 or 192.168.0.0/16"))
        elif net.prefixlen > SMALLEST_VPC_PREFIX:
            problems.append(Problem(("cidr",), (
                f"{cidr} is too small for {az_count} availability zones: each zone's public "
                f"and isolated subnets would be /{net.prefixlen + 6}, smaller than the /28 "
                f"AWS allows; use a /{SMALLEST_VPC_PREFIX} or larger block")))
    problems += check_range(("az_count",), az_count, 2, MAX_AZ_SLOTS, "azCount")
    if zones is not None:
        problems += _check_zones(zones, spec.get("az_count"))
    problems += check_choice(("nat_strategy",), spec.get("nat_strategy", "per-az"),
                             NAT_STRATEGIES)
    endpoints = spec.get("endpoints", [])
    for i, endpoint in enumerate(endpoints):
        problems += check_choice(("endpoints", i), endpoint, INTERFACE_ENDPOINTS)
        if endpoint in endpoints[:i]:
            problems.append(Problem(("endpoints", i), f"lists '{endpoint}' more than once"))
    return problems


def _check_zones(zones: list[str], az_count: int | None) -> list[Problem]:
    problems: list[Problem] = []
    regions = set()
    for i, zone in enumerate(zones):
        match = AZ_RE.match(zone)
        if not match:
            problems.append(Problem(("availability_zones", i),
                                    f"'{zone}' is not an availability zone name "
                                    "(e.g. eu-west-1a)"))
        else:
            regions.add(match.group(1))
        if zone in zones[:i]:
            problems.append(Problem(("availability_zones", i),
                                    f"lists {zone} more than once"))
    if len(regions) > 1:
        problems.append(Problem(("availability_zones",),
                                f"mixes regions ({', '.join(sorted(regions))}); name zones of "
                                "one region"))
    if az_count is not None and len(zones) != az_count:
        problems.append(Problem(("availability_zones",),
                                f"names {len(zones)} zones but azCount is {az_count}"))
    return problems


def endpoint_policy(ctx: AwsContext, *, s3: bool = False) -> str:
    """The policy of every endpoint: this account's principals, or this account's
    resources; for the S3 gateway endpoint also ECR's layer bucket of the region (read with
    URLs that ECR presigns, so the caller is not one of this account's principals)."""
    statements: list[dict[str, Any]] = [
        {"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
         "Condition": {"StringEquals": {key: ctx.account_id}}}
        for sid, key in (("OwnPrincipals", "aws:PrincipalAccount"),
                         ("OwnResources", "aws:ResourceAccount"))]
    if s3:
        statements.append({
            "Sid": "EcrImageLayers", "Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:{ctx.partition}:s3:::prod-{ctx.region}-starport-layer-bucket/*"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def subnet_cidrs(cidr: str, slot: int) -> dict[str, str]:
    """The public, private and isolated CIDRs of AZ slot ``slot`` (see the module doc)."""
    if not 0 <= slot < MAX_AZ_SLOTS:
        raise ValueError(f"AZ slot {slot} is outside 0-{MAX_AZ_SLOTS - 1}")
    blocks = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=3))
    public = list(blocks[6].subnets(prefixlen_diff=3))
    isolated = list(blocks[7].subnets(prefixlen_diff=3))
    return {"public": str(public[slot]), "private": str(blocks[slot]),
            "isolated": str(isolated[slot])}


class NetworkArgs(NetworkSpec):
    """Network settings plus wiring."""

    kms_key_arn: pulumi.Input[str]
    """KMS key that encrypts the flow-log group."""
    log_retention_days: NotRequired[int]
    """Flow-log retention in days (default 365)."""
    name_prefix: NotRequired[str]
    """First part of physical names (flow-log group ``/<prefix>/vpc/flow-logs``, IAM role
    ``<prefix>-vpc-flow-logs``); default the component name. Give each stack sharing an
    account its own prefix."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child."""


class Network(pulumi.ComponentResource):
    """A VPC with public, private and isolated subnets in each zone, NAT per strategy, flow
    logs to an encrypted log group, an S3 gateway endpoint, optional interface endpoints and
    a default security group without rules."""

    vpc_id: pulumi.Output[str]
    """VPC id."""
    vpc_cidr: pulumi.Output[str]
    """VPC IPv4 block."""
    availability_zones: pulumi.Output[list[str]]
    """Zones spanned, in slot order."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Public subnets (load balancers, NAT gateways), ordered by zone."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Private subnets (tasks, functions, endpoints), ordered by zone."""
    isolated_subnet_ids: pulumi.Output[list[str]]
    """Isolated subnets without internet route (databases, caches), ordered by zone."""
    private_route_table_ids: pulumi.Output[list[str]]
    """One route table per zone for the private subnets, ordered by zone."""
    endpoint_security_group_id: pulumi.Output[str | None]
    """Security group of the interface endpoints (None when no endpoint is requested)."""
    nat_gateway_ids: pulumi.Output[list[str]]
    """NAT gateways (one per zone, one, or none)."""

    def __init__(self, name: str, args: NetworkArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Network"), name, None, opts)
        raise_for("Network", name,
                  check_network(args) + check_log_retention(args.get("log_retention_days"))
                  + ([] if "name_prefix" not in args
                     else check_key(("name_prefix",), args["name_prefix"])))

        ctx = aws_context(self)
        zones = self._zones(name, args, ctx.region)
        cidr = args["cidr"]
        nat_strategy = args.get("nat_strategy", "per-az")
        retention = args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
        prefix = args.get("name_prefix") or name
        tags = args.get("tags")

        def opts_() -> pulumi.ResourceOptions:
            return child_opts(self)

        vpc = aws.ec2.Vpc(f"{name}-vpc", aws.ec2.VpcArgs(
            cidr_block=cidr, enable_dns_support=True, enable_dns_hostnames=True,
            tags=tags_with(tags, {"Name": name})), opts=opts_())
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", aws.ec2.DefaultSecurityGroupArgs(
            vpc_id=vpc.id, ingress=[], egress=[],
            tags=tags_with(tags, {"Name": f"{name}-default-do-not-use"})), opts=opts_())
        igw = aws.ec2.InternetGateway(f"{name}-igw", aws.ec2.InternetGatewayArgs(
            vpc_id=vpc.id, tags=tags_with(tags, {"Name": name})), opts=opts_())

        subnets: dict[str, dict[str, aws.ec2.Subnet]] = {"public": {}, "private": {},
                                                         "isolated": {}}
        for slot, az in enumerate(zones):
            for tier, block in subnet_cidrs(cidr, slot).items():
                subnets[tier][az] = aws.ec2.Subnet(f"{name}-{tier}-{az}", aws.ec2.SubnetArgs(
                    vpc_id=vpc.id, availability_zone=az, cidr_block=block,
                    map_public_ip_on_launch=False,
                    tags=tags_with(tags, {"Name": f"{name}-{tier}-{az}", "tier": tier})),
                    opts=opts_())

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", aws.ec2.RouteTableArgs(
            vpc_id=vpc.id, tags=tags_with(tags, {"Name": f"{name}-public"})), opts=opts_())
        aws.ec2.Route(f"{name}-public-default", aws.ec2.RouteArgs(
            route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id), opts=opts_())
        for az in zones:
            aws.ec2.RouteTableAssociation(f"{name}-public-rta-{az}",
                                          aws.ec2.RouteTableAssociationArgs(
                                              subnet_id=subnets["public"][az].id,
                                              route_table_id=public_rt.id), opts=opts_())

        nat_zones = {"per-az": zones, "single": zones[:1], "none": []}[nat_strategy]
        nats: dict[str, aws.ec2.NatGateway] = {}
        for az in nat_zones:
            eip = aws.ec2.Eip(f"{name}-eip-{az}", aws.ec2.EipArgs(
                domain="vpc", tags=tags_with(tags, {"Name": f"{name}-nat-{az}"})),
                opts=child_opts(self, depends_on=[igw]))
            nats[az] = aws.ec2.NatGateway(f"{name}-nat-{az}", aws.ec2.NatGatewayArgs(
                allocation_id=eip.allocation_id, subnet_id=subnets["public"][az].id,
                connectivity_type="public", tags=tags_with(tags, {"Name": f"{name}-nat-{az}"})),
                opts=child_opts(self, depends_on=[igw]))

        private_rts: dict[str, aws.ec2.RouteTable] = {}
        for az in zones:
            rt = aws.ec2.RouteTable(f"{name}-private-rt-{az}", aws.ec2.RouteTableArgs(
                vpc_id=vpc.id, tags=tags_with(tags, {"Name": f"{name}-private-{az}"})),
                opts=opts_())
            private_rts[az] = rt
            nat = nats.get(az) if nat_strategy == "per-az" else nats.get(zones[0])
            if nat is not None:
                aws.ec2.Route(f"{name}-private-default-{az}", aws.ec2.RouteArgs(
                    route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.id), opts=opts_())
            aws.ec2.RouteTableAssociation(f"{name}-private-rta-{az}",
                                          aws.ec2.RouteTableAssociationArgs(
                                              subnet_id=subnets["private"][az].id,
                                              route_table_id=rt.id), opts=opts_())

        isolated_rt = aws.ec2.RouteTable(f"{name}-isolated-rt", aws.ec2.RouteTableArgs(
            vpc_id=vpc.id, tags=tags_with(tags, {"Name": f"{name}-isolated"})), opts=opts_())
        for az in zones:
            aws.ec2.RouteTableAssociation(f"{name}-isolated-rta-{az}",
                                          aws.ec2.RouteTableAssociationArgs(
                                              subnet_id=subnets["isolated"][az].id,
                                              route_table_id=isolated_rt.id), opts=opts_())

        aws.ec2.VpcEndpoint(f"{name}-s3", aws.ec2.VpcEndpointArgs(
            vpc_id=vpc.id, service_name=f"com.amazonaws.{ctx.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[*(private_rts[az].id for az in zones), isolated_rt.id],
            policy=endpoint_policy(ctx, s3=True),
            tags=tags_with(tags, {"Name": f"{name}-s3"})), opts=opts_())

        endpoint_sg_id: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        endpoints = args.get("endpoints", [])
        if endpoints:
            sg = aws.ec2.SecurityGroup(f"{name}-endpoints", aws.ec2.SecurityGroupArgs(
                vpc_id=vpc.id, description=f"{name}: interface endpoints, HTTPS from the VPC",
                tags=tags_with(tags, {"Name": f"{name}-endpoints"})), opts=opts_())
            aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-https",
                                             aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=sg.id, ip_protocol="tcp", from_port=443, to_port=443,
                cidr_ipv4=cidr, description="HTTPS to AWS APIs from inside the VPC"),
                opts=opts_())
            for endpoint in endpoints:
                aws.ec2.VpcEndpoint(f"{name}-{endpoint.replace('.', '-')}",
                                    aws.ec2.VpcEndpointArgs(
                    vpc_id=vpc.id, service_name=f"com.amazonaws.{ctx.region}.{endpoint}",
                    vpc_endpoint_type="Interface", private_dns_enabled=True,
                    subnet_ids=[subnets["private"][az].id for az in zones],
                    security_group_ids=[sg.id],
                    policy=endpoint_policy(ctx),
                    tags=tags_with(tags, {"Name": f"{name}-{endpoint}"})), opts=opts_())
            endpoint_sg_id = sg.id

        self._flow_logs(name, prefix, vpc, ctx, args["kms_key_arn"], retention, tags)

        self.vpc_id = vpc.id
        self.vpc_cidr = pulumi.Output.from_input(cidr)
        self.availability_zones = pulumi.Output.from_input(list(zones))
        self.public_subnet_ids = pulumi.Output.all(*(subnets["public"][az].id for az in zones))
        self.private_subnet_ids = pulumi.Output.all(
            *(subnets["private"][az].id for az in zones))
        self.isolated_subnet_ids = pulumi.Output.all(
            *(subnets["isolated"][az].id for az in zones))
        self.private_route_table_ids = pulumi.Output.all(*(private_rts[az].id for az in zones))
        # The same, as plain Python lists in zone order, for composing code that must count
        # subnets or zones before anything is deployed (Platform -> stores and services).
        self.zones: list[str] = list(zones)
        self.subnets_by_tier: dict[str, list[pulumi.Output[str]]] = {
            tier: [subnets[tier][az].id for az in zones]
            for tier in ("public", "private", "isolated")}
        self.endpoint_security_group_id = endpoint_sg_id
        self.nat_gateway_ids = pulumi.Output.all(*(nats[az].id for az in nat_zones))
        self.register_outputs({
            "vpc_id": self.vpc_id, "vpc_cidr": self.vpc_cidr,
            "availability_zones": self.availability_zones,
            "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids,
            "isolated_subnet_ids": self.isolated_subnet_ids,
            "private_route_table_ids": self.private_route_table_ids,
            "endpoint_security_group_id": self.endpoint_security_group_id,
            "nat_gateway_ids": self.nat_gateway_ids,
        })

    def _zones(self, name: str, args: NetworkArgs, region: str) -> list[str]:
        zones = args.get("availability_zones")
        if zones is not None:
            elsewhere = [z for z in zones if z[:-1] != region]
            raise_for("Network", name, [Problem(
                ("availability_zones",), f"names {', '.join(elsewhere)}, outside the "
                                         f"deployment region {region}")] if elsewhere else [])
            return list(zones)
        az_count = args.get("az_count", 3)
        found = aws.get_availability_zones(state="available",
                                           opts=pulumi.InvokeOptions(parent=self)).names
        if len(found) < az_count:
            raise ArgsError("Network", name, [Problem(
                ("az_count",), f"the region has {len(found)} available zones, fewer than "
                               f"azCount {az_count}")])
        return list(found[:az_count])

    def _flow_logs(self, name: str, prefix: str, vpc: aws.ec2.Vpc, ctx: AwsContext,
                   kms_key_arn: pulumi.Input[str], retention: int,
                   tags: pulumi.Input[dict[str, str]] | None) -> None:
        """ALL traffic to an encrypted log group, delivered by a role that can write to that
        group only and that only this account's flow logs can assume."""
        p, region, acct = ctx.partition, ctx.region, ctx.account_id
        group_name = f"/{prefix}/vpc/flow-logs"
        group_arn = f"arn:{p}:logs:{region}:{acct}:log-group:{group_name}"
        group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", aws.cloudwatch.LogGroupArgs(
            name=group_name, kms_key_id=kms_key_arn, retention_in_days=retention,
            tags=tags_with(tags, {"Name": f"{name}-flow-logs"})), opts=child_opts(self))
        role = aws.iam.Role(f"{name}-flow-logs", aws.iam.RoleArgs(
            name=f"{prefix}-vpc-flow-logs"[:64],
            description=f"Delivers {name} VPC flow logs to {group_name}",
            assume_role_policy=service_trust(
                "vpc-flow-logs.amazonaws.com", acct,
                f"arn:{p}:ec2:{region}:{acct}:vpc-flow-log/*"),
            tags=tags_with(tags, {"Name": f"{name}-flow-logs"})), opts=child_opts(self))
        policy = aws.iam.RolePolicy(f"{name}-flow-logs", aws.iam.RolePolicyArgs(
            role=role.id, name="deliver-flow-logs",
            policy=policy_document([allow(
                "WriteFlowLogGroup",
                ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                [group_arn, f"{group_arn}:*"])])), opts=child_opts(self))
        aws.ec2.FlowLog(f"{name}-flow-logs", aws.ec2.FlowLogArgs(
            vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
            log_destination=group_arn, iam_role_arn=role.arn, max_aggregation_interval=60,
            tags=tags_with(tags, {"Name": f"{name}-flow-logs"})),
            opts=child_opts(self, depends_on=[group, policy]))
