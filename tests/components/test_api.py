"""Api under recording mocks: routes, authorisation, throttling, logs, permissions, checks."""

import json
from typing import Any

import pytest
from pulumi.output import Unknown

from components.api import (
    ACCESS_LOG_FIELDS,
    Api,
    ApiArgs,
    access_log_format,
    check_api,
    permission_source_arn,
    route_slug,
)
from components.validation import ArgsError
from preflight.capture import ACCOUNT_ID, Capture, capture

KEY = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/api-key"
CERT = f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/abc"
POOL = f"arn:aws:cognito-idp:us-east-1:{ACCOUNT_ID}:userpool/us-east-1_abc"
INVOKE = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
          f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:orders/invocations")
LISTENER = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT_ID}:listener/app/int/1/2"
EXEC = f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:edge-api-id"


def http_args(**extra: Any) -> ApiArgs:
    args: dict[str, Any] = {
        "routes": {
            "GET /orders": {"function": "orders", "authorization": "jwt",
                            "scopes": ["orders/read"],
                            "throttle": {"rate_limit": 5, "burst_limit": 10}},
            "ANY /orders/{proxy+}": {"function": "orders", "authorization": "iam"},
            "GET /catalog": {"service": "web", "authorization": "none",
                             "public_reason": "public product catalogue"},
            "OPTIONS /orders": {"function": "orders", "authorization": "none"},
        },
        "throttle": {"rate_limit": 100, "burst_limit": 200},
        "authorizer": {"issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
                       "audiences": ["client-1"]},
        "kms_key_arn": KEY, "log_retention_days": 90,
        "function_names": {"orders": "orders"}, "function_invoke_arns": {"orders": INVOKE},
        "service_listener_arns": {"web": LISTENER},
        "service_tls_server_name": "web.internal.example.com",
        "vpc_link_subnet_ids": ["subnet-a", "subnet-b"],
        "vpc_link_security_group_ids": ["sg-link"],
    }
    args.update(extra)
    return args  # type: ignore[return-value]


def rest_args(**extra: Any) -> ApiArgs:
    args: dict[str, Any] = {
        "kind": "rest",
        "routes": {
            "GET /orders": {"function": "orders", "authorization": "jwt",
                            "throttle": {"rate_limit": 5, "burst_limit": 10}},
            "ANY /orders/{proxy+}": {"function": "orders", "authorization": "iam"},
        },
        "throttle": {"rate_limit": 100, "burst_limit": 200},
        "authorizer": {"user_pool_arn": POOL},
        "kms_key_arn": KEY, "log_retention_days": 90,
        "function_names": {"orders": "orders"}, "function_invoke_arns": {"orders": INVOKE},
    }
    args.update(extra)
    return args  # type: ignore[return-value]


def run(args: ApiArgs, preview: bool = False) -> Capture:
    return capture(lambda: Api("edge", args), preview=preview)


def count(cap: Capture) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in cap.registrations:
        out[r.type] = out.get(r.type, 0) + 1
    return out


def by_key(cap: Capture, type_: str, field: str) -> dict[str, dict[str, Any]]:
    return {r.inputs[field]: r.inputs for r in cap.of_type(type_)}


# --- HTTP API ------------------------------------------------------------------------------

def test_http_children() -> None:
    assert count(run(http_args())) == {
        "microservices:index:Api": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:apigatewayv2/api:Api": 1,
        "aws:apigatewayv2/authorizer:Authorizer": 1,
        "aws:apigatewayv2/vpcLink:VpcLink": 1,
        "aws:apigatewayv2/integration:Integration": 2,
        "aws:apigatewayv2/route:Route": 4,
        "aws:apigatewayv2/stage:Stage": 1,
        "aws:lambda/permission:Permission": 3,
    }


