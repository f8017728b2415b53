"""API edge: API Gateway in front of functions and container services.

``kind: http`` (default) builds an API Gateway v2 HTTP API: cheaper, faster, JWT authorisers
built in, and private integrations to an internal load balancer through a VPC link.
AWS WAF cannot be associated with HTTP APIs (WAF supports REST API stages, not HTTP API
stages); an HTTP API that needs WAF goes behind CloudFront, or is built as ``kind: rest``.
HTTP APIs also have no X-Ray tracing, so only REST stages enable it.

``kind: rest`` builds an API Gateway v1 REST API with a Cognito user pool authoriser,
X-Ray tracing, execution logging and an optional WAF web ACL association. Its VPC links
reach only Network Load Balancers, so container-service routes need ``kind: http``.

Every route is authorised (``jwt`` or ``iam``) unless it says ``authorization: none`` with a
``public_reason``. Each function route gets its own invoke permission, scoped to the API,
the method and the path. Access logs are JSON lines (:data:`ACCESS_LOG_FIELDS`) in a
KMS-encrypted log group with retention; throttling is explicit for the stage and may be
tightened per route.
"""


import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, invoke_opts, type_token
from .environment import LOG_RETENTION_DAYS
from .validation import Problem, check_arn, check_choice, did_you_mean, raise_for

KINDS = ("http", "rest")
AUTHORIZATIONS = ("jwt", "iam", "none")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
ROUTE_KEY_RE = re.compile(
    r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) "
    r"(/|(/([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))*(/\{[A-Za-z_][A-Za-z0-9_]*\+\})?)$")
DOMAIN_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
STAGE_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MIN_REASON = 10
INTEGRATION_TIMEOUT_MS = 29000
"""API Gateway's integration timeout ceiling for REST APIs (HTTP APIs allow 30 s)."""

ACCESS_LOG_FIELDS: dict[str, dict[str, str]] = {
    "common": {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "sourceIp": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "httpMethod": "$context.httpMethod",
        "path": "$context.path",
        "protocol": "$context.protocol",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    },
    "http": {"routeKey": "$context.routeKey", "domainName": "$context.domainName"},
    "rest": {"resourcePath": "$context.resourcePath", "stage": "$context.stage",
             "xrayTraceId": "$context.xrayTraceId", "wafStatus": "$context.wafResponseCode"},
}
"""Access log record: one JSON object per request; each value is an API Gateway
``$context`` variable, quoted so the line parses as JSON whatever it holds."""


def access_log_format(kind: str) -> str:
    """The access log format of a ``kind`` API, a one-line JSON template."""
    return json.dumps({**ACCESS_LOG_FIELDS["common"], **ACCESS_LOG_FIELDS[kind]},
                      separators=(",", ":"))


class ThrottleSpec(TypedDict):
    """Request throttling (token bucket)."""

    rate_limit: int
    """Steady-state requests per second, greater than 0."""
    burst_limit: int
    """Requests allowed in a burst, greater than 0."""


class RouteSpec(TypedDict):
    """One route: where it goes and who may call it."""

    function: NotRequired[str]
    """Key of the function that answers (or service)."""
    service: NotRequired[str]
    """Key of the container service that answers, through the VPC link (kind http)."""
    authorization: str
    """jwt (the API's authoriser), iam (SigV4) or none (public, needs public_reason)."""
    public_reason: NotRequired[str]
    """Why anyone may call the route (at least 10 characters); required with none."""
    scopes: NotRequired[list[str]]
    """OAuth scopes a jwt route requires."""
    throttle: NotRequired[ThrottleSpec]
    """Tighter throttling for this route than the stage default."""


class AuthorizerSpec(TypedDict):
    """Who issues the tokens jwt routes accept."""

    issuer: NotRequired[str]
    """HTTP APIs: token issuer URL (https://...; a Cognito user pool's is
    ``https://cognito-idp.<region>.amazonaws.com/<pool id>``)."""
    audiences: NotRequired[list[str]]
    """HTTP APIs: accepted ``aud`` values (e.g. Cognito app client ids)."""
    user_pool_arn: NotRequired[str]
    """REST APIs: the Cognito user pool ARN."""


