"""The pack through the real analyzer protocol (gRPC, protobuf requests as the CLI sends them):
config-driven levels, exceptions, unknown values, stack policies over property dependencies
and the four guardrails as mandatory violations under the prod config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from analyzer_client import Engine, InProcessPack, as_json, stack_config
from policy_helpers import BASELINES, patched
from pulumi.runtime import proto

from policies.guardrails import REGISTRY

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
NAMES_FILE = Path(__file__).with_name("policy_names.txt")
REPO = "aws:ecr/repository:Repository"
SUBNET = "aws:ec2/subnet:Subnet"
SERVICE = "aws:ecs/service:Service"


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    pack = InProcessPack()
    yield pack.engine
    pack.stop()


def only(found: list[Any], policy: str) -> list[Any]:
    return [f for f in found if f[0] == policy]


def test_pack_serves_exactly_the_pinned_policy_list(engine: Engine) -> None:
    names = sorted(p.name for p in engine.info().policies)
    assert names == NAMES_FILE.read_text().split()
    assert len(names) >= 60


def test_analyzer_info_carries_the_registry_metadata(engine: Engine) -> None:
    info = engine.info()
    assert info.name == "microservices-platform"
    assert info.supportsConfig
    by_name = {p.name: p for p in info.policies}
    for name, record in REGISTRY.items():
        p = by_name[name]
        assert p.description == record.description
        assert p.remediation_steps == record.remediation
        assert p.url == ("https://github.com/microservices-platform/microservices-platform/"
                         f"blob/main/docs/policies.md#{name}")
        assert proto.PolicySeverity.Name(p.severity) == f"POLICY_SEVERITY_{record.severity.upper()}"
        assert "exceptions" in as_json(p.configSchema)["properties"]
    ecr = by_name["ecr-scan-on-push"]
    assert (ecr.framework.name, ecr.framework.reference) == (
        "aws-foundational-security-best-practices", "ECR.1")
    schema = as_json(by_name["multi-az-footprint"].configSchema)["properties"]
    assert schema["minAzCount"] == {"type": "integer", "default": 2, "minimum": 1,
                                    "description": "Fewest availability zones each footprint "
                                                   "must span (3 in prod)."}


def _two_az_service() -> list[tuple[str, str, dict[str, Any], dict[str, list[str]]]]:
    return [
        (SUBNET, "private-a", {"availabilityZone": "eu-west-1a"}, {}),
        (SUBNET, "private-b", {"availabilityZone": "eu-west-1b"}, {}),
        (SERVICE, "orders", {"networkConfiguration": {"subnets": [UNKNOWN_STRING] * 2,
                                                      "assignPublicIp": False}},
         {"networkConfiguration": ["private-a", "private-b"]}),
    ]


def test_multi_az_guardrail_is_mandatory_in_prod(engine: Engine) -> None:
    engine.configure(stack_config("prod"))
    assert only(engine.analyze_stack(_two_az_service()), "multi-az-footprint") == [
        ("multi-az-footprint", "mandatory", "orders",
         "networkConfiguration spans 2 availability zone(s) (eu-west-1a, eu-west-1b); at least "
         "3 are required")]
    engine.configure(stack_config("staging"))
    assert only(engine.analyze_stack(_two_az_service()), "multi-az-footprint") == []


def test_tls_guardrail_is_mandatory_in_prod(engine: Engine) -> None:
    engine.configure(stack_config("prod"))
    listener = patched("aws:lb/listener:Listener", {"protocol": "HTTP", "port": 80})
    assert only(engine.analyze("aws:lb/listener:Listener", "http", listener),
                "lb-listener-no-plaintext") == [
        ("lb-listener-no-plaintext", "mandatory",
         "HTTP listener serves plaintext; its default actions must only redirect to HTTPS")]
    redirect = dict(listener, defaultActions=[{"type": "redirect", "redirect": {
        "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}])
    assert engine.analyze("aws:lb/listener:Listener", "http", redirect) == []


def test_image_scanning_guardrail_is_mandatory_in_prod(engine: Engine) -> None:
    engine.configure(stack_config("prod"))
    repo = patched(REPO, {"imageScanningConfiguration": {"scanOnPush": False}})
    assert only(engine.analyze_stack([(REPO, "orders", repo, {})]), "ecr-scan-on-push") == [
        ("ecr-scan-on-push", "mandatory", "orders", "imageScanningConfiguration.scanOnPush is "
         "not true and no registry scanning rule covers the repository")]
    # Enhanced registry scanning covers the repository whatever its own setting says.
    registry = ("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",
                "registry", {"scanType": "ENHANCED", "rules": [{
                    "scanFrequency": "SCAN_ON_PUSH",
                    "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]}, {})
    assert only(engine.analyze_stack([(REPO, "orders", repo, {}), registry]),
                "ecr-scan-on-push") == []


def test_static_credentials_guardrail_is_mandatory_in_prod(engine: Engine) -> None:
    engine.configure(stack_config("prod"))
    assert engine.analyze("aws:iam/accessKey:AccessKey", "ci", {"user": "ci"}) == [
        ("no-iam-users", "mandatory", "IAM access key is a long-lived static credential")]
    fn = patched("aws:lambda/function:Function",
                 {"environment": {"variables": {"DB_PASSWORD": "hunter2"}}})
    assert engine.analyze("aws:lambda/function:Function", "orders", fn) == [
        ("lambda-no-plaintext-secrets", "mandatory",
         "environment variable DB_PASSWORD: the name says it holds a secret")]


def test_dev_config_makes_most_findings_advisory(engine: Engine) -> None:
    engine.configure(stack_config("dev"))
    fn = patched("aws:lambda/function:Function", {"tracingConfig": {"mode": "PassThrough"}})
    assert engine.analyze("aws:lambda/function:Function", "orders", fn) == [
        ("lambda-tracing-active", "advisory", "tracingConfig.mode is not Active")]
    repo = patched(REPO, {"imageTagMutability": "MUTABLE"})
    assert engine.analyze(REPO, "orders", repo) == [
        ("ecr-immutable-tags", "mandatory", "imageTagMutability is MUTABLE; use IMMUTABLE")]


def test_disabled_policies_do_not_run(engine: Engine) -> None:
    engine.configure(stack_config("dev"))
    assert engine.analyze(REPO, "orders", BASELINES[REPO], protect=False) == []
    engine.configure(stack_config("prod"))
    assert engine.analyze(REPO, "orders", BASELINES[REPO], protect=False) == [
        ("stateful-resources-protected", "mandatory", "resource is not protected (protect option)")]
    assert engine.analyze(REPO, "orders", BASELINES[REPO], protect=True) == []


def _with_exception(exception: dict[str, Any]) -> dict[str, Any]:
    config = stack_config("prod")
    config["ecr-immutable-tags"] = {"exceptions": [exception]}
    return config


UNSCANNED = patched(REPO, {"imageTagMutability": "MUTABLE"})
MUTABLE = "imageTagMutability is MUTABLE; use IMMUTABLE"


def test_valid_exception_reports_exempted_finding_as_advisory(engine: Engine) -> None:
    engine.configure(_with_exception({"resource": "legacy-*",
                                      "reason": "vendor mirror, scanned upstream",
                                      "expires": "2999-12-31"}))
    assert engine.analyze(REPO, "legacy-mirror", UNSCANNED, protect=True) == [
        ("ecr-immutable-tags", "advisory", f"[exempted] vendor mirror, scanned upstream — {MUTABLE}")]
    assert engine.analyze(REPO, "orders", UNSCANNED, protect=True) == [
        ("ecr-immutable-tags", "mandatory", MUTABLE)]


def test_exception_by_exact_urn(engine: Engine) -> None:
    engine.configure(_with_exception({
        "resource": f"urn:pulumi:prod::platform::{REPO}::orders",
        "reason": "replaced by the new registry in Q3", "expires": "2999-12-31"}))
    assert engine.analyze(REPO, "orders", UNSCANNED, protect=True) == [
        ("ecr-immutable-tags", "advisory", f"[exempted] replaced by the new registry in Q3 — {MUTABLE}")]


def test_expired_exception_stops_applying(engine: Engine) -> None:
    engine.configure(_with_exception({"resource": "legacy-*",
                                      "reason": "vendor mirror, scanned upstream",
                                      "expires": "2000-01-01"}))
    assert engine.analyze(REPO, "legacy-mirror", UNSCANNED, protect=True) == [
        ("ecr-immutable-tags", "mandatory", f"{MUTABLE} (exception expired 2000-01-01)")]


def test_exceptions_apply_to_stack_policies(engine: Engine) -> None:
    config = stack_config("prod")
    config["multi-az-footprint"] = {"minAzCount": 3, "exceptions": [
        {"resource": "orders", "reason": "pilot service, single-tenant until GA",
         "expires": "2999-12-31"}]}
    engine.configure(config)
    assert only(engine.analyze_stack(_two_az_service()), "multi-az-footprint") == [
        ("multi-az-footprint", "advisory", "orders",
         "[exempted] pilot service, single-tenant until GA — networkConfiguration spans 2 "
         "availability zone(s) (eu-west-1a, eu-west-1b); at least 3 are required")]


@pytest.mark.parametrize(("setting", "problem"), [
    ({"exceptions": [{"resource": "legacy-*", "expires": "2999-12-31"}]},
     "ecr-scan-on-push: exceptions[0]: reason is required"),
    ({"exceptions": [{"resource": "legacy-*", "reason": "vendor mirror, scanned upstream"}]},
     "ecr-scan-on-push: exceptions[0]: expires is required (YYYY-MM-DD): every exception "
     "lapses and is reviewed"),
    ({"exceptions": [{"resource": "*", "reason": "vendor mirror, scanned upstream",
                      "expires": "2999-12-31"}]},
     "ecr-scan-on-push: exceptions[0]: resource '*' would exempt every resource: name the "
     "resource, use a name pattern with at least three letters or digits in a row, or give "
     "its exact URN"),
    ({"exceptions": [{"resource": "urn:pulumi:prod::*", "reason": "vendor mirror, scanned "
                      "upstream", "expires": "2999-12-31"}]},
     "ecr-scan-on-push: exceptions[0]: resource 'urn:pulumi:prod::*' would exempt every "
     "resource: name the resource, use a name pattern with at least three letters or digits "
     "in a row, or give its exact URN"),
    ({"exceptions": [{"resource": "legacy-*", "reason": "trust me", "expires": "2999-12-31"}]},
     "ecr-scan-on-push: exceptions[0]: reason must be at least 10 characters (got 8)"),
    ({"exceptions": [{"resource": "legacy-*", "reason": "vendor mirror, scanned upstream",
                      "expires": "31/12/2026"}]},
     "ecr-scan-on-push: exceptions[0]: expires must be a date YYYY-MM-DD (got '31/12/2026')"),
])
def test_invalid_exception_fails_configure(engine: Engine, setting: dict[str, Any],
                                           problem: str) -> None:
    config = stack_config("prod")
    config["ecr-immutable-tags"] = setting
    problem = problem.replace("ecr-scan-on-push", "ecr-immutable-tags")
    with pytest.raises(grpc.RpcError) as err:
        engine.configure(config)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == f"invalid policy pack configuration:\n{problem}"


def test_invalid_parameter_fails_configure(engine: Engine) -> None:
    config = stack_config("prod")
    config["multi-az-footprint"] = {"minAzCount": "three"}
    with pytest.raises(grpc.RpcError) as err:
        engine.configure(config)
    assert err.value.details() == ("invalid policy pack configuration:\n"
                                   "multi-az-footprint: minAzCount must be an integer "
                                   "(got 'three')")


def test_unknown_values_fail_closed_instead_of_cant_run(engine: Engine) -> None:
    engine.configure(stack_config("prod"))
    repo = patched(REPO, {"imageTagMutability": UNKNOWN_STRING})
    assert engine.analyze(REPO, "orders", repo, protect=True) == [
        ("ecr-immutable-tags", "mandatory",
         "imageTagMutability is unknown at preview; cannot prove image tags are immutable")]
    role = patched("aws:iam/role:Role", {"assumeRolePolicy": UNKNOWN_STRING,
                                         "inlinePolicies": []})
    found = engine.analyze("aws:iam/role:Role", "task", role)
    assert found == [
        ("iam-no-wildcard-actions", "mandatory", "assumeRolePolicy is unknown at preview; "
                                                 "cannot prove no statement allows a wildcard "
                                                 "action"),
        ("iam-oidc-trust-scoped", "mandatory", "assumeRolePolicy is unknown at preview; "
                                               "cannot prove the OIDC trust is scoped"),
        ("iam-trust-policy-scoped", "mandatory", "assumeRolePolicy is unknown at preview; "
                                                 "cannot prove the trust policy is scoped"),
    ]


def test_unknown_subnet_zone_fails_closed_in_stack_policy(engine: Engine) -> None:
    engine.configure(stack_config("staging"))
    resources = _two_az_service()
    resources[1] = (SUBNET, "private-b", {"availabilityZone": UNKNOWN_STRING}, {})
    assert only(engine.analyze_stack(resources), "multi-az-footprint") == [
        ("multi-az-footprint", "mandatory", "orders",
         "availabilityZone of subnet private-b is unknown at preview; cannot prove "
         "networkConfiguration spans 2 availability zones")]
    # Two subnets cannot span the three zones prod needs, whatever their zones are.
    engine.configure(stack_config("prod"))
    assert only(engine.analyze_stack(resources), "multi-az-footprint") == [
        ("multi-az-footprint", "mandatory", "orders",
         "networkConfiguration lists 2 subnet(s), so it spans at most 2 availability zone(s); "
         "at least 3 are required")]


def test_stack_policy_follows_nat_routes_through_property_dependencies(engine: Engine) -> None:
    engine.configure(stack_config("prod"))
    resources: list[tuple[str, str, dict[str, Any], dict[str, list[str]]]] = [
        (SUBNET, "public-a", {"availabilityZone": "eu-west-1a"}, {}),
        (SUBNET, "private-b", {"availabilityZone": "eu-west-1b"}, {}),
        ("aws:ec2/natGateway:NatGateway", "nat-a", {"subnetId": UNKNOWN_STRING},
         {"subnetId": ["public-a"]}),
        ("aws:ec2/routeTable:RouteTable", "private-b-rt", {"vpcId": "vpc-1"}, {}),
        ("aws:ec2/route:Route", "private-b-default",
         {"routeTableId": UNKNOWN_STRING, "destinationCidrBlock": "0.0.0.0/0",
          "natGatewayId": UNKNOWN_STRING},
         {"routeTableId": ["private-b-rt"], "natGatewayId": ["nat-a"]}),
        ("aws:ec2/routeTableAssociation:RouteTableAssociation", "private-b-assoc",
         {"routeTableId": UNKNOWN_STRING, "subnetId": UNKNOWN_STRING},
         {"routeTableId": ["private-b-rt"], "subnetId": ["private-b"]}),
    ]
    assert only(engine.analyze_stack(resources), "nat-gateway-per-az") == [
        ("nat-gateway-per-az", "mandatory", "private-b-rt",
         "serves subnets in eu-west-1b but its default route uses NAT gateway nat-a in "
         "eu-west-1a; each availability zone needs its own NAT gateway")]
    engine.configure(stack_config("dev"))
    assert only(engine.analyze_stack(resources), "nat-gateway-per-az") == []


def test_stack_files_are_cli_config_files() -> None:
    for env in ("dev", "staging", "prod"):
        config = stack_config(env)
        for key, value in config.items():
            assert key == "all" or key in REGISTRY, f"{env}: unknown policy {key}"
            assert isinstance(value, str | dict)
        json.dumps(config)


# The policy configs preflight refuses, checked against the schemas this pack announces.
PROD_CONFIG = "stacks/Pulumi.prod.policy.json"


@pytest.mark.parametrize(("change", "lines"), [
    ({"multi-az-footprnt": {"minAzCount": 3}},
     ["multi-az-footprnt: unknown policy (did you mean 'multi-az-footprint'?): the pack microservices-platform has no policy of that name"]),
    ({"ecr-scan-on-pussh": {"exceptions": [{"resource": "legacy-mirror", "reason": "vendor mirror, scanned upstream", "expires": "2027-01-31"}]}},
     ["ecr-scan-on-pussh: unknown policy (did you mean 'ecr-scan-on-push'?): the pack microservices-platform has no policy of that name"]),
    ({"all": {"enforcementLevel": "mandatory", "minAzCount": 3}},
     ["all.minAzCount: 'all' sets only enforcementLevel: put minAzCount under the policy it configures"]),
    ({"ecr-scan-on-push": ["mandatory"]},
     ['ecr-scan-on-push: must be an enforcement level (advisory, mandatory, remediate, disabled) or an object of settings (got ["mandatory"])']),
    ({"codebuild-privileged-mode": {"exceptions": [{"resource": "*", "reason": "docker build needs the daemon", "expires": "2027-06-30"}]}},
     ["codebuild-privileged-mode.exceptions[0].resource: '*' is not allowed: use the resource's name, a name pattern with at least three letters or digits in a row (e.g. prod-*-delivery-build), or its exact URN; never a pattern that matches every resource"]),
    ({"codebuild-privileged-mode": {"exceptions": [{"resource": "*-delivery-build", "reason": "docker build needs the daemon"}]}},
     ["codebuild-privileged-mode.exceptions[0].expires: is required: the last day the exception holds, YYYY-MM-DD"]),
    ({"multi-az-footprint": {"minAzCount": 0}},
     ["multi-az-footprint.minAzCount: must be at least 1 (got 0)"]),
])
def test_policy_config_checked_against_the_packs_schemas(
        engine: Engine, change: dict[str, Any], lines: list[str]) -> None:
    from preflight.analyzer import reconcile
    from preflight.policy_config import PolicyConfig
    from preflight.project import UsageError

    config = PolicyConfig({**stack_config("prod"), **change})
    config.source = PROD_CONFIG
    with pytest.raises(UsageError) as err:
        reconcile(engine.info(), config)
    assert str(err.value).splitlines() == [f"{PROD_CONFIG}: {line}" for line in lines]


def test_real_policy_configs_fit_the_packs_schemas(engine: Engine) -> None:
    from preflight.analyzer import reconcile

    for env in ("dev", "staging", "prod"):
        policies, warnings = reconcile(engine.info(), stack_config(env))
        assert warnings == [] and len(policies) == len(REGISTRY)


# --- previews: unknown values, coverage answers, stack config --------------------------------

@pytest.fixture
def preview() -> Iterator[Engine]:
    """A fresh pack told, as the CLI tells it, that this run is a preview."""
    pack = InProcessPack()
    pack.engine.configure(stack_config("prod"))
    pack.engine.configure_stack(dry_run=True)
    yield pack.engine
    pack.stop()


def test_in_a_preview_an_unknown_value_is_a_policy_that_could_not_run(preview: Engine) -> None:
    repo = patched(REPO, {"imageTagMutability": UNKNOWN_STRING})
    assert preview.analyze(REPO, "orders", repo, protect=True) == [
        ("ecr-immutable-tags", "advisory",
         "can't run policy 'ecr-immutable-tags' from policy pack "
         "'microservices-platform@v0.1.0' during preview: imageTagMutability is unknown at "
         "preview; cannot prove image tags are immutable")]
    preview.configure(stack_config("staging"))  # two zones: two subnets can span them
    resources = _two_az_service()
    resources[1] = (SUBNET, "private-b", {"availabilityZone": UNKNOWN_STRING}, {})
    assert only(preview.analyze_stack(resources), "multi-az-footprint") == [
        ("multi-az-footprint", "advisory", "orders",
         "can't run policy 'multi-az-footprint' from policy pack "
         "'microservices-platform@v0.1.0' during preview: availabilityZone of subnet private-b "
         "is unknown at preview; cannot prove networkConfiguration spans 2 availability zones")]


def test_in_an_update_an_unknown_value_stays_a_violation(preview: Engine) -> None:
    preview.configure_stack(dry_run=False)
    repo = patched(REPO, {"imageTagMutability": UNKNOWN_STRING})
    assert preview.analyze(REPO, "orders", repo, protect=True) == [
        ("ecr-immutable-tags", "mandatory",
         "imageTagMutability is unknown at preview; cannot prove image tags are immutable")]


def test_known_violations_keep_their_level_in_a_preview(preview: Engine) -> None:
    repo = patched(REPO, {"imageTagMutability": "MUTABLE"})
    assert [(p, level) for p, level, _ in preview.analyze(REPO, "orders", repo, protect=True)] \
        == [("ecr-immutable-tags", "mandatory")]


def test_each_answer_names_the_policies_that_do_not_read_the_type(preview: Engine) -> None:
    response = preview.stub.Analyze(proto.AnalyzeRequest(
        urn="urn:pulumi:prod::platform::aws:ecr/repository:Repository::orders", type=REPO,
        name="orders"))
    skipped = {item.policy_name for item in response.not_applicable}
    reads = {name for name, record in REGISTRY.items() if REPO in record.types}
    assert {"ecr-scan-on-push", "ecr-immutable-tags"} <= reads  # a stack and a resource rule
    assert skipped == set(REGISTRY) - reads
    assert {item.reason for item in response.not_applicable} == {"checks other resource types"}
    stack_only = preview.stub.Analyze(proto.AnalyzeRequest(
        urn="urn:pulumi:prod::platform::aws:ec2/vpc:Vpc::net", type="aws:ec2/vpc:Vpc",
        name="net"))
    # The VPC is read only by stack policies: they are not named as not applicable.
    assert {"vpc-flow-logs-enabled", "default-security-group-closed"}.isdisjoint(
        item.policy_name for item in stack_only.not_applicable)


def test_stack_config_from_configure_stack_reaches_pulumi_config(preview: Engine) -> None:
    import threading

    import pulumi

    big = "x" * (1 << 20)  # more than one environment variable can hold
    preview.configure_stack(dry_run=True, config={"platform:catalogue": big})
    seen: list[str | None] = []
    # Rules run in the server's threads, each with a fresh context: read it from one.
    reader = threading.Thread(target=lambda: seen.append(pulumi.Config("platform").get(
        "catalogue")))
    reader.start()
    reader.join()
    assert seen == [big]


def test_the_stack_is_converted_once_for_every_stack_policy_each_under_its_own_level(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stack policy reads the same decoded stack (decoding it once per policy cost
    most of the pack's time on a large estate), and still reports under its own name,
    configured level and exceptions."""
    from policies.guardrails import pack, server

    decoded: list[str] = []
    for module, name in ((pack, "plain"), (server, "_properties")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda value, original=original, name=name: (
            decoded.append(name), original(value))[1])
    config = stack_config("prod")
    config["ecr-scan-on-push"] = "advisory"
    config["multi-az-footprint"] = {"minAzCount": 3, "exceptions": [
        {"resource": "payments", "reason": "pilot service, single-tenant until GA",
         "expires": "2999-12-31"}]}
    engine.configure(config)
    payments = ("payments", *_two_az_service()[2][2:])
    stack = [*_two_az_service(), (SERVICE, *payments),
             (REPO, "orders", patched(REPO, {"imageScanningConfiguration": {"scanOnPush": False}}),
              {})]
    found = engine.analyze_stack(stack)
    stack_policies = [r for r in REGISTRY.values() if r.kind == "stack"]
    assert len(stack_policies) >= 10
    assert sorted(decoded) == ["_properties"] * len(stack) + ["plain"] * len(stack)
    spans = ("networkConfiguration spans 2 availability zone(s) (eu-west-1a, eu-west-1b); "
             "at least 3 are required")
    assert only(found, "multi-az-footprint") == [
        ("multi-az-footprint", "mandatory", "orders", spans),
        ("multi-az-footprint", "advisory", "payments",
         f"[exempted] pilot service, single-tenant until GA — {spans}")]
    assert only(found, "ecr-scan-on-push") == [
        ("ecr-scan-on-push", "advisory", "orders", "imageScanningConfiguration.scanOnPush is "
         "not true and no registry scanning rule covers the repository")]