def test_http_routes_are_authorised_unless_public() -> None:
    cap = run(http_args())
    routes = by_key(cap, "aws:apigatewayv2/route:Route", "routeKey")
    auth = {k: (r["authorizationType"], r.get("authorizerId"), r.get("authorizationScopes"))
            for k, r in routes.items()}
    assert auth == {
        "GET /orders": ("JWT", "edge-authorizer-id", ["orders/read"]),
        "ANY /orders/{proxy+}": ("AWS_IAM", None, None),
        "GET /catalog": ("NONE", None, None),
        "OPTIONS /orders": ("NONE", None, None),
    }
    assert routes["GET /catalog"]["target"] == "integrations/edge-svc-web-id"
    assert routes["GET /orders"]["target"] == "integrations/edge-fn-orders-id"
    authorizer = cap.named("edge-authorizer").inputs
    assert authorizer["authorizerType"] == "JWT"
    assert authorizer["identitySources"] == ["$request.header.Authorization"]
    assert authorizer["jwtConfiguration"] == {
        "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
        "audiences": ["client-1"]}


def test_http_integrations() -> None:
    cap = run(http_args())
    fn = cap.named("edge-fn-orders").inputs
    assert fn == {"apiId": "edge-api-id", "integrationType": "AWS_PROXY",
                  "integrationUri": INVOKE, "integrationMethod": "POST",
                  "payloadFormatVersion": "2.0", "timeoutMilliseconds": 29000}
    svc = cap.named("edge-svc-web").inputs
    assert svc == {"apiId": "edge-api-id", "integrationType": "HTTP_PROXY",
                   "integrationUri": LISTENER, "integrationMethod": "ANY",
                   "connectionType": "VPC_LINK", "connectionId": "edge-vpc-link-id",
                   "payloadFormatVersion": "1.0", "timeoutMilliseconds": 29000,
                   "tlsConfig": {"serverNameToVerify": "web.internal.example.com"}}
    link = cap.named("edge-vpc-link").inputs
    assert link == {"name": "edge", "subnetIds": ["subnet-a", "subnet-b"],
                    "securityGroupIds": ["sg-link"]}


def test_http_stage_throttling_and_json_access_log() -> None:
    cap = run(http_args())
    stage = cap.named("edge-stage").inputs
    assert stage["name"] == "$default"
    assert stage["autoDeploy"] is True
    assert stage["defaultRouteSettings"] == {"throttlingRateLimit": 100,
                                             "throttlingBurstLimit": 200,
                                             "detailedMetricsEnabled": True}
    assert stage["routeSettings"] == [{"routeKey": "GET /orders", "throttlingRateLimit": 5,
                                       "throttlingBurstLimit": 10,
                                       "detailedMetricsEnabled": True}]
    log = stage["accessLogSettings"]
    assert log["destinationArn"] == (f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:"
                                     "/aws/apigateway/edge/access")
    record = json.loads(log["format"])
    assert record == {**ACCESS_LOG_FIELDS["common"], **ACCESS_LOG_FIELDS["http"]}
    assert all(v.startswith("$context.") for v in record.values())
    assert record["routeKey"] == "$context.routeKey"
    group = cap.named("edge-access-logs").inputs
    assert group == {"name": "/aws/apigateway/edge/access", "retentionInDays": 90,
                     "kmsKeyId": KEY}
    # The stage waits for the routes its settings name.
    route_urns = {r.urn for r in cap.of_type("aws:apigatewayv2/route:Route")}
    assert route_urns <= set(cap.named("edge-stage").dependencies)


def test_http_permissions_per_route() -> None:
    cap = run(http_args())
    permissions = {r.name: r.inputs for r in cap.of_type("aws:lambda/permission:Permission")}
    common = {"action": "lambda:InvokeFunction", "function": "orders",
              "principal": "apigateway.amazonaws.com", "sourceAccount": ACCOUNT_ID}
    assert permissions == {
        "edge-invoke-get-orders": {**common, "sourceArn": f"{EXEC}/*/GET/orders"},
        "edge-invoke-any-orders-proxy": {**common, "sourceArn": f"{EXEC}/*/*/orders/*"},
        "edge-invoke-options-orders": {**common, "sourceArn": f"{EXEC}/*/OPTIONS/orders"},
    }


def test_http_permissions_source_arn_is_unknown_only_through_the_api_id() -> None:
    cap = run(http_args(), preview=True)
    permission = cap.named("edge-invoke-get-orders").inputs
    assert isinstance(permission["sourceArn"], Unknown)
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["sourceAccount"] == ACCOUNT_ID
    assert permission["function"] == "orders"


