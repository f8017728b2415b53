"""What sits around the platform's namespace: other namespaces, paths into the filesystem,
and wiring that used to crash inside a component. Exact lines, nothing registered."""

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_stacks import ROOT, mutate, run_program, stack_config

from components.spec import (
    NAMESPACE,
    SpecError,
    namespace_values,
    parse_platform_spec,
    parse_stack_config,
)

SOURCE = "stacks/Pulumi.prod.yaml"


def problems(config: dict[str, Any], root: Path | None = None,
             secret_keys: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_stack_config(config, None if root is None else str(root), secret_keys)
    return err.value.lines(SOURCE)


@pytest.mark.parametrize(("key", "value", "line"), [
    ("microservice-platform:services", {}, "microservice-platform:services: not read: the platform reads only microservices-platform:* settings (did you mean 'microservices-platform:services'?); move it there or remove it"),
    ("billing:budget", "100", "billing:budget: not read: the platform reads only microservices-platform:* settings; move it there or remove it"),
    ("aws:region", "us-east-1", "aws:region: not read: every resource uses the platform's own AWS provider, configured from microservices-platform:region; remove it"),
    ("aws:secretKey", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws:secretKey: static credentials never go in a stack file: deploy with OIDC or an IAM role, and remove it"),
])
def test_settings_outside_the_namespace_are_refused(key: str, value: Any, line: str) -> None:
    config = {**stack_config("prod"), key: value}
    assert problems(config) == [f"{SOURCE}: {line}"]
    assert str(value) not in line or key != "aws:secretKey"


def test_engine_settings_and_secret_provider_keys_are_not_credentials() -> None:
    config = {**stack_config("prod"), "pulumi:disable-default-providers": '["*"]'}
    assert parse_stack_config(config)["environment"] == "prod"
    secret = {**stack_config("prod"), "aws:secretKey": "[secret]"}
    assert problems(secret, secret_keys=("aws:secretKey",)) == [
        f"{SOURCE}: aws:secretKey: not read: every resource uses the platform's own AWS "
        "provider, configured from microservices-platform:region; remove it"]


@pytest.mark.parametrize(("source", "line"), [
    ("../../../../etc", 'functions.catalog.source: "../../../../etc" is outside the project: name a directory inside it, relative to Pulumi.yaml'),
    ("/etc", 'functions.catalog.source: "/etc" is outside the project: name a directory inside it, relative to Pulumi.yaml'),
    ("", "functions.catalog.source: \"\" is the whole project: name the directory of the function's code"),
    (".", "functions.catalog.source: \".\" is the whole project: name the directory of the function's code"),
    ("functions/missing", "functions.catalog.source: \"functions/missing\" does not exist in the project: create it with the function's code, or fix the path"),
])
def test_function_source_stays_inside_the_project(source: str, line: str) -> None:
    config = copy.deepcopy(stack_config("prod"))
    mutate(config, "functions.catalog.source", source)
    assert problems(config, ROOT) == [f"{SOURCE}: {NAMESPACE}:{line}"]


def other_prod_paths(root: Path) -> None:
    """What prod names besides the path under test: its other function and its workflow."""
    (root / "functions" / "billing").mkdir(parents=True)
    shutil.copytree(ROOT / "workflows", root / "workflows")


def test_symlink_out_of_the_project_is_outside(tmp_path: Path) -> None:
    other_prod_paths(tmp_path)
    (tmp_path / "functions" / "escape").symlink_to("/etc")
    (tmp_path / "services" / "web").mkdir(parents=True)
    (tmp_path / "services" / "web" / "Dockerfile").write_text("FROM scratch\n")
    config = copy.deepcopy(stack_config("prod"))
    mutate(config, "functions.catalog.source", "functions/escape")
    assert problems(config, tmp_path) == [
        f'{SOURCE}: {NAMESPACE}:functions.catalog.source: "functions/escape" is outside the '
        "project: name a directory inside it, relative to Pulumi.yaml"]


def test_pipeline_needs_the_services_source(tmp_path: Path) -> None:
    other_prod_paths(tmp_path)
    (tmp_path / "functions" / "orders-api").mkdir(parents=True)
    config = stack_config("prod")
    assert problems(config, tmp_path) == [
        f'{SOURCE}: {NAMESPACE}:pipelines.web.servicePath: "services/web" does not exist in '
        "the project: create it with service 'web''s source (Dockerfile, buildspec.yml), or "
        "fix the path"]
    (tmp_path / "services" / "web").mkdir(parents=True)
    assert problems(config, tmp_path) == [
        f"{SOURCE}: {NAMESPACE}:pipelines.web.servicePath: services/web has no Dockerfile: "
        "the build needs one (copy services/web)"]


def test_the_real_stacks_paths_exist() -> None:
    for stack in ("dev", "staging", "prod"):
        assert parse_platform_spec(namespace_values(stack_config(stack)), str(ROOT))


def test_pipeline_builds_from_the_services_own_directory() -> None:
    registered = run_program("prod", stack_config("prod")).registrations
    (build,) = [r for r in registered if r.type == "aws:codebuild/project:Project"]
    assert build.inputs["source"]["buildspec"] == "services/web/buildspec.yml"


def test_external_image_runs_without_a_repository() -> None:
    config = copy.deepcopy(stack_config("prod"))
    image = "public.ecr.aws/nginx/nginx@sha256:" + "a" * 64
    mutate(config, "services.orders.image", image)
    registered = run_program("prod", config).registrations
    repos = sorted(r.name for r in registered if r.type == "aws:ecr/repository:Repository")
    assert repos == ["prod-web-images-repo"]
    (task,) = [r for r in registered if r.type == "aws:ecs/taskDefinition:TaskDefinition"
               and r.name.startswith("prod-orders")]
    (container,) = json.loads(task.inputs["containerDefinitions"])
    assert container["image"] == image


def test_a_stack_of_any_name_follows_its_tier() -> None:
    """README: the tier decides the rules, the stack name is free (alarms, alerting, the
    dashboard and tracing used to take the stack name for a tier and crash)."""
    registered = run_program("qa", stack_config("staging")).registrations
    alarms = [r for r in registered if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    assert alarms and all(r.inputs["name"].startswith("qa-") for r in alarms)
    (topic,) = [r for r in registered if r.type == "aws:sns/topic:Topic"
                and r.inputs.get("name") == "qa-alerts"]
    (rule,) = [r for r in registered if r.type == "aws:xray/samplingRule:SamplingRule"]
    assert rule.inputs["ruleName"] == "qa-default"
    assert topic.inputs["kmsMasterKeyId"]


def test_rule_quota_counts_the_platforms_own_listener_rules() -> None:
    """The quota policy follows the platform's wiring: rule -> listener -> load balancer."""
    from policies.guardrails import Resource, evaluate_stack
    from policies.guardrails.core import plain

    config = copy.deepcopy(stack_config("dev"))
    mutate(config, "services.billing", {"cpu": 256, "memory": 512})
    cap = run_program("dev", config)
    by_urn = {r.urn: Resource(r.type, r.name, r.urn, plain(r.inputs))
              for r in cap.registrations if r.custom}
    for reg in cap.registrations:
        if reg.urn in by_urn:
            by_urn[reg.urn].property_dependencies = {
                k: [by_urn[u] for u in v if u in by_urn]
                for k, v in reg.property_dependencies.items()}
    stack = list(by_urn.values())
    names = {r.urn: r.name for r in stack}
    found = [(names[u], m) for u, m in evaluate_stack("alb-rule-quota", stack, {"maxRules": 1})]
    # billing and orders share the internal load balancer; web is alone on the public one.
    assert found == [("dev-internal-alb", "2 listener rules exceed the quota of 1 rules per "
                                          "application load balancer: request a higher quota "
                                          "or spread the services over more load balancers")]
    assert evaluate_stack("alb-rule-quota", stack) == []
