"""How two passes combine, coverage, the report's new sections, and the pack's launch."""

from __future__ import annotations

import json
import shutil
import sys
import venv
from pathlib import Path

import pytest
from conftest import PACK, Runner

from preflight.analyzer import PolicyMeta
from preflight.capture import Registration
from preflight.coverage import Coverage, RemoteComponent, TypeCoverage, measure
from preflight.invokes import Lookup
from preflight.passes import combine
from preflight.report import Finding, Findings, Judged, Report, render, summary_line

A = "urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::a"
B = "urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::b"
C = "urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::c"
TYPE = "aws:iam/rolePolicy:RolePolicy"


def finding(policy: str, urn: str, message: str, level: str = "mandatory") -> Finding:
    return Finding(policy, urn, TYPE, urn.rsplit("::", 1)[-1], message, level)


def test_combine_judges_in_the_resolved_pass_what_the_preview_could_not() -> None:
    first = Findings(
        violations=[finding("known", A, "wildcard")],
        could_not_run=[finding("wild", A, "policy is unknown", "advisory"),
                       finding("wild", B, "policy is unknown", "advisory"),
                       finding("wild", C, "policy is unknown", "advisory"),
                       finding("stack", "", "x is unknown", "advisory")])
    second = Findings(
        violations=[finding("known", A, "wildcard"), finding("wild", B, "dynamodb:*")],
        could_not_run=[finding("wild", C, "policy is unknown", "advisory")])
    found, judged = combine(first, second, {A, B, C})
    assert [(f.policy, f.urn, f.resolved_only) for f in found.violations] == [
        ("known", A, False), ("wild", B, True)]
    assert [(f.policy, f.urn) for f in found.could_not_run] == [("wild", C)]
    assert [(j.policy, j.urn, j.outcome) for j in judged] == [
        ("stack", "", "passed"), ("wild", A, "passed"), ("wild", B, "mandatory")]


def test_combine_keeps_could_not_run_for_resources_the_resolved_pass_never_saw() -> None:
    first = Findings(could_not_run=[finding("wild", A, "unknown", "advisory")])
    found, judged = combine(first, Findings(), set())
    assert ([f.urn for f in found.could_not_run], judged) == ([A], [])


def reg(type_: str, name: str, custom: bool = True, remote: bool = False) -> Registration:
    return Registration(type=type_, name=name, urn=f"urn:pulumi:dev::p::{type_}::{name}",
                        custom=custom, parent="", provider="", remote=remote)


def meta(name: str, level: str = "mandatory") -> PolicyMeta:
    return PolicyMeta(name=name, description=name, level=level, default_level=level)


def test_coverage_counts_only_policies_that_did_not_skip_the_type() -> None:
    regs = [reg("pulumi:pulumi:Stack", "s", custom=False), reg("aws:s3/bucket:Bucket", "a"),
            reg("aws:s3/bucket:Bucket", "b"), reg("aws:ec2/eip:Eip", "ip"),
            reg("x:index:Component", "c", custom=False)]
    skipped = {regs[1].urn: {"iam"}, regs[2].urn: {"iam"}, regs[3].urn: {"s3", "iam"}}
    found = measure(regs, skipped, [meta("s3"), meta("iam"), meta("off", "disabled")])
    assert found == Coverage(True, [TypeCoverage("aws:s3/bucket:Bucket", 2, ("s3",)),
                                    TypeCoverage("aws:ec2/eip:Eip", 1, ())])
    assert [t.type for t in found.uncovered] == ["aws:ec2/eip:Eip"]
    undeclared = measure(regs, {}, [meta("s3")])
    assert not undeclared.declared and undeclared.uncovered == []


def report(strict: bool = False, require_coverage: bool = False) -> Report:
    r = Report(project="p", stack="dev", stack_file="stacks/Pulumi.dev.yaml", pack_name="pack",
               pack_version="1", pack_path="policies", policies=[meta("wild")],
               resources=[(A, TYPE, "a", ""), (B, TYPE, "b", "")], strict=strict,
               require_coverage=require_coverage)
    r.remote_components = [RemoteComponent("urn:pulumi:dev::p::awsx:ec2:Vpc::net",
                                           "awsx:ec2:Vpc", "net", "components.Network")]
    r.lookups = [Lookup("aws:ec2/getVpc:getVpc", {"default": True}, "stand-in"),
                 Lookup("aws:ec2/getInstance:getInstance", {"instanceId": "i-1"}, "", 2)]
    r.coverage = Coverage(True, [TypeCoverage(TYPE, 2, ("wild",)),
                                 TypeCoverage("aws:ec2/eip:Eip", 1, ())])
    r.judged = [Judged("wild", A, TYPE, "a", "policy is unknown at preview", "passed")]
    return r