def test_http_cors_and_custom_domain() -> None:
    cap = run(http_args(
        cors={"allow_origins": ["https://app.example.com"], "allow_methods": ["GET", "POST"],
              "max_age": 600},
        custom_domain={"domain_name": "api.example.com", "certificate_arn": CERT}))
    api = cap.named("edge-api").inputs
    assert api["protocolType"] == "HTTP"
    assert api["disableExecuteApiEndpoint"] is True
    assert api["corsConfiguration"] == {
        "allowOrigins": ["https://app.example.com"], "allowMethods": ["GET", "POST"],
        "allowHeaders": ["authorization", "content-type"], "maxAge": 600}
    domain = cap.named("edge-domain").inputs
    assert domain["domainNameConfiguration"] == {
        "certificateArn": CERT, "endpointType": "REGIONAL", "securityPolicy": "TLS_1_2"}
    mapping = cap.named("edge-mapping").inputs
    assert mapping == {"apiId": "edge-api-id", "domainName": "edge-domain-id",
                       "stage": "edge-stage-id"}


# --- REST API ------------------------------------------------------------------------------

def test_rest_children() -> None:
    assert count(run(rest_args(waf=True, web_acl_arn="arn:aws:wafv2:us-east-1:"
                                                    f"{ACCOUNT_ID}:regional/webacl/edge/1"))) == {
        "microservices:index:Api": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:apigateway/restApi:RestApi": 1,
        "aws:apigateway/resource:Resource": 2,
        "aws:apigateway/authorizer:Authorizer": 1,
        "aws:apigateway/method:Method": 2,
        "aws:apigateway/integration:Integration": 2,
        "aws:apigateway/deployment:Deployment": 1,
        "aws:apigateway/stage:Stage": 1,
        "aws:apigateway/methodSettings:MethodSettings": 2,
        "aws:wafv2/webAclAssociation:WebAclAssociation": 1,
        "aws:lambda/permission:Permission": 2,
    }


def test_rest_methods_authorised_and_integrated() -> None:
    cap = run(rest_args())
    methods = {r.name: r.inputs for r in cap.of_type("aws:apigateway/method:Method")}
    assert {k: (m["httpMethod"], m["authorization"], m.get("authorizerId"))
            for k, m in methods.items()} == {
        "edge-method-get-orders": ("GET", "COGNITO_USER_POOLS", "edge-authorizer-id"),
        "edge-method-any-orders-proxy": ("ANY", "AWS_IAM", None)}
    authorizer = cap.named("edge-authorizer").inputs
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerArns"] == [POOL]
    for integration in cap.of_type("aws:apigateway/integration:Integration"):
        assert integration.inputs["type"] == "AWS_PROXY"
        assert integration.inputs["integrationHttpMethod"] == "POST"
        assert integration.inputs["uri"] == INVOKE
        assert integration.inputs["timeoutMilliseconds"] == 29000
    proxy = cap.named("edge-path-orders-proxy").inputs
    assert proxy == {"restApi": "edge-api-id", "parentId": "edge-path-orders-id",
                     "pathPart": "{proxy+}"}


def test_rest_stage_tracing_logs_and_method_settings() -> None:
    cap = run(rest_args(stage_name="v1"))
    stage = cap.named("edge-stage").inputs
    assert stage["stageName"] == "v1"
    assert stage["xrayTracingEnabled"] is True
    assert stage["deployment"] == "edge-deployment-id"
    assert json.loads(stage["accessLogSettings"]["format"]) == {
        **ACCESS_LOG_FIELDS["common"], **ACCESS_LOG_FIELDS["rest"]}
    settings = by_key(cap, "aws:apigateway/methodSettings:MethodSettings", "methodPath")
    base = {"loggingLevel": "INFO", "metricsEnabled": True, "dataTraceEnabled": False,
            "cachingEnabled": False}
    assert {k: v["settings"] for k, v in settings.items()} == {
        "*/*": {**base, "throttlingRateLimit": 100, "throttlingBurstLimit": 200},
        "orders/GET": {**base, "throttlingRateLimit": 5, "throttlingBurstLimit": 10}}
    assert {v["stageName"] for v in settings.values()} == {"v1"}


