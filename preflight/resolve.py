"""Ids, ARNs and computed outputs for the resolved pass, in AWS's own formats.

The first pass is a first preview: ids and provider-computed outputs are unknown. The
resolved pass runs the program again as a preview of a stack that already exists, where
those values are known: each resource gets a deterministic id and, for the types in
:data:`KINDS`, its ARN and the computed outputs other resources commonly reference
(``arn:aws:dynamodb:<region>:<account>:table/<name>``, a queue's URL, a function's invoke
ARN...), so documents built from outputs (``Output.json_dumps`` of ARNs) are concrete.

Physical names follow Pulumi's auto-naming: the name the program gave, else the resource's
name plus a 7-hex-digit suffix. Values are derived from the URN, so both runs and every
rerun give the same ones. Other AWS types get an id and a generic
``arn:aws:<module>:<region>:<account>:<type>/<name>``; packages other than ``aws`` get an id
only. Every other output stays unknown, as it would be if AWS had not told it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import struct_pb2

from .account import ACCOUNT_ID, DNS_SUFFIX, PARTITION, StandInAccount, digest
from .account import uuid_of as uuid_from

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class Inputs:
    """Read-only access to the known string inputs of a registration's property Struct."""

    def __init__(self, props: struct_pb2.Struct):
        self.props = props

    def text(self, key: str) -> str | None:
        value = self.props.fields.get(key)
        if value is None or value.WhichOneof("kind") != "string_value":
            return None
        return None if value.string_value == UNKNOWN else value.string_value

    def at(self, path: str) -> str | None:
        """A known string nested in objects (``destination.s3.bucket``)."""
        value: Any = self.props
        for part in path.split("."):
            fields = value.fields if isinstance(value, struct_pb2.Struct) else (
                value.struct_value.fields if value.WhichOneof("kind") == "struct_value" else {})
            if part not in fields:
                return None
            value = fields[part]
        if value.WhichOneof("kind") != "string_value" or value.string_value == UNKNOWN:
            return None
        return str(value.string_value)

    def flag(self, key: str) -> bool:
        value = self.props.fields.get(key)
        return value is not None and value.WhichOneof("kind") == "bool_value" and \
            value.bool_value


@dataclass
class Identity:
    """What a resource's provider would have returned: its id and computed outputs."""

    id: str
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ctx:
    """Everything a format needs for one resource."""

    type: str
    logical: str
    urn: str
    region: str
    inputs: Inputs
    account: StandInAccount

    @property
    def name(self) -> str:
        return self.physical("name")

    def physical(self, prop: str, *, lower: bool = False, max_len: int = 0) -> str:
        """The physical name in ``prop``: as given, else ``<prefix>``/auto-named."""
        given = self.inputs.text(prop)
        if given:
            return given
        prefix = self.inputs.text(f"{prop}Prefix") if prop == "name" else None
        base = prefix if prefix is not None else f"{self.logical}-"
        text = f"{base}{self.hex(7)}"
        if lower:
            text = text.lower()
        return text[-max_len:] if max_len else text

    def hex(self, length: int) -> str:
        return digest(self.urn, length=length)

    def arn(self, service: str, resource: str, *, region: bool = True,
            account: bool = True) -> str:
        return (f"arn:{PARTITION}:{service}:{self.region if region else ''}:"
                f"{ACCOUNT_ID if account else ''}:{resource}")

    def uuid(self) -> str:
        return uuid_from(self.hex(32))

    def upper(self, length: int) -> str:
        return self.hex(length).upper()


Format = Callable[[Ctx], Identity]
KINDS: dict[str, Format] = {}


def kind(*types: str) -> Callable[[Format], Format]:
    def deco(fn: Format) -> Format:
        for t in types:
            KINDS[t] = fn
        return fn
    return deco


def identity(type_: str, logical: str, urn: str, props: struct_pb2.Struct,
             account: StandInAccount, region: str) -> Identity:
    """The resolved id and outputs of one registration."""
    ctx = Ctx(type_, logical, urn, region, Inputs(props), account)
    fmt = KINDS.get(type_)
    if fmt is not None:
        return fmt(ctx)
    if type_.startswith("aws:"):
        module, _, rest = type_.split(":")[1].partition("/")
        noun = re.sub(r"(?<!^)(?=[A-Z])", "-", rest or module).lower()
        name = ctx.name
        return Identity(name, {"arn": ctx.arn(module, f"{noun}/{name}")})
    return Identity(f"{logical}-{ctx.hex(8)}")