def test_every_format_names_what_was_not_checked() -> None:
    assert summary_line(report()) == (
        "PASSED: 0 mandatory, 0 advisory, 0 could not run, 0 exempted, 1 judged only in the "
        "resolved pass, 1 remote component not expanded, 1 data source unanswered, 1 resource "
        "type uncovered across 2 resources")
    assert summary_line(report(strict=True)).startswith("FAILED (strict): ")
    assert report(strict=True).exit_code == 1 and report().exit_code == 0
    assert report(require_coverage=True).exit_code == 1

    text = render(report(), "text")
    assert ("  ! net (awsx:ec2:Vpc); components.Network does the same job from pulumi-aws "
            "primitives") in text
    assert ('  ? aws:ec2/getInstance:getInstance (aws.ec2.get_instance) with {"instanceId": '
            '"i-1"} (2 calls)') in text
    assert ("  ✓ wild on a (aws:iam/rolePolicy:RolePolicy): passed; unknown at preview: "
            "policy is unknown at preview") in text
    assert "Coverage: 2 resource types, 1 covered by no policy: aws:ec2/eip:Eip" in text

    md = render(report(), "markdown")
    assert "| `net` | `awsx:ec2:Vpc` | components.Network |" in md
    assert '| `aws:ec2/getInstance:getInstance` | `{"instanceId": "i-1"}` | 2 |' in md
    assert "### Resource types no policy covers\n\n- `aws:ec2/eip:Eip`" in md

    data = json.loads(render(report(), "json"))
    assert data["remoteComponents"] == [{"urn": "urn:pulumi:dev::p::awsx:ec2:Vpc::net",
                                         "type": "awsx:ec2:Vpc", "name": "net",
                                         "alternative": "components.Network"}]
    assert data["dataSources"][1] == {"token": "aws:ec2/getInstance:getInstance",
                                      "function": "aws.ec2.get_instance",
                                      "args": {"instanceId": "i-1"}, "answeredBy": None,
                                      "calls": 2}
    assert data["coverage"]["uncovered"] == ["aws:ec2/eip:Eip"]

    sarif = json.loads(render(report(), "sarif"))
    results = {(r["ruleId"], r["level"]) for r in sarif["runs"][0]["results"]}
    assert results == {("preflight-remote-component", "warning"),
                       ("preflight-unanswered-data-source", "warning"),
                       ("preflight-uncovered-type", "warning")}
    rules = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    for result in sarif["runs"][0]["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]


# --- through the CLI -------------------------------------------------------------------------

def test_a_pack_in_another_virtualenv_runs_in_it(runner: Runner, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "__main__.py").write_text((PACK / "__main__.py").read_text().replace(
        "def crash_on_demand(args, report_violation):",
        "def crash_on_demand(args, report_violation):\n"
        "    if args.name == 'public-bucket':\n"
        "        import sys\n"
        "        report_violation(sys.prefix)\n"))
    (pack / "PulumiPolicy.yaml").write_text(
        "name: fixture-pack\nversion: 1.2.3\nruntime:\n  name: python\n  options:\n"
        "    virtualenv: env\n")
    venv.create(pack / "env", with_pip=False)
    site = next((pack / "env" / "lib").glob("python3.*/site-packages"))
    (site / "outer.pth").write_text(
        str(next(p for p in map(Path, sys.path) if p.name == "site-packages")) + "\n")
    proc = runner("dev", "--format", "json", pack=pack)
    data = json.loads(proc.stdout)
    prefixes = [v["message"] for v in data["violations"] if v["policy"] == "crash-on-demand"]
    assert prefixes == [str(pack / "env")]


def test_a_missing_virtualenv_is_reported_and_the_pack_runs_here(runner: Runner,
                                                                 tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(PACK, pack)
    (pack / "PulumiPolicy.yaml").write_text(
        "name: fixture-pack\nversion: 1.2.3\nruntime:\n  name: python\n  options:\n"
        "    virtualenv: venv\n")
    proc = runner("dev", "--format", "json", pack=pack)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["warnings"][0] == (
        f"the policy pack's virtualenv {pack / 'venv'} does not exist (the Pulumi CLI creates "
        f"it from {pack / 'requirements.txt'}): the pack ran with {sys.executable}")


def test_a_one_mebibyte_config_value_does_not_stop_the_pack(runner: Runner) -> None:
    stack = runner.project / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + f"  fixture:catalogue: {'x' * (1 << 20)}\n")
    proc = runner("dev", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["warnings"] == [
        "config fixture:catalogue (1024 KiB) does not fit in the policy pack's environment "
        "(one variable holds at most 128 KiB): the pack gets it through ConfigureStack only, "
        "so a pack that reads pulumi.Config from its environment does not see it"]


def test_an_invalid_invokes_file_stops_before_anything_runs(runner: Runner) -> None:
    (runner.project / "stacks" / "preflight.invokes.yaml").write_text("invokes: {}\n")
    proc = runner("dev")
    assert proc.returncode == 2
    assert proc.stderr == ("preflight: error: stacks/preflight.invokes.yaml: invokes: expected "
                           "a list of entries with token and result\n")
    assert runner.survivors() == []


@pytest.mark.parametrize("flag", ["--require-coverage", "--strict"])
def test_uncovered_types_fail_when_asked(runner: Runner, tmp_path: Path, flag: str) -> None:
    # Only bucket policies stay enabled: queues, databases and the provider are uncovered.
    (runner.project / "stacks" / "Pulumi.dev.policy.json").write_text(json.dumps({
        "all": "disabled", "bucket-encryption": "advisory"}))
    relaxed = runner("dev", "--format", "json")
    data = json.loads(relaxed.stdout)
    assert relaxed.returncode == 0
    assert data["coverage"]["uncovered"] == ["fixture:index:Database", "fixture:index:Queue",
                                             "pulumi:providers:fixture"]
    strict = runner("dev", flag)
    assert strict.returncode == 1
    assert "3 resource types uncovered" in strict.stdout.splitlines()[-1]


def test_a_program_that_fails_only_once_resolved_keeps_the_previews_verdict(
        runner: Runner) -> None:
    main = runner.project / "__main__.py"
    main.write_text(main.read_text() + (
        "\n# Fine at preview (the id is unknown, the callback never runs); breaks once known.\n"
        "queue.id.apply(lambda i: int(i))\n"))
    proc = runner("dev", "--format", "json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 1  # the preview's mandatory violation still stands
    line = len(main.read_text().splitlines())
    assert data["resolvedPass"]["status"] == (
        f"__main__.py:{line}: ValueError: invalid literal for int() with base 10: "
        "'events-5a93b39a'")
    assert [c["name"] for c in data["couldNotRun"]] == ["archive", "uploads"]
    assert data["resolvedPass"]["judged"] == []
    assert data["warnings"][-1].startswith("the resolved pass did not complete (")
    assert runner("dev", "--strict").returncode == 1


def test_a_resource_created_only_once_values_are_known_is_checked(runner: Runner) -> None:
    main = runner.project / "__main__.py"
    main.write_text(main.read_text() + (
        "\n# Created inside apply: never at a first preview, where the id is unknown.\n"
        "queue.id.apply(lambda i: Bucket('late-' + i, {'acl': 'public-read', "
        "'versioning': True, 'encrypted': True}))\n"))
    proc = runner("dev", "--format", "json")
    data = json.loads(proc.stdout)
    (late,) = data["resolvedPass"]["resourcesOnlyInResolvedPass"]
    assert late == "urn:pulumi:dev::fixture::fixture:index:Bucket::late-events-5a93b39a"
    assert [(v["policy"], v["name"], v["enforcementLevel"], v["resolvedOnly"])
            for v in data["violations"] if v["urn"] == late] == [
        ("no-public-buckets", "late-events-5a93b39a", "mandatory", True)]
    assert late in {r["urn"] for r in data["resources"]}