def test_rest_deployment_redeploys_on_shape_change_and_waits_for_methods() -> None:
    first = run(rest_args()).named("edge-deployment")
    changed = rest_args()
    changed["routes"]["GET /orders"]["authorization"] = "iam"
    second = run(changed).named("edge-deployment")
    assert first.inputs["triggers"]["shape"] != second.inputs["triggers"]["shape"]
    assert first.delete_before_replace is False
    cap = run(rest_args())
    parts = {r.urn for r in cap.registrations
             if r.type in ("aws:apigateway/method:Method",
                           "aws:apigateway/integration:Integration")}
    assert parts <= set(cap.named("edge-deployment").dependencies)


def test_rest_waf_and_custom_domain() -> None:
    acl = f"arn:aws:wafv2:us-east-1:{ACCOUNT_ID}:regional/webacl/edge/1"
    cap = run(rest_args(waf=True, web_acl_arn=acl,
                        custom_domain={"domain_name": "api.example.com",
                                       "certificate_arn": CERT}))
    assert cap.named("edge-waf").inputs == {
        "resourceArn": f"arn:aws:apigateway:us-east-1:{ACCOUNT_ID}:edge-stage",
        "webAclArn": acl}
    domain = cap.named("edge-domain").inputs
    assert domain["securityPolicy"] == "TLS_1_2"
    assert domain["regionalCertificateArn"] == CERT
    assert domain["endpointConfiguration"] == {"types": "REGIONAL"}
    assert cap.named("edge-mapping").inputs == {"restApi": "edge-api-id", "stageName": "live",
                                                "domainName": "api.example.com"}


def test_rest_permissions() -> None:
    cap = run(rest_args())
    assert {r.inputs["sourceArn"] for r in cap.of_type("aws:lambda/permission:Permission")} \
        == {f"{EXEC}/*/GET/orders", f"{EXEC}/*/*/orders/*"}


# --- helpers -------------------------------------------------------------------------------

def test_access_log_formats_parse_as_json() -> None:
    for kind in ("http", "rest"):
        assert set(json.loads(access_log_format(kind))) >= {"requestId", "status", "sourceIp"}


def test_route_slug_and_source_arn() -> None:
    assert route_slug("ANY /orders/{proxy+}") == "any-orders-proxy"
    out: list[str] = []
    capture(lambda: permission_source_arn("x", "GET /").apply(out.append), preview=False)
    assert out == ["x/*/GET/"]


# --- validation ----------------------------------------------------------------------------

def error(args: ApiArgs) -> str:
    with pytest.raises(ArgsError) as info:
        run(args, preview=True)
    return str(info.value)


def messages(args: ApiArgs) -> list[tuple[tuple[Any, ...], str]]:
    return [(p.path, p.message) for p in check_api(args)]


def test_public_route_without_reason() -> None:
    args = http_args()
    args["routes"]["GET /catalog"]["public_reason"] = "public"
    assert error(args) == (
        "Api 'edge': routes.GET /catalog.publicReason: a public route needs publicReason (at "
        "least 10 characters) saying why anyone may call it; otherwise use authorization jwt "
        "or iam")


def test_malformed_route_key() -> None:
    args = http_args()
    args["routes"] = {"GET orders": {"function": "orders", "authorization": "iam"}}
    assert error(args) == (
        "Api 'edge': routes.GET orders: 'GET orders' is not a route key: use '<METHOD> "
        "/<path>' with METHOD one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY and "
        "path segments like /orders, /{id} or a final /{proxy+}")
    for bad in ("FETCH /orders", "GET /orders/{proxy+}/items", "GET /orders/"):
        assert messages(http_args(routes={bad: {"function": "orders",
                                                "authorization": "iam"}}))[0][1].startswith(
            f"'{bad}' is not a route key")


def test_route_to_unknown_function_and_service() -> None:
    args = http_args()
    args["routes"]["GET /orders"]["function"] = "order"
    args["routes"]["GET /catalog"]["service"] = "wbe"
    assert error(args) == (
        "Api 'edge': routes.GET /orders.function: 'order' is not a function of this "
        "platform: use one of orders (did you mean 'orders'?)\n"
        "Api 'edge': routes.GET /catalog.service: 'wbe' is not a service of this platform: "
        "use one of web (did you mean 'web'?)")