def _named(service: str, template: str, *, prop: str = "name", id_is: str = "name",
           region: bool = True, account: bool = True, lower: bool = False,
           extra: Callable[[Ctx, str, str], dict[str, Any]] | None = None) -> Format:
    """A type whose ARN is ``arn:aws:<service>:<region>:<account>:<template>`` of its name."""
    def fmt(ctx: Ctx) -> Identity:
        name = ctx.physical(prop, lower=lower)
        arn = ctx.arn(service, template.format(name=name), region=region, account=account)
        outputs: dict[str, Any] = {"arn": arn, prop: name}
        if extra:
            outputs.update(extra(ctx, name, arn))
        return Identity(arn if id_is == "arn" else name, outputs)
    return fmt


def _ec2(prefix: str, noun: str | None) -> Format:
    def fmt(ctx: Ctx) -> Identity:
        ec2_id = f"{prefix}-{ctx.hex(17)}"
        outputs: dict[str, Any] = {"ownerId": ACCOUNT_ID}
        if noun:
            outputs["arn"] = ctx.arn("ec2", f"{noun}/{ec2_id}")
        return Identity(ec2_id, outputs)
    return fmt


for _type, _prefix, _noun in (
        ("aws:ec2/securityGroup:SecurityGroup", "sg", "security-group"),
        ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "sg", "security-group"),
        ("aws:ec2/internetGateway:InternetGateway", "igw", "internet-gateway"),
        ("aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway", "eigw", None),
        ("aws:ec2/natGateway:NatGateway", "nat", None),
        ("aws:ec2/routeTable:RouteTable", "rtb", "route-table"),
        ("aws:ec2/defaultRouteTable:DefaultRouteTable", "rtb", "route-table"),
        ("aws:ec2/routeTableAssociation:RouteTableAssociation", "rtbassoc", None),
        ("aws:ec2/vpcEndpoint:VpcEndpoint", "vpce", "vpc-endpoint"),
        ("aws:ec2/flowLog:FlowLog", "fl", "vpc-flow-log"),
        ("aws:ec2/networkAcl:NetworkAcl", "acl", "network-acl"),
        ("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl", "acl", "network-acl"),
        ("aws:ec2/instance:Instance", "i", "instance"),
        ("aws:ec2/launchTemplate:LaunchTemplate", "lt", "launch-template"),
        ("aws:ec2/networkInterface:NetworkInterface", "eni", "network-interface"),
        ("aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "pcx", "vpc-peering-connection"),
        ("aws:ec2transitgateway/transitGateway:TransitGateway", "tgw", "transit-gateway"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "sgr",
         "security-group-rule"),
        ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "sgr",
         "security-group-rule"),
        ("aws:efs/fileSystem:FileSystem", "fs", None)):
    KINDS[_type] = _ec2(_prefix, _noun)


@kind("aws:ec2/vpc:Vpc", "aws:ec2/defaultVpc:DefaultVpc")
def _vpc(ctx: Ctx) -> Identity:
    vpc_id = f"vpc-{ctx.hex(17)}"
    return Identity(vpc_id, {
        "arn": ctx.arn("ec2", f"vpc/{vpc_id}"), "ownerId": ACCOUNT_ID,
        "defaultSecurityGroupId": f"sg-{digest(vpc_id, 'sg')}",
        "defaultNetworkAclId": f"acl-{digest(vpc_id, 'acl')}",
        "defaultRouteTableId": f"rtb-{digest(vpc_id, 'rtb')}",
        "mainRouteTableId": f"rtb-{digest(vpc_id, 'rtb')}",
        "dhcpOptionsId": f"dopt-{digest(vpc_id, 'dopt')}"})


