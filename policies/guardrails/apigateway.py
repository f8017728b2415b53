"""API Gateway (REST and HTTP APIs): TLS on custom domains, access logs, throttling,
authorization, tracing and WAF."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml

from .core import Resource, Settings, Stack, is_unknown, resource_policy, stack_policy, unknown

REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
METHOD = "aws:apigateway/method:Method"
ROUTE = "aws:apigatewayv2/route:Route"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
REST_DOMAIN = "aws:apigateway/domainName:DomainName"
HTTP_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
WAF_ASSOC = "aws:wafv2/webAclAssociation:WebAclAssociation"
REST_API = "aws:apigateway/restApi:RestApi"
HTTP_API = "aws:apigatewayv2/api:Api"
VERBS = ("get", "put", "post", "delete", "patch", "head", "options",
         "x-amazon-apigateway-any-method")


def tls12_or_better(policy: object) -> bool:
    return isinstance(policy, str) and (policy == "TLS_1_2" or policy.startswith(
        ("SecurityPolicy_TLS13", "SecurityPolicy_TLS12")))


@resource_policy(
    "apigateway-domain-tls12",
    types=(REST_DOMAIN, HTTP_DOMAIN),
    description="API custom domains refuse TLS below 1.2.",
    severity="high", guardrail="tls",
    refs=("checkov CKV_AWS_206", "Pulumi CP apigateway-domainname-configure-security-policy"),
    remediation="Set securityPolicy (REST) or domainNameConfiguration.securityPolicy (HTTP API) "
                "to TLS_1_2.",
)
def domain_tls(r: Resource, s: Settings) -> Iterator[str]:
    path = "securityPolicy" if r.type == REST_DOMAIN else "domainNameConfiguration.securityPolicy"
    policy = r.get(path)
    if is_unknown(policy):
        yield unknown(path, "the domain refuses TLS below 1.2")
    elif not tls12_or_better(policy):
        yield f"{path} is {policy or 'not set'}; use TLS_1_2"


@resource_policy(
    "apigateway-access-logging",
    types=(REST_STAGE, HTTP_STAGE),
    description="API stages write structured (JSON) access logs.",
    severity="medium", fsbp=("APIGateway.9",),
    refs=("cdk-nag AS-APIG1", "cdk-nag APIGWStructuredLogging", "checkov CKV_AWS_76"),
    remediation="Set accessLogSettings {destinationArn: <log group ARN>, format: a JSON object "
                "of $context fields}.",
)
def access_logging(r: Resource, s: Settings) -> Iterator[str]:
    settings = r.get("accessLogSettings")
    if is_unknown(settings):
        yield unknown("accessLogSettings", "access logs are written")
        return
    if not isinstance(settings, dict) or settings.get("destinationArn") is None:
        yield "accessLogSettings.destinationArn is not set"
        return
    fmt = settings.get("format")
    if is_unknown(fmt):
        yield unknown("accessLogSettings.format", "access logs are JSON")
        return
    try:
        parsed = json.loads(fmt or "")
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        yield "accessLogSettings.format is not a JSON object"


def _openapi(body: Any) -> Any:
    """An OpenAPI/Swagger body (JSON or YAML text) as a dict; raises ValueError."""
    if isinstance(body, dict):
        return body
    try:
        doc = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise ValueError(f"is not JSON or YAML ({exc.__class__.__name__})") from None
    if not isinstance(doc, dict):
        raise ValueError("is not an OpenAPI document")
    return doc


def _operation_auth(doc: dict[str, Any], op: dict[str, Any]) -> bool:
    """Whether an OpenAPI operation requires authorization: a non-empty security
    requirement (its own or the document's) or an API Gateway IAM/authorizer extension."""
    security = op.get("security", doc.get("security"))
    if isinstance(security, list) and any(isinstance(req, dict) and req for req in security):
        return True
    return op.get("x-amazon-apigateway-auth", {}).get("type", "NONE").upper() != "NONE" \
        if isinstance(op.get("x-amazon-apigateway-auth"), dict) else False


def _body_operations(r: Resource) -> Iterator[str]:
    body = r.get("body")
    if body is None:
        return
    if is_unknown(body):
        yield unknown("body", "every operation requires authorization")
        return
    try:
        doc = _openapi(body)
    except ValueError as exc:
        yield f"body {exc}; cannot prove every operation requires authorization"
        return
    for path, item in sorted((doc.get("paths") or {}).items()):
        if not isinstance(item, dict):
            continue
        for verb, op in item.items():
            if verb.lower() not in VERBS or verb.lower() == "options" or not isinstance(op, dict):
                continue
            if not _operation_auth(doc, op):
                shown = "ANY" if verb == "x-amazon-apigateway-any-method" else verb.upper()
                yield f"body: {shown} {path} requires no authorization; it is open to anyone"


@resource_policy(
    "apigateway-authorization",
    types=(METHOD, ROUTE, REST_API, HTTP_API),
    description="Every REST method and HTTP API route requires authorization, whether "
                "declared as a resource or in an OpenAPI body, except CORS preflight "
                "(OPTIONS).",
    severity="high", fsbp=("APIGateway.8",),
    refs=("cdk-nag AS-APIG4", "checkov CKV_AWS_59", "checkov CKV_AWS_309"),
    remediation="Set authorization/authorizationType to AWS_IAM, JWT, CUSTOM or "
                "COGNITO_USER_POOLS with an authorizer; in an OpenAPI body, give every "
                "operation (or the document) a security requirement backed by "
                "securitySchemes with x-amazon-apigateway-authorizer.",
)
def authorization(r: Resource, s: Settings) -> Iterator[str]:
    if r.type in (REST_API, HTTP_API):
        yield from _body_operations(r)
        return
    if r.type == METHOD:
        verb, key, auth = r.get("httpMethod"), "authorization", r.get("authorization")
    else:
        route = r.get("routeKey")
        verb = route.split(" ", 1)[0] if isinstance(route, str) else route
        key, auth = "authorizationType", r.get("authorizationType", "NONE")
    if is_unknown(verb) or verb == "OPTIONS":
        return
    if is_unknown(auth):
        yield unknown(key, "the route requires authorization")
    elif auth in (None, "NONE"):
        yield f"{key} is NONE; the route is open to anyone"


THROTTLING = ("throttlingBurstLimit", "throttlingRateLimit")


def _throttled_routes(stage: Resource) -> set[str]:
    settings = stage.get("routeSettings")
    if not isinstance(settings, list):
        return set()
    return {item["routeKey"] for item in settings if isinstance(item, dict)
            and isinstance(item.get("routeKey"), str)
            and all(item.get(key) is not None for key in THROTTLING)}


@stack_policy(
    "apigateway-http-throttling",
    types=(HTTP_STAGE, ROUTE, HTTP_API),
    description="HTTP API stages throttle every route: default limits, or route settings "
                "for each of the API's routes.",
    severity="medium", refs=("cdk-nag APIGWDefaultThrottling",),
    remediation="Set defaultRouteSettings {throttlingBurstLimit, throttlingRateLimit} (and "
                "tighter routeSettings where a route needs them).",
)
def http_throttling(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for stage in stack.of_type(HTTP_STAGE):
        missing = [key for key in THROTTLING
                   if stage.get(f"defaultRouteSettings.{key}") is None]
        if not missing:
            continue
        apis = stage.deps("apiId", (HTTP_API,))
        routes = [r for api in apis for r in stack.referencing(api, (ROUTE,), "apiId")]
        keys = [r.get("routeKey") for r in routes]
        if routes and all(isinstance(k, str) for k in keys) \
                and set(keys) <= _throttled_routes(stage):
            continue
        for key in missing:
            yield stage, f"defaultRouteSettings.{key} is not set"


@resource_policy(
    "apigateway-rest-xray",
    types=(REST_STAGE,),
    description="REST API stages send traces to X-Ray.",
    severity="low", fsbp=("APIGateway.3",), refs=("cdk-nag APIGWXrayEnabled", "checkov CKV_AWS_73"),
    remediation="Set xrayTracingEnabled: true.",
)
def rest_xray(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("xrayTracingEnabled")
    if is_unknown(value):
        yield unknown("xrayTracingEnabled", "tracing is on")
    elif value is not True:
        yield "xrayTracingEnabled is not true"


@stack_policy(
    "apigateway-rest-throttling",
    types=(REST_STAGE, METHOD_SETTINGS),
    description="REST API stages set throttling limits for all methods (method settings '*/*').",
    severity="medium", refs=("cdk-nag APIGWDefaultThrottling",),
    remediation="Add aws.apigateway.MethodSettings for the stage with methodPath '*/*' and "
                "settings {throttlingBurstLimit, throttlingRateLimit, metricsEnabled, "
                "loggingLevel}.",
)
def rest_throttling(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for stage in stack.of_type(REST_STAGE):
        found = [m for m in stack.referencing(stage, (METHOD_SETTINGS,))
                 if m.get("methodPath") == "*/*"]
        if not found:
            yield stage, "stage has no '*/*' method settings with throttling limits"
        for m in found:
            for key in ("throttlingBurstLimit", "throttlingRateLimit"):
                if m.get(f"settings.{key}") is None:
                    yield m, f"settings.{key} is not set"


@stack_policy(
    "apigateway-rest-waf",
    types=(REST_STAGE, WAF_ASSOC),
    description="REST API stages are protected by a WAF web ACL.",
    severity="medium", fsbp=("APIGateway.4",), refs=("cdk-nag AS-APIG3", "checkov CKV2_AWS_29"),
    remediation="Associate the platform's regional web ACL with the stage "
                "(aws.wafv2.WebAclAssociation resourceArn=stage.arn).",
)
def rest_waf(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for stage in stack.of_type(REST_STAGE):
        if not stack.referencing(stage, (WAF_ASSOC,), "resourceArn"):
            yield stage, "stage has no WAF web ACL association"


HTTP_AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"


@resource_policy(
    "apigateway-jwt-authorizer-scoped",
    types=(HTTP_AUTHORIZER,),
    description="JWT authorizers trust an https issuer and accept only tokens minted for "
                "named audiences (the API's own client ids).",
    severity="high", refs=("AWS API Gateway HTTP API JWT authorizers", "cdk-nag AS-COG4"),
    remediation="Set jwtConfiguration {issuer: https://<identity provider>, audiences: [the "
                "app client ids allowed to call the API]}.",
)
def jwt_authorizer(r: Resource, s: Settings) -> Iterator[str]:
    kind = r.get("authorizerType")
    if is_unknown(kind):
        yield unknown("authorizerType", "tokens are checked against an issuer and audience")
        return
    if kind != "JWT":
        return
    issuer, audiences = r.get("jwtConfiguration.issuer"), r.get("jwtConfiguration.audiences")
    if is_unknown(issuer):
        yield unknown("jwtConfiguration.issuer", "tokens come from an https issuer")
    elif not str(issuer or "").startswith("https://"):
        yield (f"jwtConfiguration.issuer is {issuer or 'not set'}; the issuer (and its keys) "
               "must be fetched over https")
    if is_unknown(audiences):
        yield unknown("jwtConfiguration.audiences", "tokens are minted for this API")
    elif not audiences:
        yield ("jwtConfiguration.audiences is empty: any token the issuer signs, for any "
               "client, is accepted")


HTTP_VPC_LINK = "aws:apigatewayv2/vpcLink:VpcLink"


@resource_policy(
    "apigateway-vpc-link-security-groups",
    types=(HTTP_VPC_LINK,),
    description="HTTP API VPC links carry their own security groups, so the private "
                "targets can admit the API by group.",
    severity="medium", refs=("AWS API Gateway HTTP API VPC links",),
    remediation="Set securityGroupIds to a group the internal load balancer admits (the "
                "platform's internal load balancer group).",
)
def vpc_link_groups(r: Resource, s: Settings) -> Iterator[str]:
    groups = r.get("securityGroupIds")
    if is_unknown(groups):
        yield unknown("securityGroupIds", "the VPC link has its own security groups")
    elif not groups:
        yield ("securityGroupIds is empty: the link's network interfaces take the VPC's "
               "default security group")
