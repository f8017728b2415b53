"""SARIF results point at the line to change (the stack-file key a resource was made from,
else the program line that registered it), validate against the official SARIF 2.1.0 schema,
and keep their identity when messages change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).parent / "programs"
# The OASIS schema, vendored unchanged (source in schemas/README.md).
SARIF_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json")
                          .read_text(encoding="utf-8"))

pytestmark = pytest.mark.slow


def line_of(path: Path, text: str, after: str = "") -> int:
    """The 1-based line of the first line that is ``text`` (stripped), after ``after``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(next(x for x in lines if x.strip() == after)) if after else 0
    return next(i for i, x in enumerate(lines[start:], start + 1) if x.strip() == text)


def preflight(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PULUMI_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "preflight", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def results(sarif: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["ruleId"], r["properties"]["urn"].rsplit("::", 1)[-1]): r
            for r in sarif["runs"][0]["results"]}


def where(result: dict[str, Any]) -> tuple[str, int]:
    phys = result["locations"][0]["physicalLocation"]
    return phys["artifactLocation"]["uri"], phys["region"]["startLine"]


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    project = tmp_path_factory.mktemp("locations") / "locations"
    shutil.copytree(PROGRAMS / "locations", project)
    proc = preflight(project, "dev", "--policy-pack", str(ROOT / "policies"),
                     "--format", "sarif", "--output", "report.sarif")
    assert proc.returncode == 1, proc.stderr
    json_proc = preflight(project, "dev", "--policy-pack", str(ROOT / "policies"),
                          "--format", "json", "--output", "report.json")
    assert json_proc.returncode == 1, json_proc.stderr
    return (project, json.loads((project / "report.sarif").read_text()),
            json.loads((project / "report.json").read_text()))


def test_program_sarif_is_valid_sarif_2_1_0(program):
    _, sarif, _ = program
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)


def test_each_finding_points_at_its_own_line(program):
    project, sarif, _ = program
    found = results(sarif)
    stack = project / "Pulumi.dev.yaml"
    # Buckets made from stack-file keys: each key's line, with the program line beside it.
    assert where(found[("s3-versioning", "archive-bucket")]) == (
        "Pulumi.dev.yaml", line_of(stack, "archive:"))
    assert where(found[("s3-versioning", "reports-bucket")]) == (
        "Pulumi.dev.yaml", line_of(stack, "reports:"))
    loop_line = line_of(project / "__main__.py", 'aws.s3.Bucket(f"{key}-bucket")')
    assert found[("s3-versioning", "archive-bucket")]["relatedLocations"] == [{
        "id": 1, "physicalLocation": {
            "artifactLocation": {"uri": "__main__.py", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": loop_line}},
        "message": {"text": "the program line that registered the resource"}}]
    # Written in the program: its line there.
    assert where(found[("sqs-queue-kms", "jobs")]) == (
        "__main__.py", line_of(project / "__main__.py", 'aws.sqs.Queue("jobs")'))
    # A component's child: the line in the component, not the SDK's or the caller's.
    assert where(found[("s3-versioning", "media-objects")]) == (
        "storage.py", line_of(project / "storage.py",
                              'self.bucket = aws.s3.Bucket(f"{name}-objects", '
                              'opts=pulumi.ResourceOptions(parent=self))'))
    assert "relatedLocations" not in found[("s3-versioning", "media-objects")]


def test_json_findings_carry_the_same_location_and_a_stable_id(program):
    project, sarif, data = program
    by_key = {(v["policy"], v["name"]): v for v in data["violations"]}
    jobs = by_key[("sqs-queue-dlq", "jobs")]
    assert jobs["location"] == {
        "stackFile": None,
        "program": {"path": "__main__.py",
                    "line": line_of(project / "__main__.py", 'aws.sqs.Queue("jobs")')}}
    assert by_key[("s3-versioning", "archive-bucket")]["location"]["stackFile"] == {
        "path": "Pulumi.dev.yaml", "line": line_of(project / "Pulumi.dev.yaml", "archive:")}
    # One identity per policy and resource: the SARIF fingerprint is the JSON id.
    for (rule, name), result in results(sarif).items():
        assert result["partialFingerprints"] == {
            "preflightFinding/v2": by_key[(rule, name)]["id"]}
    assert len({v["id"] for v in data["violations"]}) == len(data["violations"])


def test_fingerprints_ignore_message_text():
    from preflight.report import Finding, Report, finding_id, render_sarif, to_json_data

    def report(message: str) -> Report:
        r = Report(project="p", stack="dev", stack_file="stacks/Pulumi.dev.yaml", pack_name="x",
                   pack_version="", pack_path="policies", policies=[], resources=[])
        r.violations = [Finding("iam-no-wildcard-actions", "urn:pulumi:dev::p::aws:iam/role:Role::r",
                                "aws:iam/role:Role", "r", message, "mandatory")]
        return r

    urn = "urn:pulumi:dev::p::aws:iam/role:Role::r"
    expected = finding_id("iam-no-wildcard-actions", urn)
    for message in ("s3:* grants 140 actions", "s3:* grants 152 actions"):
        (result,) = json.loads(render_sarif(report(message)))["runs"][0]["results"]
        assert result["partialFingerprints"] == {"preflightFinding/v2": expected}
        assert to_json_data(report(message))["violations"][0]["id"] == expected
    assert expected != finding_id("iam-no-wildcard-resources", urn)


@pytest.fixture(scope="module")
def dev_sarif() -> dict[str, Any]:
    out = preflight(ROOT, "dev", "--format", "sarif")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_dev_stack_findings_point_at_the_keys_that_made_them(dev_sarif):
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(dev_sarif)
    found = results(dev_sarif)
    stack = ROOT / "stacks" / "Pulumi.dev.yaml"
    shown = "stacks/Pulumi.dev.yaml"
    assert where(found[("dynamodb-deletion-protection", "dev-catalog-table")]) == (
        shown, line_of(stack, "catalog:", after="microservices-platform:tables:"))
    assert where(found[("rds-deletion-protection", "dev-orders-db-cluster")]) == (
        shown, line_of(stack, "orders-db:", after="microservices-platform:databases:"))
    assert where(found[("availability-zone-loss", "dev-web-service")]) == (
        shown, line_of(stack, "web:", after="microservices-platform:services:"))
    assert where(found[("availability-zone-loss", "dev-network-nat-eu-west-1a")]) == (
        shown, line_of(stack, "microservices-platform:network:"))
    assert where(found[("iam-no-wildcard-resources", "dev-github-preview-policy")]) == (
        shown, line_of(stack, "preview:", after="microservices-platform:github:"))
    # No stack-file key names the load balancer: the component line that registered it.
    assert where(found[("lb-deletion-protection", "dev-public-alb")]) == (
        "components/load_balancer.py",
        line_of(ROOT / "components" / "load_balancer.py",
                'alb = aws.lb.LoadBalancer(f"{name}-alb", aws.lb.LoadBalancerArgs('))
    lines = {where(r) for r in dev_sarif["runs"][0]["results"]}
    assert len(lines) >= 10, lines
