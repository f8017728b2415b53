"""Programs a new user would write, through preflight and this project's pack: least-privilege
IAM built from outputs, data-source look-ups and awsx components. No crash, no silent pass, no
false mandatory violation: each verdict exact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).parent / "programs"

pytestmark = pytest.mark.slow


def run(tmp: Path, program: str, *args: str, config: dict[str, str] | None = None
        ) -> tuple[int, dict[str, Any], str, str]:
    project = tmp / program
    if not project.exists():
        shutil.copytree(PROGRAMS / program, project)
    values = {"aws:region": "eu-west-1", **(config or {})}
    (project / "Pulumi.dev.yaml").write_text(
        "config:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in values.items()))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PULUMI_CONFIG", None)
    policy = ["--policy-config", "policy.json"] if (project / "policy.json").exists() else []
    proc = subprocess.run([sys.executable, "-m", "preflight", "dev", "--policy-pack",
                           str(ROOT / "policies"), *policy, "--format", "json",
                           "--output", "report.json", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)
    report = project / "report.json"
    data = json.loads(report.read_text()) if report.exists() else {}
    return proc.returncode, data, proc.stdout, proc.stderr


def test_least_privilege_from_outputs_is_judged_in_the_resolved_pass(tmp_path: Path) -> None:
    code, data, text, err = run(tmp_path, "least_privilege")
    assert code == 0, err
    assert (data["violations"], data["couldNotRun"]) == ([], [])
    assert [(j["policy"], j["name"], j["outcome"]) for j in data["resolvedPass"]["judged"]] == [
        ("iam-no-wildcard-actions", "worker-data", "passed"),
        ("iam-no-wildcard-actions", "worker-exports", "passed"),
        ("iam-no-wildcard-resources", "worker-data", "passed"),
        ("iam-no-wildcard-resources", "worker-exports", "passed")]
    assert data["resolvedPass"]["judged"][0]["reason"] == (
        "policy is unknown at preview; cannot prove no statement allows a wildcard action")
    # The trust policy came from an exact, offline iam.get_policy_document: judged at preview.
    assert ("aws:iam/getPolicyDocument:getPolicyDocument", "exact") in {
        (d["token"], d["answeredBy"]) for d in data["dataSources"]}
    assert text.rstrip().splitlines()[-1] == (
        "PASSED: 0 mandatory, 0 advisory, 0 could not run, 0 exempted, 4 judged only in the "
        "resolved pass, 3 resource types uncovered across 8 resources")


def test_a_broad_grant_built_from_outputs_fails_in_the_resolved_pass(tmp_path: Path) -> None:
    code, data, _, err = run(tmp_path, "least_privilege", config={"least-privilege:broad": "true"})
    assert code == 1, err
    assert [(v["policy"], v["enforcementLevel"], v["name"], v["message"], v["resolvedOnly"])
            for v in data["violations"]] == [
        ("iam-no-wildcard-actions", "mandatory", "worker-broad",
         "policy: statement #0 allows wildcard action(s) dynamodb:*", True)]
    assert ("iam-no-wildcard-actions", "worker-broad", "mandatory") in {
        (j["policy"], j["name"], j["outcome"]) for j in data["resolvedPass"]["judged"]}


def test_lookups_and_awsx_components(tmp_path: Path) -> None:
    code, data, text, err = run(tmp_path, "lookups_awsx")
    sources = {d["function"]: d["answeredBy"] for d in data["dataSources"]}
    assert sources == {
        "aws.get_availability_zones": "exact", "aws.ec2.get_vpc": "invokes file",
        "aws.ec2.get_subnets": "stand-in", "aws.ec2.get_ami": "stand-in",
        "aws.route53.get_zone": "stand-in", "aws.ssm.get_parameter": "stand-in",
        "aws.ec2.get_vpc_peering_connections": None}
    subnets = next(d for d in data["dataSources"] if d["function"] == "aws.ec2.get_subnets")
    assert subnets["args"] == {"filters": [{"name": "vpc-id",
                                            "values": ["vpc-0a1b2c3d4e5f67890"]}]}
    assert [(c["type"], c["name"], c["alternative"]) for c in data["remoteComponents"]] == [
        ("awsx:lb:ApplicationLoadBalancer", "edge", "components.LoadBalancer"),
        ("awsx:ecs:FargateService", "orders", "components.ContainerService")]
    # What the pack does see is judged and clean; what it cannot see is named in the verdict.
    assert (code, data["violations"], data["couldNotRun"]) == (0, [], []), err
    assert text.rstrip().splitlines()[-1] == (
        "PASSED: 0 mandatory, 0 advisory, 0 could not run, 0 exempted, 2 remote components not "
        "expanded, 1 data source unanswered across 6 resources")
    strict, _, text, _ = run(tmp_path, "lookups_awsx", "--strict")
    assert strict == 1
    assert text.rstrip().splitlines()[-1].startswith("FAILED (strict): 0 mandatory")


def test_a_program_that_fails_on_an_unanswered_lookup_names_it(tmp_path: Path) -> None:
    project = tmp_path / "crash"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: crash\nruntime: python\n")
    (project / "__main__.py").write_text(
        "import pulumi_aws as aws\n"
        "peers = aws.ec2.get_vpc_peering_connections()\n"
        "first = peers.ids[0]\n")
    (project / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "preflight", "dev", "--policy-pack",
                           str(ROOT / "policies")], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr == (
        "preflight: error: __main__.py:3: TypeError: 'NoneType' object is not subscriptable "
        "(data source without an offline answer: aws:ec2/getVpcPeeringConnections:"
        "getVpcPeeringConnections (aws.ec2.get_vpc_peering_connections) with {}; answer it in "
        "preflight.invokes.yaml)\n")