class CorsSpec(TypedDict):
    """Browser cross-origin access (kind http)."""

    allow_origins: list[str]
    """Origins allowed, e.g. ``https://app.example.com``; ``*`` only with public_reason."""
    allow_methods: list[str]
    """Methods allowed, e.g. GET, POST."""
    allow_headers: NotRequired[list[str]]
    """Request headers allowed (default: authorization, content-type)."""
    max_age: NotRequired[int]
    """Seconds a browser may cache the preflight answer, 0-86400 (default 300)."""
    public_reason: NotRequired[str]
    """Why every origin may call the API; required with ``*``."""


class CustomDomainSpec(TypedDict):
    """A regional custom domain (TLS 1.2 minimum)."""

    domain_name: str
    """e.g. ``api.example.com``."""
    certificate_arn: str
    """ACM certificate for the domain, in the API's region."""


class ApiSpec(TypedDict):
    """What a stack file says about an API."""

    kind: NotRequired[str]
    """http (default; API Gateway v2 HTTP API) or rest (v1 REST API)."""
    routes: dict[str, RouteSpec]
    """Route key (``GET /orders``, ``ANY /orders/{proxy+}``) -> route."""
    throttle: ThrottleSpec
    """Default throttling for every route of the stage."""
    authorizer: NotRequired[AuthorizerSpec]
    """Token issuer for jwt routes."""
    cors: NotRequired[CorsSpec]
    """Cross-origin access (kind http)."""
    custom_domain: NotRequired[CustomDomainSpec]
    """Serve the API on a domain of our own."""
    waf: NotRequired[bool]
    """Associate the web ACL given as web_acl_arn (kind rest only)."""
    stage_name: NotRequired[str]
    """REST stage name (default live); HTTP APIs use the $default stage."""


class ApiArgs(ApiSpec):
    """ApiSpec plus wiring from the rest of the platform."""

    kms_key_arn: pulumi.Input[str]
    """Customer managed key for the access log group."""
    api_name: NotRequired[str]
    """Physical API name (default: the component name)."""
    function_invoke_arns: NotRequired[dict[str, pulumi.Input[str]]]
    """Function key -> invoke ARN (FunctionService.invoke_arn)."""
    function_names: NotRequired[dict[str, pulumi.Input[str]]]
    """Function key -> function name, for invoke permissions and key checks."""
    function_timeouts: NotRequired[dict[str, int]]
    """Function key -> timeout in seconds, checked against API Gateway's 29 s limit."""
    service_listener_arns: NotRequired[dict[str, pulumi.Input[str]]]
    """Service key -> ARN of the internal load balancer listener (HTTPS) serving it."""
    service_tls_server_name: NotRequired[pulumi.Input[str]]
    """Host name on the internal listener's certificate, verified by API Gateway."""
    vpc_link_subnet_ids: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Private subnets for the VPC link (service routes)."""
    vpc_link_security_group_ids: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Security groups of the VPC link's interfaces (the listener admits them)."""
    log_retention_days: NotRequired[int]
    """CloudWatch Logs retention of the access log (default 365)."""
    web_acl_arn: NotRequired[pulumi.Input[str]]
    """WAFv2 web ACL (regional) for a REST API with waf: true."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every taggable child."""


# --- validation ----------------------------------------------------------------------------

def route_parts(route_key: str) -> tuple[str, str]:
    method, path = route_key.split(" ", 1)
    return method, path