def test_function_behind_a_route_must_answer_within_29_seconds() -> None:
    assert error(http_args(function_timeouts={"orders": 30})) == (
        "Api 'edge': routes.GET /orders.function: function 'orders' may run 30 seconds but "
        "API Gateway waits at most 29 seconds: lower its timeoutSeconds\n"
        "Api 'edge': routes.ANY /orders/{proxy+}.function: function 'orders' may run 30 "
        "seconds but API Gateway waits at most 29 seconds: lower its timeoutSeconds\n"
        "Api 'edge': routes.OPTIONS /orders.function: function 'orders' may run 30 seconds "
        "but API Gateway waits at most 29 seconds: lower its timeoutSeconds")
    assert count(run(http_args(function_timeouts={"orders": 29})))["aws:apigatewayv2/route:Route"] \
        == 4


def test_throttle_values_must_be_positive() -> None:
    args = http_args(throttle={"rate_limit": 0, "burst_limit": -1})
    args["routes"]["GET /orders"]["throttle"] = {"rate_limit": 5, "burst_limit": 0}
    assert messages(args) == [
        (("routes", "GET /orders", "throttle", "burst_limit"),
         "burst_limit must be greater than 0 (got 0)"),
        (("throttle", "rate_limit"), "rate_limit must be greater than 0 (got 0)"),
        (("throttle", "burst_limit"), "burst_limit must be greater than 0 (got -1)")]


def test_wildcard_cors_origin_needs_public_reason() -> None:
    cors = {"allow_origins": ["*"], "allow_methods": ["GET"]}
    assert error(http_args(cors=cors)) == (
        "Api 'edge': cors.allowOrigins[0]: '*' lets every website call the API from a "
        "browser: list the allowed origins, or give cors.publicReason (at least 10 "
        "characters)")
    assert check_api(http_args(cors={**cors, "public_reason": "public read-only catalogue"})) \
        == []


def test_waf_is_rejected_for_http_apis() -> None:
    assert messages(http_args(waf=True)) == [
        (("waf",), "WAF web ACLs cannot be associated with HTTP APIs: use kind rest, or put "
                   "CloudFront with WAF in front")]
    assert error(rest_args(waf=True)) == "Api 'edge': webAclArn: required with waf: true"


def test_jwt_needs_authorizer_and_rest_needs_user_pool() -> None:
    args = http_args()
    del args["authorizer"]  # type: ignore[misc]
    assert messages(args) == [(("authorizer",), "jwt routes need an authorizer")]
    assert messages(rest_args(authorizer={"issuer": "https://issuer.example.com"})) == [
        (("authorizer", "user_pool_arn"), "REST APIs authorise jwt routes with a Cognito "
                                          "user pool: set user_pool_arn")]


def test_route_needs_exactly_one_target_and_rest_has_no_service_routes() -> None:
    args = rest_args()
    args["routes"]["GET /orders"]["service"] = "web"
    assert messages(args) == [
        (("routes", "GET /orders"), "set exactly one of function or service"),
        (("routes", "GET /orders", "service"), "container-service routes need kind http "
                                               "(REST API VPC links reach only Network Load "
                                               "Balancers)")]


def test_service_routes_need_vpc_link_wiring() -> None:
    args = http_args()
    for field in ("vpc_link_subnet_ids", "vpc_link_security_group_ids",
                  "service_tls_server_name"):
        del args[field]  # type: ignore[misc]
    assert error(args) == (
        "Api 'edge': vpcLinkSubnetIds: required for service routes\n"
        "Api 'edge': vpcLinkSecurityGroupIds: required for service routes\n"
        "Api 'edge': serviceTlsServerName: required for service routes")


def test_validation_happens_before_any_child() -> None:
    registered: list[str] = []
    with pytest.raises(ArgsError):
        capture(lambda: Api("edge", http_args(throttle={"rate_limit": 0, "burst_limit": 1})),
                on_register=lambda r: registered.append(r.type))
    assert registered == ["microservices:index:Api"]
