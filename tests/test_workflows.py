"""GitHub workflows: schema-valid, zizmor-clean, pinned, least-privilege, fork-safe."""

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses: \S+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
ALLOWED_JOB_PERMISSIONS = {
    ("contents", "read"), ("id-token", "write"), ("security-events", "write"),
    ("pull-requests", "write"),
}


def tool(name: str) -> str:
    found = shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)
    # Both tools come with the dev extra: a missing one is a broken set-up, not a skip.
    assert found is not None, f"{name} is not installed: pip install -e '.[dev]'"
    return found


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the bare key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def jobs(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from load(path)["jobs"].items()


def steps(path: Path) -> Iterator[dict[str, Any]]:
    for _, job in jobs(path):
        yield from job.get("steps", [])


def test_expected_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["deploy.yml", "pr.yml", "pulumi-up.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_schema(path: Path) -> None:
    result = subprocess.run([tool("check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", str(path)],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_has_no_findings_above_low() -> None:
    # Strictest persona, inline ignore comments disregarded: nothing above low, and the only
    # ignored finding is the style hint about how deploy.yml calls pulumi-up.yml.
    result = subprocess.run([tool("zizmor"), "--offline", "--persona", "auditor",
                             "--no-ignores", "--format", "json", *map(str, WORKFLOWS)],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.stdout.strip(), result.stderr
    findings = json.loads(result.stdout)
    serious = [(f["ident"], f["determinations"]["severity"]) for f in findings
               if f["determinations"]["severity"].lower() in ("medium", "high")]
    assert serious == []
    assert {(f["ident"], f["determinations"]["severity"]) for f in findings} <= {
        ("self-repository", "Low")}
    # The regular persona, which CI users run, reports nothing at all.
    regular = subprocess.run([tool("zizmor"), "--offline", "--format", "json",
                              *map(str, WORKFLOWS)],
                             capture_output=True, text=True, check=False, timeout=120)
    assert json.loads(regular.stdout) == [], regular.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_pinned_by_sha_with_version_comment(path: Path) -> None:
    for step in steps(path):
        if "uses" in step:
            assert SHA_PIN.match(step["uses"]), step["uses"]
    for line in path.read_text().splitlines():
        stripped = line.strip().removeprefix("- ")
        if stripped.startswith("uses:") and "./.github/workflows/" not in stripped:
            assert VERSION_COMMENT.match(stripped), stripped


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_does_not_persist_credentials(path: Path) -> None:
    checkouts = [s for s in steps(path) if s.get("uses", "").startswith("actions/checkout@")]
    for step in checkouts:
        assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_minimal(path: Path) -> None:
    assert load(path)["permissions"] == {}
    for name, job in jobs(path):
        granted = set(job["permissions"].items())
        assert granted <= ALLOWED_JOB_PERMISSIONS, (name, granted)


def permissions_of(path: Path) -> dict[str, dict[str, str]]:
    return {name: job["permissions"] for name, job in jobs(path)}


def test_write_permissions_only_where_needed() -> None:
    pr = ROOT / ".github/workflows/pr.yml"
    assert permissions_of(pr) == {
        "test": {"contents": "read"},
        "preflight": {"contents": "read", "security-events": "write"},
        "comment": {"pull-requests": "write"},
        "preview": {"contents": "read", "id-token": "write"},
    }
    deploy = ROOT / ".github/workflows/deploy.yml"
    assert permissions_of(deploy) == {stack: {"contents": "read", "id-token": "write"}
                                      for stack in ("dev", "staging", "prod")}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_dangerous_triggers_or_injection(path: Path) -> None:
    workflow = load(path)
    assert "pull_request_target" not in workflow["on"]
    assert "workflow_run" not in workflow["on"]
    for step in steps(path):
        assert "${{" not in step.get("run", ""), step["run"]


def test_pr_triggers_and_jobs() -> None:
    pr = load(ROOT / ".github/workflows/pr.yml")
    assert list(pr["on"]) == ["pull_request"]
    assert list(pr["jobs"]) == ["test", "preflight", "comment", "preview"]
    test_runs = [s["run"] for s in pr["jobs"]["test"]["steps"] if "run" in s]
    # What .ci/run checks: the pack is type-checked like the rest.
    assert test_runs == ["python -m pip install -e '.[dev]'", "ruff check .",
                         "mypy components policies preflight", "pytest -q"]
    assert "mypy components policies preflight" in (ROOT / ".ci" / "run").read_text()
    python = [s for s in pr["jobs"]["test"]["steps"]
              if s.get("uses", "").startswith("actions/setup-python@")]
    assert python[0]["with"]["python-version"] == "3.11"


def test_preflight_runs_every_stack_without_secrets() -> None:
    workflow = load(ROOT / ".github/workflows/pr.yml")
    job = workflow["jobs"]["preflight"]
    # Every stack file in one invocation per format; a sticky comment per stack, tiers first.
    stacks = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml")
                    if len(p.name.split(".")) == 3)
    assert "strategy" not in job
    comment = workflow["jobs"]["comment"]
    assert comment["strategy"]["matrix"]["stack"][:3] == ["dev", "staging", "prod"]
    assert sorted(comment["strategy"]["matrix"]["stack"]) == stacks
    assert "if" not in job and "environment" not in job
    text = yaml.safe_dump(job)
    assert "secrets." not in text and "id-token" not in text
    script = next(s["run"] for s in job["steps"] if s.get("name") == "Preflight")
    # One invocation for every stack writes every report: Markdown per stack (comments) and
    # merged (summary), SARIF with a run per stack, JUnit.
    assert script.count("python -m preflight") == 1
    assert ('.venv/bin/python -m preflight --all "${base[@]}" \\\n'
            "  --format markdown --output 'preflight-{stack}.md' \\\n"
            '  --format markdown --output preflight.md \\\n'
            '  --format sarif --output preflight.sarif \\\n'
            '  --format junit --output preflight.xml || status=$?') in script
    assert '>> "$GITHUB_STEP_SUMMARY"' in script
    upload = next(s for s in job["steps"]
                  if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    # One run per stack, each its own category (automationDetails.id): none set here.
    assert upload["with"] == {"sarif_file": "preflight.sarif"}
    reports = next(s for s in job["steps"]
                   if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert reports["with"]["name"] == "preflight-reports"
    download = next(s for s in comment["steps"]
                    if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"name": "preflight-reports"}


def test_preview_guarded_for_forks() -> None:
    job = load(ROOT / ".github/workflows/pr.yml")["jobs"]["preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job["environment"] == "preview-${{ matrix.stack }}"
    pulumi = next(s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"] == {
        "command": "preview", "pulumi-version-file": ".pulumi.version",
        "stack-name": "${{ vars.PULUMI_ORG }}/${{ matrix.stack }}",
        "policyPacks": "policies",
        "policyPackConfigs": "stacks/Pulumi.${{ matrix.stack }}.policy.json"}
    assert pulumi["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
    aws = next(s for s in job["steps"]
               if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    assert not any(k.startswith("aws-secret") or k.startswith("aws-access") for k in aws["with"])


def test_deploy_is_sequential_through_environments() -> None:
    deploy = load(ROOT / ".github/workflows/deploy.yml")
    assert deploy["on"] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    chain = {name: (job.get("needs"), job["with"]["stack"], job["uses"])
             for name, job in deploy["jobs"].items()}
    assert chain == {
        "dev": (None, "dev", "./.github/workflows/pulumi-up.yml"),
        "staging": (["dev"], "staging", "./.github/workflows/pulumi-up.yml"),
        "prod": (["staging"], "prod", "./.github/workflows/pulumi-up.yml"),
    }
    assert deploy["jobs"]["dev"]["if"] == "github.ref == 'refs/heads/main'"
    for job in deploy["jobs"].values():
        assert job["secrets"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}


def test_pulumi_up_uses_environment_oidc_and_policy_pack() -> None:
    up = load(ROOT / ".github/workflows/pulumi-up.yml")
    assert list(up["on"]) == ["workflow_call"]
    job = up["jobs"]["up"]
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {"group": "deploy-${{ inputs.stack }}",
                                  "cancel-in-progress": False}
    aws = next(s for s in job["steps"]
               if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    pulumi = next(s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"] == {
        "command": "up", "pulumi-version-file": ".pulumi.version",
        "stack-name": "${{ vars.PULUMI_ORG }}/${{ inputs.stack }}",
        "policyPacks": "policies",
        "policyPackConfigs": "stacks/Pulumi.${{ inputs.stack }}.policy.json"}


def test_pull_request_comment_is_sticky_same_repository_only_and_runs_no_pr_code() -> None:
    pr = load(ROOT / ".github/workflows/pr.yml")
    job = pr["jobs"]["comment"]
    assert job["if"] == ("always() && github.event.pull_request.head.repo.full_name == "
                         "github.repository")
    assert job["needs"] == ["preflight"]
    # One comment per stack of the project, tiers first.
    assert job["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod", "prod-k8s"]
    uses = [s["uses"].split("@")[0] for s in job["steps"]]
    # Nothing of the pull request is checked out or run with the write token.
    assert uses == ["actions/download-artifact", "marocchino/sticky-pull-request-comment"]
    assert not [s for s in job["steps"] if "run" in s]
    sticky = job["steps"][1]["with"]
    assert sticky == {"header": "preflight-${{ matrix.stack }}",
                      "path": "preflight-${{ matrix.stack }}.md"}
    assert job["steps"][0]["with"] == {"name": "preflight-reports"}
    # The preflight job hands its Markdown over, whatever its verdict, and every pull
    # request (forks included) gets the report in its job summary.
    steps = pr["jobs"]["preflight"]["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"].startswith("always()")
    assert upload["with"]["name"] == "preflight-reports"
    assert upload["with"]["path"].split() == ["preflight-*.md", "preflight.xml"]


def test_pulumi_cli_is_pinned_once() -> None:
    """Every job that runs the Pulumi CLI installs the version in .pulumi.version, one the
    program's SDK range admits."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    version = (ROOT / ".pulumi.version").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    sdk = next(Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "project"]["dependencies"] if Requirement(r).name == "pulumi")
    assert Version(version) in sdk.specifier
    pulumi_steps = [s for path in WORKFLOWS for s in steps(path)
                    if s.get("uses", "").startswith("pulumi/actions@")]
    assert len(pulumi_steps) == 2
    assert {s["with"]["pulumi-version-file"] for s in pulumi_steps} == {".pulumi.version"}


def test_every_action_is_on_one_version_everywhere() -> None:
    """An action pinned to two commits would leave one of them behind on the next upgrade."""
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            match = re.search(r"uses: ([\w./-]+)@([0-9a-f]{40}) # (v[\d.]+)$", line)
            if match:
                pins.setdefault(match[1], set()).add(f"{match[2]} {match[3]}")
    assert {action: len(found) for action, found in pins.items()} == dict.fromkeys(pins, 1)
    assert sorted(pins) == [
        "actions/checkout", "actions/download-artifact", "actions/setup-python",
        "actions/upload-artifact", "aws-actions/configure-aws-credentials",
        "github/codeql-action/upload-sarif", "marocchino/sticky-pull-request-comment",
        "pulumi/actions"]