def route_slug(route_key: str) -> str:
    """``GET /orders/{proxy+}`` -> ``get-orders-proxy``: a stable child-name part."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", route_key.lower())).strip("-")


def _check_throttle(path: tuple[str, ...], throttle: ThrottleSpec) -> list[Problem]:
    problems = []
    for field in ("rate_limit", "burst_limit"):
        value = throttle[field]  # type: ignore[literal-required]
        if value <= 0:
            problems.append(Problem((*path, field), f"{field} must be greater than 0 "
                                                    f"(got {value})"))
    return problems


def _reasoned(reason: str | None) -> bool:
    return reason is not None and len(reason.strip()) >= MIN_REASON


def check_api(spec: ApiSpec) -> list[Problem]:
    """Rules on the plain settings; exact messages, paths in Python field names."""
    problems: list[Problem] = []
    kind = spec.get("kind", "http")
    problems += check_choice(("kind",), kind, KINDS)
    if not spec["routes"]:
        problems.append(Problem(("routes",), "list at least one route"))
    slugs: dict[str, str] = {}
    needs_jwt = False
    for key, route in spec["routes"].items():
        path = ("routes", key)
        if not ROUTE_KEY_RE.match(key):
            problems.append(Problem(path, f"'{key}' is not a route key: use '<METHOD> /<path>' "
                                          f"with METHOD one of {', '.join(METHODS)} and path "
                                          "segments like /orders, /{id} or a final "
                                          "/{proxy+}"))
            continue
        slug = route_slug(key)
        if slug in slugs:
            problems.append(Problem(path, f"names the same resources as '{slugs[slug]}'; "
                                          "rename one of the path segments"))
        slugs[slug] = key
        if ("function" in route) == ("service" in route):
            problems.append(Problem(path, "set exactly one of function or service"))
        if "service" in route and kind == "rest":
            problems.append(Problem((*path, "service"),
                                    "container-service routes need kind http (REST API VPC "
                                    "links reach only Network Load Balancers)"))
        auth = route["authorization"]
        problems += check_choice((*path, "authorization"), auth, AUTHORIZATIONS)
        method = route_parts(key)[0]
        if auth == "none" and method != "OPTIONS" and not _reasoned(route.get("public_reason")):
            problems.append(Problem((*path, "public_reason"),
                                    f"a public route needs publicReason (at least {MIN_REASON} "
                                    "characters) saying why anyone may call it; otherwise use "
                                    "authorization jwt or iam"))
        if auth == "jwt":
            needs_jwt = True
        if route.get("scopes") and auth != "jwt":
            problems.append(Problem((*path, "scopes"), "scopes apply to jwt routes only"))
        if "throttle" in route:
            problems += _check_throttle((*path, "throttle"), route["throttle"])
    problems += _check_throttle(("throttle",), spec["throttle"])
    problems += _check_authorizer(spec, kind, needs_jwt)
    problems += _check_cors(spec, kind)
    if "custom_domain" in spec:
        domain = spec["custom_domain"]
        if not DOMAIN_RE.match(domain["domain_name"]):
            problems.append(Problem(("custom_domain", "domain_name"),
                                    f"'{domain['domain_name']}' is not a domain name"))
        problems += check_arn(("custom_domain", "certificate_arn"), domain["certificate_arn"],
                              "acm", "an ACM certificate")
    if spec.get("waf") and kind == "http":
        problems.append(Problem(("waf",), "WAF web ACLs cannot be associated with HTTP APIs: "
                                          "use kind rest, or put CloudFront with WAF in front"))
    if "stage_name" in spec:
        if kind == "http":
            problems.append(Problem(("stage_name",), "HTTP APIs use the $default stage; "
                                                     "stage_name is for kind rest"))
        elif not STAGE_RE.match(spec["stage_name"]):
            problems.append(Problem(("stage_name",), f"'{spec['stage_name']}' is not a stage "
                                                     "name: use 1-64 letters, digits and _"))
    return problems


def _check_authorizer(spec: ApiSpec, kind: str, needs_jwt: bool) -> list[Problem]:
    problems: list[Problem] = []
    authorizer = spec.get("authorizer")
    if authorizer is None:
        if needs_jwt:
            problems.append(Problem(("authorizer",), "jwt routes need an authorizer"))
        return problems
    if kind == "rest":
        if "user_pool_arn" not in authorizer:
            problems.append(Problem(("authorizer", "user_pool_arn"),
                                    "REST APIs authorise jwt routes with a Cognito user pool: "
                                    "set user_pool_arn"))
        else:
            problems += check_arn(("authorizer", "user_pool_arn"), authorizer["user_pool_arn"],
                                  "cognito-idp", "a Cognito user pool")
        return problems
    issuer = authorizer.get("issuer", "")
    if not issuer.startswith("https://"):
        problems.append(Problem(("authorizer", "issuer"),
                                f"'{issuer}' is not an issuer URL: use https://..."))
    if not authorizer.get("audiences"):
        problems.append(Problem(("authorizer", "audiences"),
                                "list at least one audience (e.g. the app client id)"))
    return problems


def _check_cors(spec: ApiSpec, kind: str) -> list[Problem]:
    cors = spec.get("cors")
    if cors is None:
        return []
    if kind == "rest":
        return [Problem(("cors",), "cors is configured for kind http only; REST APIs answer "
                                   "CORS from their integrations")]
    problems: list[Problem] = []
    for i, origin in enumerate(cors["allow_origins"]):
        if origin == "*":
            if not _reasoned(cors.get("public_reason")):
                problems.append(Problem(("cors", "allow_origins", i),
                                        "'*' lets every website call the API from a browser: "
                                        "list the allowed origins, or give cors.publicReason "
                                        f"(at least {MIN_REASON} characters)"))
        elif not re.match(r"^https?://[a-z0-9.-]+(:\d+)?$", origin):
            problems.append(Problem(("cors", "allow_origins", i),
                                    f"'{origin}' is not an origin (https://host[:port])"))
    for i, method in enumerate(cors["allow_methods"]):
        if method != "*" and method not in METHODS:
            problems += check_choice(("cors", "allow_methods", i), method, METHODS)
    max_age = cors.get("max_age", 300)
    if not 0 <= max_age <= 86400:
        problems.append(Problem(("cors", "max_age"),
                                f"max_age must be between 0 and 86400 (got {max_age})"))
    return problems


def _check_wiring(args: ApiArgs) -> list[Problem]:
    problems: list[Problem] = []
    names = args.get("function_names")
    invoke_arns = args.get("function_invoke_arns", {})
    listeners = args.get("service_listener_arns")
    for key, route in args["routes"].items():
        path = ("routes", key)
        if "function" in route:
            function = route["function"]
            if names is None:
                problems.append(Problem((*path, "function"), "function routes need "
                                        "function_names and function_invoke_arns"))
            elif function not in names:
                problems.append(Problem((*path, "function"),
                                        f"'{function}' is not a function of this platform: use "
                                        f"one of {', '.join(sorted(names)) or '(none)'}"
                                        f"{did_you_mean(function, names)}"))
            elif function not in invoke_arns:
                problems.append(Problem((*path, "function"),
                                        f"no invoke ARN given for function '{function}'"))
            timeout = args.get("function_timeouts", {}).get(function)
            if timeout is not None and timeout > INTEGRATION_TIMEOUT_MS // 1000:
                problems.append(Problem((*path, "function"),
                                        f"function '{function}' may run {timeout} seconds but "
                                        f"API Gateway waits at most "
                                        f"{INTEGRATION_TIMEOUT_MS // 1000} seconds: lower its "
                                        "timeoutSeconds"))
        if "service" in route:
            service = route["service"]
            if listeners is None:
                problems.append(Problem((*path, "service"),
                                        "service routes need service_listener_arns"))
            elif service not in listeners:
                problems.append(Problem((*path, "service"),
                                        f"'{service}' is not a service of this platform: use "
                                        f"one of {', '.join(sorted(listeners)) or '(none)'}"
                                        f"{did_you_mean(service, listeners)}"))
    if any("service" in r for r in args["routes"].values()):
        for field in ("vpc_link_subnet_ids", "vpc_link_security_group_ids",
                      "service_tls_server_name"):
            if field not in args:
                problems.append(Problem((field,), "required for service routes"))
    if args.get("waf") and "web_acl_arn" not in args:
        problems.append(Problem(("web_acl_arn",), "required with waf: true"))
    days = args.get("log_retention_days", 365)
    if days not in LOG_RETENTION_DAYS:
        problems.append(Problem(("log_retention_days",),
                                f"{days} is not a CloudWatch Logs retention; use one of "
                                f"{', '.join(map(str, LOG_RETENTION_DAYS))}"))
    return problems


def permission_source_arn(execution_arn: pulumi.Input[str], route_key: str
                          ) -> pulumi.Output[str]:
    """``<execution ARN>/*/<METHOD>/<path>`` for one route: any stage, the route's method
    (``*`` for ANY) and its path with each parameter segment as ``*``."""
    method, path = route_parts(route_key)
    segments = ["*" if s.startswith("{") else s for s in path.strip("/").split("/") if s]
    return pulumi.Output.concat(execution_arn, "/*/", "*" if method == "ANY" else method,
                                "/", "/".join(segments))