@kind("aws:ec2/subnet:Subnet")
def _subnet(ctx: Ctx) -> Identity:
    subnet_id = f"subnet-{ctx.hex(17)}"
    outputs: dict[str, Any] = {"arn": ctx.arn("ec2", f"subnet/{subnet_id}"),
                               "ownerId": ACCOUNT_ID}
    zone = ctx.inputs.text("availabilityZone")
    zone_id = ctx.account.zone_id(zone) if zone else None
    if zone_id:
        outputs["availabilityZoneId"] = zone_id
    return Identity(subnet_id, outputs)


@kind("aws:ec2/eip:Eip")
def _eip(ctx: Ctx) -> Identity:
    allocation = f"eipalloc-{ctx.hex(17)}"
    octet = int(ctx.hex(2), 16) % 254 + 1
    return Identity(allocation, {"allocationId": allocation, "publicIp": f"203.0.113.{octet}",
                                 "arn": ctx.arn("ec2", f"elastic-ip/{allocation}")})


@kind("aws:ec2/securityGroupRule:SecurityGroupRule")
def _sg_rule(ctx: Ctx) -> Identity:
    return Identity(f"sgrule-{int(ctx.hex(8), 16)}", {"securityGroupRuleId": f"sgr-{ctx.hex(17)}"})


@kind("aws:ec2/route:Route")
def _route(ctx: Ctx) -> Identity:
    return Identity(f"r-{ctx.inputs.text('routeTableId') or 'rtb'}{int(ctx.hex(8), 16)}")


kind("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")(_named(
    "s3", "{name}", prop="bucket", region=False, account=False, lower=True,
    extra=lambda ctx, name, arn: {
        "bucketDomainName": f"{name}.s3.{DNS_SUFFIX}",
        "bucketRegionalDomainName": f"{name}.s3.{ctx.region}.{DNS_SUFFIX}",
        "region": ctx.region}))
kind("aws:dynamodb/table:Table")(_named(
    "dynamodb", "table/{name}",
    extra=lambda ctx, name, arn: (
        {"streamArn": f"{arn}/stream/2025-01-01T00:00:00.000", "streamLabel":
         "2025-01-01T00:00:00.000"} if ctx.inputs.flag("streamEnabled") else {})))
