"""Benchmark pack: a dozen realistic guardrails over the generated estate."""

import json

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

M = EnforcementLevel.MANDATORY


def on(type_):
    def wrap(fn):
        def validate(args, report):
            if args.resource_type == type_:
                fn(args.props, report)
        return validate
    return wrap


@on("aws:ecr/repository:Repository")
def ecr_scan(props, report):
    scan = props.get("imageScanningConfiguration") or {}
    if not scan.get("scanOnPush"):
        report("scan on push is off")
    if props.get("imageTagMutability") != "IMMUTABLE":
        report("tags are mutable")


@on("aws:cloudwatch/logGroup:LogGroup")
def log_retention(props, report):
    if not props.get("retentionInDays"):
        report("no retention")


@on("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
def open_ingress(props, report):
    if props.get("cidrIpv4") == "0.0.0.0/0" and props.get("fromPort") not in (80, 443):
        report(f"0.0.0.0/0 on port {props.get('fromPort')}")


@on("aws:lb/listener:Listener")
def listener_tls(props, report):
    if props.get("protocol") == "HTTP":
        actions = props.get("defaultActions") or []
        if not all(a.get("type") == "redirect" for a in actions):
            report("plain HTTP listener that does not redirect")


@on("aws:lb/loadBalancer:LoadBalancer")
def alb_headers(props, report):
    if not props.get("dropInvalidHeaderFields"):
        report("invalid header fields are forwarded")


@on("aws:ecs/service:Service")
def circuit_breaker(props, report):
    cb = props.get("deploymentCircuitBreaker") or {}
    if not (cb.get("enable") and cb.get("rollback")):
        report("no circuit breaker with rollback")
    if (props.get("desiredCount") or 0) < 2:
        report("fewer than 2 tasks")


@on("aws:iam/rolePolicy:RolePolicy")
def iam_wildcards(props, report):
    doc = json.loads(props["policy"])
    for st in doc["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if any(a == "*" or a.endswith(":*") for a in actions):
            report(f"wildcard action in {actions}")


@on("aws:ecs/taskDefinition:TaskDefinition")
def readonly_root(props, report):
    for c in json.loads(props["containerDefinitions"]):
        if not c.get("readonlyRootFilesystem"):
            report(f"container {c['name']} has a writable root filesystem")


@on("aws:lambda/function:Function")
def lambda_tracing(props, report):
    if (props.get("tracingConfig") or {}).get("mode") != "Active":
        report("X-Ray tracing is off")


@on("aws:apigateway/method:Method")
def api_auth(props, report):
    if props.get("authorization") == "NONE":
        report("method without authorization")


def multi_az(args, report):
    azs = {r.props.get("availabilityZone") for r in args.resources
           if r.resource_type == "aws:ec2/subnet:Subnet"}
    if len(azs) < 2:
        report("subnets span fewer than 2 AZs")
    nats = [r for r in args.resources if r.resource_type == "aws:ec2/natGateway:NatGateway"]
    if len(nats) < len(azs):
        report("fewer NAT gateways than AZs")


def rp(name, fn, level=M):
    return ResourceValidationPolicy(name=name, description=name.replace("-", " "), validate=fn,
                                    enforcement_level=level)


PolicyPack(name="bench-pack", enforcement_level=EnforcementLevel.ADVISORY, policies=[
    rp("ecr-scan-immutable", ecr_scan), rp("log-retention", log_retention),
    rp("no-open-ingress", open_ingress), rp("listener-tls", listener_tls),
    rp("alb-drop-invalid-headers", alb_headers), rp("ecs-circuit-breaker", circuit_breaker),
    rp("iam-no-wildcard-actions", iam_wildcards), rp("task-readonly-root", readonly_root),
    rp("lambda-tracing", lambda_tracing, EnforcementLevel.ADVISORY),
    rp("api-auth", api_auth, EnforcementLevel.ADVISORY),
    StackValidationPolicy(name="multi-az", description="multi az", validate=multi_az,
                          enforcement_level=M),
])
