"""The README's own flows, done as it says: its commands run as written and its YAML goes
where it says, in a copy of the project; then preflight must pass with no mandatory
violation, no stale exception, and the resources the README promises.

The snippets are read from README.md itself, so a README edit that breaks a flow fails here.
The only lines not run are the Pulumi CLI's (``pulumi stack init``): there is no CLI here.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.spec import NAMESPACE
from preflight.capture import Capture, capture

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("Pulumi.yaml", "__main__.py", "components", "policies", "stacks", "functions",
           "services", "workflows")
ENV_SECTION = "### Adding an environment"
SERVICE_SECTION = "### Adding a service"


def readme_blocks(heading: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block in the README section under ``heading``,
    dedented as a reader would paste it."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n{heading}\n")
    level = heading.split()[0]
    following = re.compile(rf"^#{{1,{len(level)}}} ", re.M).search(text, start + len(heading) + 2)
    section = text[start:following.start() if following else len(text)]
    blocks = []
    for match in re.finditer(r"^( *)```(\w+)\n(.*?)^\1```$", section, re.M | re.S):
        indent = len(match[1])
        body = "".join(line[indent:] + "\n" for line in match[3].splitlines())
        blocks.append((match[2], body))
    return blocks


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for item in PROJECT:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, project / item,
                            ignore=shutil.ignore_patterns("venv", "__pycache__"))
        else:
            shutil.copy(src, project / item)
    return project


def run_shell(block: str, project: Path) -> list[str]:
    """Run a README shell block line by line in ``project``; return the lines it asks of
    tools this machine does not have (the Pulumi CLI) and of preflight (run by the test)."""
    deferred = []
    for line in block.splitlines():
        command = line.split("#", 1)[0].strip()
        if not command:
            continue
        if command.startswith(("pulumi ", ".venv/bin/preflight ")):
            deferred.append(command)
            continue
        subprocess.run(["bash", "-c", command], cwd=project, check=True, timeout=60)
    return deferred


def preflight(project: Path, command: str, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    """A README ``.venv/bin/preflight <stack>`` line, with this interpreter and a JSON report."""
    args = command.removeprefix(".venv/bin/preflight ").split()
    report = tmp_path / f"{args[0]}.json"
    done = subprocess.run([sys.executable, "-m", "preflight", *args, "--format", "json",
                           "--output", str(report)], cwd=project, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert report.exists(), done.stderr
    return done.returncode, json.loads(report.read_text())


def merge(base: dict[str, Any], change: dict[str, Any]) -> None:
    """Set the README's keys in a stack file's config, keeping every key it does not name."""
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


def edit_stack(project: Path, stack: str, edit: Any) -> None:
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    edit(document["config"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def build(project: Path, stack: str, monkeypatch: pytest.MonkeyPatch) -> Capture:
    """The copied program for ``stack``, under the recording mocks."""
    config = yaml.safe_load((project / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    monkeypatch.chdir(project)
    return capture(lambda: runpy.run_path(str(project / "__main__.py"), run_name="__main__"),
                   project=NAMESPACE, stack=stack,
                   config={k: json.dumps(v) if isinstance(v, dict | list) else str(v)
                           for k, v in config.items()})


def statements(cap: Capture, name: str, key: str = "policy") -> list[dict[str, Any]]:
    return json.loads(cap.named(name).inputs[key])["Statement"]


def mandatory(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(v["policy"], v["name"]) for v in report["violations"]
            if v["enforcementLevel"] == "mandatory"]


# --- adding an environment ------------------------------------------------------------------

def test_readme_blocks_of_adding_an_environment() -> None:
    assert [lang for lang, _ in readme_blocks(ENV_SECTION)] == ["sh", "yaml", "sh"]


def test_a_plain_copy_of_staging_is_a_clean_qa_stack(tmp_path: Path) -> None:
    # The policy configuration fits any stack name: nothing to rename for it to apply.
    project = copy_project(tmp_path)
    copy, _, _ = readme_blocks(ENV_SECTION)
    run_shell(copy[1], project)
    status, report = preflight(project, ".venv/bin/preflight qa", tmp_path)
    assert (status, mandatory(report)) == (0, [])
    assert [v for v in report["violations"] if v["policy"].startswith("policy-exceptions")] == []


def test_adding_an_environment_as_the_readme_says(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_project(tmp_path)
    (_, copy), (_, change), (_, check) = readme_blocks(ENV_SECTION)
    assert run_shell(copy, project) == []
    assert sorted(p.name for p in (project / "stacks").glob("Pulumi.qa.*")) == [
        "Pulumi.qa.policy.json", "Pulumi.qa.preflight.yaml", "Pulumi.qa.yaml"]
    edit_stack(project, "qa", lambda config: merge(config, yaml.safe_load(change)["config"]))
    deferred = run_shell(check, project)
    assert deferred == [".venv/bin/preflight qa", "pulumi stack init qa"]

    status, report = preflight(project, deferred[0], tmp_path)
    assert (status, mandatory(report)) == (0, [])
    # Every exception of the copied configuration applies to qa's own resources, and none
    # is left matching nothing.
    assert [v for v in report["violations"] if v["policy"].startswith("policy-exceptions")] == []
    assert sorted((e["policy"], e["name"]) for e in report["exempted"]) == [
        ("apigateway-authorization", "qa-edge-route-get-health"),
        ("codebuild-privileged-mode", "qa-web-delivery-build"),
        ("iam-no-wildcard-actions", "qa-github-deploy-policy"),
        ("iam-no-wildcard-resources", "qa-github-deploy-policy"),
        ("iam-no-wildcard-resources", "qa-github-preview-policy"),
        ("s3-access-logging", "qa-logs-bucket")]
    # Staging's tier: two zones, deletion protection, 90-day logs.
    cap = build(project, "qa", monkeypatch)
    assert cap.named("qa-network-vpc").inputs["cidrBlock"] == "10.30.0.0/16"
    assert sorted(s.inputs["availabilityZone"] for s in cap.of_type("aws:ec2/subnet:Subnet")
                  if s.name.startswith("qa-network-private-")) == ["eu-west-1a", "eu-west-1b"]
    assert cap.named("qa-orders-db-cluster").inputs["deletionProtection"] is True
    # Only qa's GitHub environments can assume qa's roles.
    subjects = {name: statements(cap, f"qa-github-{name}", "assumeRolePolicy")[0]["Condition"][
        "StringEquals"]["token.actions.githubusercontent.com:sub"]
        for name in ("deploy", "preview")}
    assert subjects == {
        "deploy": "repo:example-org/microservices-platform:environment:qa",
        "preview": "repo:example-org/microservices-platform:environment:preview-qa"}


# --- adding a service -----------------------------------------------------------------------

def add_payments(config: dict[str, Any], service: dict[str, Any],
                 pipeline: dict[str, Any] | None) -> None:
    config[f"{NAMESPACE}:services"].update(service)
    config[f"{NAMESPACE}:databases"]["orders-db"]["allowedServices"].append("payments")
    if pipeline is not None:
        config[f"{NAMESPACE}:pipelines"].update(pipeline)


@pytest.mark.parametrize("with_pipeline", [False, True], ids=["service", "service+pipeline"])
def test_adding_a_service_as_the_readme_says(with_pipeline: bool, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_project(tmp_path)
    blocks = readme_blocks(SERVICE_SECTION)
    assert [lang for lang, _ in blocks] == ["yaml", "sh", "yaml"]
    (_, service), (_, copy), (_, pipeline) = blocks
    if with_pipeline:
        assert run_shell(copy, project) == []
    for stack in ("dev", "staging", "prod"):
        edit_stack(project, stack, lambda config: add_payments(
            config, yaml.safe_load(service),
            yaml.safe_load(pipeline) if with_pipeline else None))
        status, report = preflight(project, f".venv/bin/preflight {stack}", tmp_path)
        assert (status, mandatory(report)) == (0, []), stack
        names = {r["name"] for r in report["resources"]}
        assert f"{stack}-payments-service" in names
        assert (f"{stack}-payments-delivery-pipeline" in names) is with_pipeline

    cap = build(project, "prod", monkeypatch)
    assert cap.named("prod-payments-service").inputs["desiredCount"] == 3
    scaling = cap.named("prod-payments-scaling").inputs
    assert (scaling["minCapacity"], scaling["maxCapacity"]) == (3, 9)
    # Exactly what the README promises: IAM auth as user "payments", read on the table and
    # its indexes, the endpoint through SSM and the stack's secret, nothing else.
    assert statements(cap, "prod-payments-task-policy") == [
        {"Sid": "Platform0Table", "Effect": "Allow",
         "Action": ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem",
                    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query",
                    "dynamodb:Scan"],
         "Resource": ["arn:aws:dynamodb:eu-west-1:123456789012:table/prod-catalog",
                      "arn:aws:dynamodb:eu-west-1:123456789012:table/prod-catalog/index/*"]},
        {"Sid": "Platform1DatabaseUser", "Effect": "Allow", "Action": ["rds-db:connect"],
         "Resource": ["arn:aws:rds-db:eu-west-1:123456789012:dbuser:*/payments"]}]
    parameters = "arn:aws:ssm:eu-west-1:123456789012:parameter/"
    read = [s for s in statements(cap, "prod-payments-execution-policy")
            if s["Sid"] == "ReadParameters"]
    assert read == [{"Sid": "ReadParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"],
                     "Resource": [f"{parameters}prod-orders-db/endpoint",
                                  f"{parameters}prod-payments-api-key"]}]
    container = json.loads(cap.named("prod-payments-taskdef").inputs["containerDefinitions"])[0]
    assert container["secrets"] == [
        {"name": "DATABASE_HOST", "valueFrom": f"{parameters}prod-orders-db/endpoint"},
        {"name": "PAYMENTS_API_KEY", "valueFrom": f"{parameters}prod-payments-api-key"}]
    assert container["environment"] == [
        {"name": "DATABASE_PORT", "value": "5432"}, {"name": "DATABASE_USER", "value": "payments"},
        {"name": "TABLE_CATALOG", "value": "prod-catalog"}]