kind("aws:sns/topic:Topic")(_named("sns", "{name}", id_is="arn"))
kind("aws:ecs/cluster:Cluster")(_named("ecs", "cluster/{name}", id_is="arn"))
kind("aws:logs/logGroup:LogGroup")(_named("logs", "log-group:{name}"))
kind("aws:cloudwatch/metricAlarm:MetricAlarm")(_named("cloudwatch", "alarm:{name}"))
kind("aws:cloudwatch/compositeAlarm:CompositeAlarm")(_named("cloudwatch", "alarm:{name}"))
kind("aws:cloudwatch/eventRule:EventRule")(_named("events", "rule/{name}"))
kind("aws:cloudwatch/eventBus:EventBus")(_named("events", "event-bus/{name}"))
kind("aws:codebuild/project:Project")(_named("codebuild", "project/{name}", id_is="arn"))
kind("aws:codepipeline/pipeline:Pipeline")(_named("codepipeline", "{name}"))
kind("aws:ecr/repository:Repository")(_named(
    "ecr", "repository/{name}",
    extra=lambda ctx, name, arn: {
        "registryId": ACCOUNT_ID,
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{ctx.region}.{DNS_SUFFIX}/{name}"}))
kind("aws:sfn/stateMachine:StateMachine")(_named("states", "stateMachine:{name}", id_is="arn"))
kind("aws:kinesis/stream:Stream")(_named("kinesis", "stream/{name}"))
kind("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")(
    _named("firehose", "deliverystream/{name}", id_is="arn"))
kind("aws:rds/subnetGroup:SubnetGroup")(_named("rds", "subgrp:{name}"))
kind("aws:rds/parameterGroup:ParameterGroup")(_named("rds", "pg:{name}"))
kind("aws:rds/clusterParameterGroup:ClusterParameterGroup")(_named("rds", "cluster-pg:{name}"))
kind("aws:elasticache/subnetGroup:SubnetGroup")(_named("elasticache", "subnetgroup:{name}"))
kind("aws:elasticache/parameterGroup:ParameterGroup")(
    _named("elasticache", "parametergroup:{name}"))
kind("aws:backup/vault:Vault")(_named("backup", "backup-vault:{name}"))
kind("aws:scheduler/schedule:Schedule")(_named("scheduler", "schedule/default/{name}"))
kind("aws:xray/samplingRule:SamplingRule")(_named("xray", "sampling-rule/{name}",
                                                  prop="ruleName"))
kind("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")(
    lambda ctx: Identity(f"ns-{ctx.hex(16)}",
                         {"arn": ctx.arn("servicediscovery", f"namespace/ns-{ctx.hex(16)}")}))
kind("aws:servicediscovery/service:Service")(
    lambda ctx: Identity(f"srv-{ctx.hex(16)}",
                         {"arn": ctx.arn("servicediscovery", f"service/srv-{ctx.hex(16)}")}))


def _iam(noun: str, id_is: str = "name", unique: str = "") -> Format:
    def fmt(ctx: Ctx) -> Identity:
        name = ctx.name
        path = ctx.inputs.text("path") or "/"
        arn = ctx.arn("iam", f"{noun}{path}{name}", region=False)
        outputs: dict[str, Any] = {"arn": arn, "name": name}
        if unique:
            outputs["uniqueId"] = unique + ctx.upper(17)
        if noun == "policy":
            outputs["policyId"] = "ANPA" + ctx.upper(17)
        return Identity(arn if id_is == "arn" else name, outputs)
    return fmt


KINDS["aws:iam/role:Role"] = _iam("role", unique="AROA")
KINDS["aws:iam/user:User"] = _iam("user", unique="AIDA")
KINDS["aws:iam/group:Group"] = _iam("group", unique="AGPA")
KINDS["aws:iam/policy:Policy"] = _iam("policy", id_is="arn")
KINDS["aws:iam/instanceProfile:InstanceProfile"] = _iam("instance-profile", unique="AIPA")


@kind("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _oidc(ctx: Ctx) -> Identity:
    url = (ctx.inputs.text("url") or f"oidc.{ctx.hex(8)}.example").removeprefix("https://")
    arn = ctx.arn("iam", f"oidc-provider/{url}", region=False)
    return Identity(arn, {"arn": arn})


@kind("aws:iam/rolePolicy:RolePolicy")
def _role_policy(ctx: Ctx) -> Identity:
    name = ctx.name
    return Identity(f"{ctx.inputs.text('role') or 'role'}:{name}", {"name": name})


@kind("aws:sqs/queue:Queue")
def _queue(ctx: Ctx) -> Identity:
    name = ctx.name
    if ctx.inputs.flag("fifoQueue") and not name.endswith(".fifo"):
        name += ".fifo"
    url = f"https://sqs.{ctx.region}.{DNS_SUFFIX}/{ACCOUNT_ID}/{name}"
    return Identity(url, {"arn": ctx.arn("sqs", name), "name": name, "url": url})


@kind("aws:sns/topicSubscription:TopicSubscription")
def _subscription(ctx: Ctx) -> Identity:
    topic = ctx.inputs.text("topic") or ctx.arn("sns", "topic")
    arn = f"{topic}:{ctx.uuid()}"
    return Identity(arn, {"arn": arn})


@kind("aws:kms/key:Key")
def _key(ctx: Ctx) -> Identity:
    key_id = ctx.uuid()
    return Identity(key_id, {"keyId": key_id, "arn": ctx.arn("kms", f"key/{key_id}")})


@kind("aws:kms/alias:Alias")
def _alias(ctx: Ctx) -> Identity:
    name = ctx.inputs.text("name") or f"alias/{ctx.logical}-{ctx.hex(7)}"
    outputs: dict[str, Any] = {"arn": ctx.arn("kms", name), "name": name}
    target = ctx.inputs.text("targetKeyId")
    if target:
        outputs["targetKeyArn"] = target if target.startswith("arn:") else \
            ctx.arn("kms", f"key/{target}")
    return Identity(name, outputs)


@kind("aws:lambda/function:Function")
def _function(ctx: Ctx) -> Identity:
    name = ctx.name
    arn = ctx.arn("lambda", f"function:{name}")
    invoke = (f"arn:{PARTITION}:apigateway:{ctx.region}:lambda:path/2015-03-31/functions/"
              f"{arn}/invocations")
    return Identity(name, {
        "arn": arn, "name": name, "invokeArn": invoke, "qualifiedArn": f"{arn}:1",
        "qualifiedInvokeArn": invoke.replace(arn, f"{arn}:1"), "version": "1"})


@kind("aws:lambda/alias:Alias")
def _function_alias(ctx: Ctx) -> Identity:
    function = ctx.inputs.text("functionName") or "function"
    base = function if function.startswith("arn:") else ctx.arn("lambda", f"function:{function}")
    arn = f"{base}:{ctx.name}"
    return Identity(arn, {"arn": arn})


@kind("aws:ecs/service:Service")
def _service(ctx: Ctx) -> Identity:
    name = ctx.name
    cluster = (ctx.inputs.text("cluster") or "default").rsplit("/", 1)[-1]
    arn = ctx.arn("ecs", f"service/{cluster}/{name}")
    return Identity(arn, {"name": name})


@kind("aws:ecs/taskDefinition:TaskDefinition")
def _task_definition(ctx: Ctx) -> Identity:
    family = ctx.physical("family")
    base = ctx.arn("ecs", f"task-definition/{family}")
    return Identity(family, {"arn": f"{base}:1", "arnWithoutRevision": base, "revision": 1})


@kind("aws:secretsmanager/secret:Secret")
def _secret(ctx: Ctx) -> Identity:
    name = ctx.name
    arn = ctx.arn("secretsmanager", f"secret:{name}-{ctx.hex(6)}")
    return Identity(arn, {"arn": arn, "name": name})


@kind("aws:secretsmanager/secretVersion:SecretVersion")
def _secret_version(ctx: Ctx) -> Identity:
    secret = ctx.inputs.text("secretId") or "secret"
    version = ctx.uuid()
    return Identity(f"{secret}|{version}", {"arn": secret, "versionId": version})


@kind("aws:ssm/parameter:Parameter")
def _parameter(ctx: Ctx) -> Identity:
    name = ctx.name
    path = name if name.startswith("/") else f"/{name}"
    return Identity(name, {"arn": ctx.arn("ssm", f"parameter{path}"), "name": name,
                           "version": 1})


def _lb_kind(ctx: Ctx) -> str:
    return {"network": "net", "gateway": "gwy"}.get(
        ctx.inputs.text("loadBalancerType") or "application", "app")


@kind("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
def _load_balancer(ctx: Ctx) -> Identity:
    name = ctx.physical("name", max_len=32)
    suffix = f"{_lb_kind(ctx)}/{name}/{ctx.hex(16)}"
    arn = ctx.arn("elasticloadbalancing", f"loadbalancer/{suffix}")
    internal = "internal-" if ctx.inputs.flag("internal") else ""
    return Identity(arn, {"arn": arn, "arnSuffix": suffix, "name": name,
                          "dnsName": f"{internal}{name}-{int(ctx.hex(8), 16) % 10**10}"
                                     f".{ctx.region}.elb.{DNS_SUFFIX}"})


@kind("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
def _target_group(ctx: Ctx) -> Identity:
    name = ctx.physical("name", max_len=32)
    suffix = f"targetgroup/{name}/{ctx.hex(16)}"
    arn = ctx.arn("elasticloadbalancing", suffix)
    return Identity(arn, {"arn": arn, "arnSuffix": suffix, "name": name})


def _below(ctx: Ctx, parent_prop: str, marker: str, noun: str) -> Identity:
    parent = ctx.inputs.text(parent_prop) or ""
    rest = parent.split(f":{marker}/", 1)[1] if f":{marker}/" in parent else \
        f"app/lb/{ctx.hex(16)}"
    arn = ctx.arn("elasticloadbalancing", f"{noun}/{rest}/{ctx.hex(16)}")
    return Identity(arn, {"arn": arn})


kind("aws:lb/listener:Listener", "aws:alb/listener:Listener")(
    lambda ctx: _below(ctx, "loadBalancerArn", "loadbalancer", "listener"))
kind("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")(
    lambda ctx: _below(ctx, "listenerArn", "listener", "listener-rule"))


@kind("aws:acm/certificate:Certificate")
def _certificate(ctx: Ctx) -> Identity:
    arn = ctx.arn("acm", f"certificate/{ctx.uuid()}")
    return Identity(arn, {"arn": arn, "status": "ISSUED"})


def _rds(noun: str, prop: str, resource_prefix: str) -> Format:
    def fmt(ctx: Ctx) -> Identity:
        ident = ctx.physical(prop, lower=True)
        host = f"{ident}.{'cluster-' if noun == 'cluster' else ''}{ctx.hex(12)}" \
               f".{ctx.region}.rds.{DNS_SUFFIX}"
        outputs: dict[str, Any] = {"arn": ctx.arn("rds", f"{noun}:{ident}"), prop: ident,
                                   "endpoint": host}
        if noun == "cluster":
            outputs["clusterResourceId"] = f"cluster-{ctx.upper(26)}"
            outputs["readerEndpoint"] = host.replace(".cluster-", ".cluster-ro-", 1)
        else:
            outputs["address"] = host
            outputs["resourceId"] = outputs["dbiResourceId"] = f"db-{ctx.upper(26)}"
        return Identity(ident, outputs)
    return fmt


KINDS["aws:rds/cluster:Cluster"] = _rds("cluster", "clusterIdentifier", "cluster")
KINDS["aws:rds/clusterInstance:ClusterInstance"] = _rds("db", "identifier", "db")
KINDS["aws:rds/instance:Instance"] = _rds("db", "identifier", "db")


@kind("aws:elasticache/replicationGroup:ReplicationGroup")
def _replication_group(ctx: Ctx) -> Identity:
    ident = ctx.physical("replicationGroupId", lower=True)
    host = f"{ident}.{ctx.hex(6)}.{ctx.region}.cache.{DNS_SUFFIX}"
    return Identity(ident, {"arn": ctx.arn("elasticache", f"replicationgroup:{ident}"),
                            "replicationGroupId": ident,
                            "primaryEndpointAddress": f"master.{host}",
                            "readerEndpointAddress": f"replica.{host}",
                            "configurationEndpointAddress": f"clustercfg.{host}"})


@kind("aws:elasticache/user:User")
def _cache_user(ctx: Ctx) -> Identity:
    user = ctx.physical("userId")
    return Identity(user, {"arn": ctx.arn("elasticache", f"user:{user}")})


@kind("aws:elasticache/userGroup:UserGroup")
def _cache_user_group(ctx: Ctx) -> Identity:
    group = ctx.physical("userGroupId")
    return Identity(group, {"arn": ctx.arn("elasticache", f"usergroup:{group}")})


def _api_id(ctx: Ctx) -> str:
    return "".join("abcdefghijklmnopqrstuvwxyz0123456789"[int(c, 16) % 36]
                   for c in ctx.hex(10))


@kind("aws:apigatewayv2/api:Api")
def _http_api(ctx: Ctx) -> Identity:
    api = _api_id(ctx)
    return Identity(api, {
        "arn": f"arn:{PARTITION}:apigateway:{ctx.region}::/apis/{api}",
        "apiEndpoint": f"https://{api}.execute-api.{ctx.region}.{DNS_SUFFIX}",
        "executionArn": ctx.arn("execute-api", api)})


@kind("aws:apigatewayv2/stage:Stage")
def _http_stage(ctx: Ctx) -> Identity:
    name = ctx.inputs.text("name") or "$default"
    api = ctx.inputs.text("apiId") or "api"
    return Identity(name, {
        "arn": f"arn:{PARTITION}:apigateway:{ctx.region}::/apis/{api}/stages/{name}",
        "executionArn": ctx.arn("execute-api", f"{api}/{name}"),
        "invokeUrl": f"https://{api}.execute-api.{ctx.region}.{DNS_SUFFIX}/"
                     f"{'' if name == '$default' else name}"})


@kind("aws:apigateway/restApi:RestApi")
def _rest_api(ctx: Ctx) -> Identity:
    api = _api_id(ctx)
    return Identity(api, {"arn": f"arn:{PARTITION}:apigateway:{ctx.region}::/restapis/{api}",
                          "executionArn": ctx.arn("execute-api", api),
                          "rootResourceId": ctx.hex(10)})


@kind("aws:apigateway/stage:Stage")
def _rest_stage(ctx: Ctx) -> Identity:
    name = ctx.inputs.text("stageName") or "stage"
    api = ctx.inputs.text("restApi") or "api"
    return Identity(f"ags-{api}-{name}", {
        "arn": f"arn:{PARTITION}:apigateway:{ctx.region}::/restapis/{api}/stages/{name}",
        "executionArn": ctx.arn("execute-api", f"{api}/{name}"),
        "invokeUrl": f"https://{api}.execute-api.{ctx.region}.{DNS_SUFFIX}/{name}"})


@kind("aws:wafv2/webAcl:WebAcl", "aws:wafv2/ipSet:IpSet", "aws:wafv2/ruleGroup:RuleGroup")
def _waf(ctx: Ctx) -> Identity:
    noun = {"aws:wafv2/webAcl:WebAcl": "webacl", "aws:wafv2/ipSet:IpSet": "ipset"}.get(
        ctx.type, "rulegroup")
    uid = ctx.uuid()
    scope = "global" if ctx.inputs.text("scope") == "CLOUDFRONT" else "regional"
    region = "us-east-1" if scope == "global" else ctx.region
    arn = f"arn:{PARTITION}:wafv2:{region}:{ACCOUNT_ID}:{scope}/{noun}/{ctx.name}/{uid}"
    return Identity(uid, {"arn": arn, "name": ctx.name})


def _codestar(service: str) -> Format:
    def fmt(ctx: Ctx) -> Identity:
        arn = ctx.arn(service, f"connection/{ctx.uuid()}")
        return Identity(arn, {"arn": arn, "connectionStatus": "AVAILABLE"})
    return fmt


KINDS["aws:codestarconnections/connection:Connection"] = _codestar("codestar-connections")
KINDS["aws:codeconnections/connection:Connection"] = _codestar("codeconnections")


@kind("aws:signer/signingProfile:SigningProfile")
def _signing_profile(ctx: Ctx) -> Identity:
    # Profile names take letters, digits and underscores only.
    name = ctx.inputs.text("name") or ctx.physical("name").replace("-", "_")
    arn = ctx.arn("signer", f"/signing-profiles/{name}")
    version = ctx.hex(10)
    return Identity(name, {"arn": arn, "name": name, "version": version,
                           "versionArn": f"{arn}/{version}"})


@kind("aws:signer/signingJob:SigningJob")
def _signing_job(ctx: Ctx) -> Identity:
    """A finished job: the signed copy of the package under the destination prefix."""
    job = ctx.uuid()
    bucket = ctx.inputs.at("destination.s3.bucket")
    outputs: dict[str, Any] = {"jobId": job, "status": "Succeeded"}
    if bucket is not None:
        key = f"{ctx.inputs.at('destination.s3.prefix') or ''}{job}.zip"
        outputs["signedObjects"] = [{"s3s": [{"bucket": bucket, "key": key}]}]
    return Identity(job, outputs)


@kind("aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject")
def _bucket_object(ctx: Ctx) -> Identity:
    return Identity(ctx.inputs.text("key") or ctx.logical,
                    {"versionId": ctx.hex(32), "etag": ctx.hex(32)})


@kind("aws:cognito/userPool:UserPool")
def _user_pool(ctx: Ctx) -> Identity:
    pool = f"{ctx.region}_{ctx.hex(9)}"
    return Identity(pool, {"arn": ctx.arn("cognito-idp", f"userpool/{pool}"),
                           "endpoint": f"cognito-idp.{ctx.region}.{DNS_SUFFIX}/{pool}"})


@kind("aws:route53/zone:Zone")
def _zone(ctx: Ctx) -> Identity:
    zone = "Z" + ctx.upper(20)
    return Identity(zone, {"zoneId": zone, "arn": f"arn:{PARTITION}:route53:::hostedzone/{zone}"})


@kind("aws:cloudfront/distribution:Distribution")
def _distribution(ctx: Ctx) -> Identity:
    dist = "E" + ctx.upper(13)
    return Identity(dist, {"arn": f"arn:{PARTITION}:cloudfront::{ACCOUNT_ID}:distribution/{dist}",
                           "domainName": f"d{ctx.hex(13)}.cloudfront.net",
                           "hostedZoneId": "Z2FDTNDATAQYW2"})


__all__ = ["KINDS", "Identity", "identity"]
