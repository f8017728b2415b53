"""The real stacks through preflight and the real policy pack, end to end.

Every stack passes with no mandatory violation. Then each of the four named guardrails (TLS
twice: at the listener and to the task) is broken on purpose in a copy of the prod project — by code that bypasses the components, as
a hand-written resource or a careless edit would, since the stack-file schema rejects such
settings before any resource exists — and the pack must stop it as mandatory.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.buckets import LOG_BUCKET_EXCEPTION

ROOT = Path(__file__).resolve().parents[2]


def preflight(project: Path, stack: str, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    report = tmp_path / f"{stack}.json"
    result = subprocess.run(
        [sys.executable, "-m", "preflight", stack, "--project-dir", str(project),
         "--format", "json", "--output", str(report)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert report.exists(), result.stderr
    return result.returncode, json.loads(report.read_text())


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_passes_the_pack(stack: str, tmp_path: Path) -> None:
    status, report = preflight(ROOT, stack, tmp_path)
    mandatory = [v for v in report["violations"] if v["enforcementLevel"] == "mandatory"]
    assert (status, mandatory, report["couldNotRun"]) == (0, [], [])
    # The reasoned exceptions (public health route, docker build, GitHub deploy roles, the
    # log bucket that cannot log into itself) are reported, not hidden.
    assert sorted((e["policy"], e["name"]) for e in report["exempted"]) == sorted([
        ("apigateway-authorization", f"{stack}-edge-route-get-health"),
        ("codebuild-privileged-mode", f"{stack}-web-delivery-build"),
        ("iam-no-wildcard-actions", f"{stack}-github-{stack}-policy"),
        ("iam-no-wildcard-resources", f"{stack}-github-preview-{stack}-policy"),
        ("iam-no-wildcard-resources", f"{stack}-github-{stack}-policy"),
        ("s3-access-logging", f"{stack}-logs-bucket")])


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_log_bucket_exception_is_the_component_s_reason(stack: str) -> None:
    config = json.loads((ROOT / "stacks" / f"Pulumi.{stack}.policy.json").read_text())
    assert config[LOG_BUCKET_EXCEPTION["policy"]]["exceptions"] == [{
        "resource": f"{stack}{LOG_BUCKET_EXCEPTION['resource_suffix']}",
        "reason": LOG_BUCKET_EXCEPTION["reason"], "expires": "2027-06-30"}]


# Each break runs before the real program: legacy stack transformations apply in the SDK,
# so they change resources exactly as registered, under mocks as under `pulumi up`.
BREAKS = {
    "multi-az": ("""
def squeeze(args):
    if args.type_ == "aws:ec2/subnet:Subnet":
        args.props["availability_zone"] = "eu-west-1a"
        return pulumi.ResourceTransformationResult(args.props, args.opts)
pulumi.runtime.register_stack_transformation(squeeze)
""", "multi-az-footprint"),
    "tls": ("""
def plaintext(args):
    if args.type_ == "aws:lb/listener:Listener" and args.props.get("port") == 443:
        args.props.update(protocol="HTTP", ssl_policy=None, certificate_arn=None)
        return pulumi.ResourceTransformationResult(args.props, args.opts)
pulumi.runtime.register_stack_transformation(plaintext)
""", "lb-listener-no-plaintext"),
    "tls-to-task": ("""
def plaintext_targets(args):
    if args.type_ == "aws:lb/targetGroup:TargetGroup":
        args.props["protocol"] = "HTTP"
        return pulumi.ResourceTransformationResult(args.props, args.opts)
pulumi.runtime.register_stack_transformation(plaintext_targets)
""", "lb-target-group-https"),
    "image-scanning": ("""
def unscanned(args):
    if args.type_ == "aws:ecr/repository:Repository":
        args.props["image_scanning_configuration"] = {"scan_on_push": False}
        return pulumi.ResourceTransformationResult(args.props, args.opts)
pulumi.runtime.register_stack_transformation(unscanned)
""", "ecr-scan-on-push"),
    "static-credentials": ("""
import pulumi_aws as aws
deployer = aws.iam.User("deployer")
aws.iam.AccessKey("deployer-key", user=deployer.name)
""", "no-iam-users"),
}


@pytest.fixture(scope="module")
def prod_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, minus what a break replaces: the program entry point."""
    copy = tmp_path_factory.mktemp("project")
    for item in ("Pulumi.yaml", "__main__.py", "components", "policies", "stacks",
                 "functions"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, copy / item)
    # The pack's virtualenv (PulumiPolicy.yaml: ../.venv), as in a checkout.
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


@pytest.mark.parametrize("guardrail", sorted(BREAKS))
def test_breaking_a_guardrail_in_prod_is_mandatory(guardrail: str, prod_copy: Path,
                                                   tmp_path: Path) -> None:
    code, policy = BREAKS[guardrail]
    project = tmp_path / "project"
    shutil.copytree(prod_copy, project, symlinks=True)
    program = (ROOT / "__main__.py").read_text()
    (project / "__main__.py").write_text("import pulumi\n" + code + "\n" + program)
    status, report = preflight(project, "prod", tmp_path)
    assert status == 1
    caught = {(v["policy"], v["enforcementLevel"]) for v in report["violations"]}
    assert (policy, "mandatory") in caught, sorted(caught)