class Api(pulumi.ComponentResource):
    """An API Gateway HTTP (default) or REST API with authorised routes, throttling, JSON
    access logs and per-route invoke permissions."""

    api_id: pulumi.Output[str]
    """Id of the API."""
    api_endpoint: pulumi.Output[str]
    """Base URL clients call (the custom domain when there is one)."""
    execution_arn: pulumi.Output[str]
    """``arn:aws:execute-api:<region>:<account>:<api id>``, the prefix of route ARNs."""
    stage_name: pulumi.Output[str]
    """``$default`` (HTTP) or the REST stage name."""
    log_group_name: pulumi.Output[str]
    """Access log group."""

    def __init__(self, name: str, args: ApiArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("Api"), name, None, opts)
        raise_for("Api", name, check_api(args) + _check_wiring(args))

        self._name = name
        self._args = args
        self._kind = args.get("kind", "http")
        self._api_name = args.get("api_name", name)
        self._tags = args.get("tags")
        invoke = invoke_opts(self)
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._region = aws.get_region_output(opts=invoke).region

        log_group = aws.cloudwatch.LogGroup(f"{name}-access-logs", aws.cloudwatch.LogGroupArgs(
            name=f"/aws/apigateway/{self._api_name}/access",
            retention_in_days=args.get("log_retention_days", 365),
            kms_key_id=args["kms_key_arn"], tags=self._tags), opts=child_opts(self))
        self._log_group_arn = pulumi.Output.format(
            "arn:aws:logs:{0}:{1}:log-group:/aws/apigateway/{2}/access", self._region,
            self._account, self._api_name)

        if self._kind == "http":
            api_id, endpoint, stage = self._http()
        else:
            api_id, endpoint, stage = self._rest()

        self.api_id = api_id
        self.execution_arn = self._execution_arn(api_id)
        self.api_endpoint = endpoint
        self.stage_name = stage
        self.log_group_name = log_group.name
        self.register_outputs({"api_id": self.api_id, "api_endpoint": self.api_endpoint,
                               "execution_arn": self.execution_arn,
                               "stage_name": self.stage_name,
                               "log_group_name": self.log_group_name})

    def _execution_arn(self, api_id: pulumi.Input[str]) -> pulumi.Output[str]:
        return pulumi.Output.format("arn:aws:execute-api:{0}:{1}:{2}", self._region,
                                    self._account, api_id)

    def _permissions(self, api_id: pulumi.Input[str], routes: Mapping[str, RouteSpec]
                     ) -> None:
        execution_arn = self._execution_arn(api_id)
        names = self._args.get("function_names", {})
        for key, route in routes.items():
            if "function" not in route:
                continue
            aws.lambda_.Permission(f"{self._name}-invoke-{route_slug(key)}",
                                   aws.lambda_.PermissionArgs(
                action="lambda:InvokeFunction", function=names[route["function"]],
                principal="apigateway.amazonaws.com",
                source_arn=permission_source_arn(execution_arn, key),
                source_account=self._account), opts=child_opts(self))

    # --- HTTP API ---------------------------------------------------------------------------

    def _http(self) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
        name, args, routes = self._name, self._args, self._args["routes"]
        cors = None
        if "cors" in args:
            c = args["cors"]
            cors = aws.apigatewayv2.ApiCorsConfigurationArgs(
                allow_origins=c["allow_origins"], allow_methods=c["allow_methods"],
                allow_headers=c.get("allow_headers", ["authorization", "content-type"]),
                max_age=c.get("max_age", 300))
        api = aws.apigatewayv2.Api(f"{name}-api", aws.apigatewayv2.ApiArgs(
            name=self._api_name, protocol_type="HTTP", cors_configuration=cors,
            disable_execute_api_endpoint="custom_domain" in args, tags=self._tags),
            opts=child_opts(self))

        authorizer = None
        if any(r["authorization"] == "jwt" for r in routes.values()):
            auth = args["authorizer"]
            authorizer = aws.apigatewayv2.Authorizer(f"{name}-authorizer",
                                                     aws.apigatewayv2.AuthorizerArgs(
                api_id=api.id, name=f"{self._api_name}-jwt", authorizer_type="JWT",
                identity_sources=["$request.header.Authorization"],
                jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                    issuer=auth["issuer"], audiences=auth["audiences"])),
                opts=child_opts(self))

        integrations: dict[tuple[str, str], aws.apigatewayv2.Integration] = {}
        invoke_arns = args.get("function_invoke_arns", {})
        for function in sorted({r["function"] for r in routes.values() if "function" in r}):
            integrations["function", function] = aws.apigatewayv2.Integration(
                f"{name}-fn-{function}", aws.apigatewayv2.IntegrationArgs(
                    api_id=api.id, integration_type="AWS_PROXY",
                    integration_uri=invoke_arns[function], integration_method="POST",
                    payload_format_version="2.0", timeout_milliseconds=INTEGRATION_TIMEOUT_MS),
                opts=child_opts(self))
        services = sorted({r["service"] for r in routes.values() if "service" in r})
        if services:
            link = aws.apigatewayv2.VpcLink(f"{name}-vpc-link", aws.apigatewayv2.VpcLinkArgs(
                name=self._api_name, subnet_ids=args["vpc_link_subnet_ids"],
                security_group_ids=args["vpc_link_security_group_ids"], tags=self._tags),
                opts=child_opts(self))
            listeners = args["service_listener_arns"]
            for service in services:
                integrations["service", service] = aws.apigatewayv2.Integration(
                    f"{name}-svc-{service}", aws.apigatewayv2.IntegrationArgs(
                        api_id=api.id, integration_type="HTTP_PROXY",
                        integration_uri=listeners[service], integration_method="ANY",
                        connection_type="VPC_LINK", connection_id=link.id,
                        payload_format_version="1.0",
                        timeout_milliseconds=INTEGRATION_TIMEOUT_MS,
                        tls_config=aws.apigatewayv2.IntegrationTlsConfigArgs(
                            server_name_to_verify=args["service_tls_server_name"])),
                    opts=child_opts(self))

        route_resources = []
        for key, route in routes.items():
            target = integrations[("function", route["function"]) if "function" in route
                                  else ("service", route["service"])]
            auth_type = {"jwt": "JWT", "iam": "AWS_IAM", "none": "NONE"}[route["authorization"]]
            route_resources.append(aws.apigatewayv2.Route(
                f"{name}-route-{route_slug(key)}", aws.apigatewayv2.RouteArgs(
                    api_id=api.id, route_key=key, authorization_type=auth_type,
                    authorizer_id=authorizer.id if auth_type == "JWT" and authorizer else None,
                    authorization_scopes=route.get("scopes") or None,
                    target=pulumi.Output.concat("integrations/", target.id)),
                opts=child_opts(self)))

        throttle = args["throttle"]
        # HTTP APIs support neither X-Ray tracing nor execution logging; access logs and
        # detailed metrics are what they offer.
        stage = aws.apigatewayv2.Stage(f"{name}-stage", aws.apigatewayv2.StageArgs(
            api_id=api.id, name="$default", auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self._log_group_arn, format=access_log_format("http")),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=throttle["rate_limit"],
                throttling_burst_limit=throttle["burst_limit"],
                detailed_metrics_enabled=True),
            route_settings=[aws.apigatewayv2.StageRouteSettingArgs(
                route_key=key, throttling_rate_limit=route["throttle"]["rate_limit"],
                throttling_burst_limit=route["throttle"]["burst_limit"],
                detailed_metrics_enabled=True)
                for key, route in routes.items() if "throttle" in route] or None,
            tags=self._tags), opts=child_opts(self, depends_on=route_resources))

        self._permissions(api.id, routes)
        endpoint = api.api_endpoint
        if "custom_domain" in args:
            domain = args["custom_domain"]
            dn = aws.apigatewayv2.DomainName(f"{name}-domain", aws.apigatewayv2.DomainNameArgs(
                domain_name=domain["domain_name"],
                domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                    certificate_arn=domain["certificate_arn"], endpoint_type="REGIONAL",
                    security_policy="TLS_1_2"), tags=self._tags), opts=child_opts(self))
            aws.apigatewayv2.ApiMapping(f"{name}-mapping", aws.apigatewayv2.ApiMappingArgs(
                api_id=api.id, domain_name=dn.id, stage=stage.id), opts=child_opts(self))
            endpoint = pulumi.Output.from_input(f"https://{domain['domain_name']}")
        return api.id, endpoint, pulumi.Output.from_input("$default")

    # --- REST API ---------------------------------------------------------------------------

    def _rest(self) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
        name, args, routes = self._name, self._args, self._args["routes"]
        api = aws.apigateway.RestApi(f"{name}-api", aws.apigateway.RestApiArgs(
            name=self._api_name,
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(
                types="REGIONAL"),
            disable_execute_api_endpoint="custom_domain" in args, tags=self._tags),
            opts=child_opts(self))

        # One resource per path prefix, keyed by the prefix itself.
        resources: dict[str, aws.apigateway.Resource] = {}
        for path in sorted({route_parts(k)[1] for k in routes}):
            segments = [s for s in path.split("/") if s]
            for depth in range(1, len(segments) + 1):
                prefix = "/" + "/".join(segments[:depth])
                if prefix in resources:
                    continue
                parent = ("/" + "/".join(segments[:depth - 1])) if depth > 1 else "/"
                parent_id = (api.root_resource_id if parent == "/"
                             else resources[parent].id)
                resources[prefix] = aws.apigateway.Resource(
                    f"{name}-path-{route_slug(prefix) or 'root'}", aws.apigateway.ResourceArgs(
                        rest_api=api.id, parent_id=parent_id, path_part=segments[depth - 1]),
                    opts=child_opts(self))

        authorizer = None
        if any(r["authorization"] == "jwt" for r in routes.values()):
            authorizer = aws.apigateway.Authorizer(f"{name}-authorizer",
                                                   aws.apigateway.AuthorizerArgs(
                rest_api=api.id, name=f"{self._api_name}-cognito", type="COGNITO_USER_POOLS",
                provider_arns=[args["authorizer"]["user_pool_arn"]],
                identity_source="method.request.header.Authorization"),
                opts=child_opts(self))

        invoke_arns = args.get("function_invoke_arns", {})
        parts: list[pulumi.Resource] = []
        for key, route in routes.items():
            method, path = route_parts(key)
            resource_id = api.root_resource_id if path == "/" else resources[path].id
            auth_type = {"jwt": "COGNITO_USER_POOLS", "iam": "AWS_IAM",
                         "none": "NONE"}[route["authorization"]]
            slug = route_slug(key)
            method_resource = aws.apigateway.Method(f"{name}-method-{slug}",
                                                    aws.apigateway.MethodArgs(
                rest_api=api.id, resource_id=resource_id, http_method=method,
                authorization=auth_type,
                authorizer_id=authorizer.id if auth_type == "COGNITO_USER_POOLS"
                and authorizer else None,
                authorization_scopes=route.get("scopes") or None), opts=child_opts(self))
            integration = aws.apigateway.Integration(f"{name}-integration-{slug}",
                                                     aws.apigateway.IntegrationArgs(
                rest_api=api.id, resource_id=resource_id, http_method=method_resource.http_method,
                type="AWS_PROXY", integration_http_method="POST",
                uri=invoke_arns[route["function"]],
                timeout_milliseconds=INTEGRATION_TIMEOUT_MS), opts=child_opts(self))
            parts += [method_resource, integration]

        # A new deployment whenever the API's shape changes; Pulumi creates the replacement
        # before deleting the old one, so the stage always points at a deployment.
        shape = json.dumps({"routes": routes, "authorizer": args.get("authorizer")},
                           sort_keys=True, default=str)
        deployment = aws.apigateway.Deployment(f"{name}-deployment",
                                               aws.apigateway.DeploymentArgs(
            rest_api=api.id, triggers={"shape": hashlib.sha256(shape.encode()).hexdigest()}),
            opts=child_opts(self, depends_on=parts, delete_before_replace=False))
        stage_name = args.get("stage_name", "live")
        stage = aws.apigateway.Stage(f"{name}-stage", aws.apigateway.StageArgs(
            rest_api=api.id, deployment=deployment.id, stage_name=stage_name,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self._log_group_arn, format=access_log_format("rest")),
            tags=self._tags), opts=child_opts(self))

        throttle = args["throttle"]
        # Execution logging at INFO needs the account-level API Gateway CloudWatch role.
        self._method_settings("all", "*/*", stage, api, throttle)
        for key, route in routes.items():
            if "throttle" in route:
                method, path = route_parts(key)
                method_path = f"{path.lstrip('/')}/{'*' if method == 'ANY' else method}"
                self._method_settings(route_slug(key), method_path, stage, api,
                                      route["throttle"])

        if args.get("waf"):
            aws.wafv2.WebAclAssociation(f"{name}-waf", aws.wafv2.WebAclAssociationArgs(
                resource_arn=stage.arn, web_acl_arn=args["web_acl_arn"]),
                opts=child_opts(self))

        self._permissions(api.id, routes)
        endpoint = stage.invoke_url
        if "custom_domain" in args:
            domain = args["custom_domain"]
            dn = aws.apigateway.DomainName(f"{name}-domain", aws.apigateway.DomainNameArgs(
                domain_name=domain["domain_name"],
                regional_certificate_arn=domain["certificate_arn"],
                endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(
                    types="REGIONAL"),
                security_policy="TLS_1_2", tags=self._tags), opts=child_opts(self))
            aws.apigateway.BasePathMapping(f"{name}-mapping", aws.apigateway.BasePathMappingArgs(
                rest_api=api.id, stage_name=stage.stage_name, domain_name=dn.domain_name),
                opts=child_opts(self))
            endpoint = pulumi.Output.from_input(f"https://{domain['domain_name']}")
        return api.id, endpoint, stage.stage_name

    def _method_settings(self, key: str, method_path: str, stage: aws.apigateway.Stage,
                         api: aws.apigateway.RestApi, throttle: ThrottleSpec) -> None:
        aws.apigateway.MethodSettings(f"{self._name}-settings-{key}",
                                      aws.apigateway.MethodSettingsArgs(
            rest_api=api.id, stage_name=stage.stage_name, method_path=method_path,
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                logging_level="INFO", metrics_enabled=True, data_trace_enabled=False,
                caching_enabled=False, throttling_rate_limit=throttle["rate_limit"],
                throttling_burst_limit=throttle["burst_limit"])), opts=child_opts(self))


__all__ = ["ACCESS_LOG_FIELDS", "Api", "ApiArgs", "ApiSpec", "AuthorizerSpec", "CorsSpec",
           "CustomDomainSpec", "RouteSpec", "ThrottleSpec", "access_log_format", "check_api",
           "permission_source_arn", "route_slug"]

