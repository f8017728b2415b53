"""End-to-end: the CLI in a fresh process, the fixture program, the fixture pack."""

import json
import re

import jsonschema
import pytest
from conftest import CIPHERTEXT, FIXTURES, ROOT, Runner

from preflight.report import finding_id


def program_line(prefix: str) -> int:
    """The fixture program's line that starts with ``prefix``."""
    lines = (FIXTURES / "project" / "__main__.py").read_text().splitlines()
    return next(i for i, x in enumerate(lines, 1) if x.startswith(prefix))


PUBLIC_LINE = program_line('Bucket("public-bucket"')
SARIF_SCHEMA = json.loads((FIXTURES.parent / "schemas" / "sarif-schema-2.1.0.json").read_text())
NESTED_URN = ("urn:pulumi:dev::fixture::fixture:index:Outer$fixture:index:Inner"
              "$fixture:index:Bucket::app-inner-data")


@pytest.fixture(scope="module")
def outputs(module_runner: Runner) -> dict:
    """One run per report format over the default stack, kept for many assertions."""
    out = {}
    for fmt, name in (("json", "report.json"), ("markdown", "report.md"),
                      ("sarif", "report.sarif")):
        proc = module_runner("dev", "--format", fmt, "--output", name)
        out[fmt] = (proc, (module_runner.project / name).read_text())
    out["stdout-json"] = module_runner("dev", "--format", "json")
    return out


def test_json_report_sorts_violations_by_level_and_policy(outputs):
    proc, text = outputs["json"]
    assert proc.returncode == 1
    data = json.loads(text)
    assert [(v["policy"], v["enforcementLevel"], v["name"], v["message"])
            for v in data["violations"]] == [
        ("no-public-buckets", "mandatory", "public-bucket",
         "acl is public-read; use private and a CDN"),
        ("bucket-versioning", "advisory", "logs", "versioning is off"),
    ]
    assert data["violations"][0]["urn"] == (
        "urn:pulumi:dev::fixture::fixture:index:Bucket::public-bucket")
    assert data["violations"][0]["description"] == "Buckets must not be public."
    assert data["summary"] == {"resources": 12, "mandatory": 1, "advisory": 1,
                               "couldNotRun": 1, "exempted": 1, "notApplicable": 6,
                               "judgedInResolvedPass": 1, "remoteComponents": 0,
                               "unansweredDataSources": 0, "uncoveredTypes": 0}
    assert data["result"] == {"status": "failed", "exitCode": 1, "strict": False,
                              "requireCoverage": False}
    assert [v["resolvedOnly"] for v in data["violations"]] == [False, False]


def test_json_shape_is_the_documented_one(outputs):
    data = json.loads(outputs["json"][1])
    assert list(data) == ["schemaVersion", "tool", "project", "stack", "stackFile",
                          "policyPack", "result", "summary", "resourcesByType", "policies",
                          "violations", "exempted", "couldNotRun", "notApplicable",
                          "resources", "logs", "warnings", "resolvedPass", "remoteComponents",
                          "dataSources", "coverage", "azLoss", "cost", "diagram"]
    # The fixture pack has no AZ-loss simulation: the analysis says so instead of passing.
    assert data["azLoss"] == {"skipped": "the policy pack has no AZ-loss simulation "
                                         "(guardrails/az_loss.py)",
                              "zones": [], "rows": [], "notes": []}
    assert list(data["cost"]) == ["currency", "asOf", "source", "regions", "hoursPerMonth",
                                  "monthly", "monthlyMax", "assumptions", "byGroup", "lines",
                                  "freeResources", "unpriced", "notes", "budget", "base"]
    assert list(data["diagram"]) == ["mermaid", "nodes", "edges", "image", "notes"]
    assert data["schemaVersion"] == 1
    assert data["stackFile"] == "stacks/Pulumi.dev.yaml"
    assert data["policyPack"]["name"] == "fixture-pack"
    assert data["policyPack"]["version"] == "1.2.3"
    assert set(data["policies"][0]) == {"name", "description", "enforcementLevel",
                                        "defaultEnforcementLevel", "kind", "severity", "url",
                                        "remediationSteps", "tags", "framework"}
    assert json.loads(outputs["stdout-json"].stdout)["summary"] == data["summary"]


def test_not_applicable_is_counted_per_policy(outputs):
    data = json.loads(outputs["json"][1])
    # Stack, default provider, queue, database and both components are not buckets.
    assert data["notApplicable"] == [{"policy": "bucket-encryption", "resources": 6}]


def test_value_unknown_in_both_passes_is_listed_as_could_not_run(outputs):
    data = json.loads(outputs["json"][1])
    assert data["couldNotRun"] == [{
        "policy": "bucket-policy-known",
        "urn": "urn:pulumi:dev::fixture::fixture:index:Bucket::archive",
        "type": "fixture:index:Bucket", "name": "archive",
        "reason": "string value at .policy can't be known during preview",
        "id": finding_id("bucket-policy-known",
                         "urn:pulumi:dev::fixture::fixture:index:Bucket::archive"),
        "location": {"stackFile": None,
                     "program": {"path": "__main__.py", "line": program_line('Bucket("archive"')}}}]
    assert all(v["name"] not in ("uploads", "archive") for v in data["violations"])


def test_value_known_once_the_stack_exists_is_judged_in_the_resolved_pass(outputs):
    data = json.loads(outputs["json"][1])
    assert data["resolvedPass"] == {"status": "complete", "judged": [{
        "policy": "bucket-policy-known",
        "urn": "urn:pulumi:dev::fixture::fixture:index:Bucket::uploads",
        "type": "fixture:index:Bucket", "name": "uploads",
        "reason": "string value at .policy can't be known during preview",
        "outcome": "passed"}], "resourcesOnlyInResolvedPass": []}


def test_coverage_and_data_sources_are_reported(outputs):
    data = json.loads(outputs["json"][1])
    assert data["coverage"] == {"declared": True, "uncovered": [], "types": [
        {"type": "fixture:index:Bucket", "resources": 6, "policies": 8},
        {"type": "fixture:index:Database", "resources": 1, "policies": 7},
        {"type": "fixture:index:Queue", "resources": 1, "policies": 7},
        {"type": "pulumi:providers:fixture", "resources": 1, "policies": 7}]}
    assert data["dataSources"] == []
    assert data["remoteComponents"] == []


def test_exempted_findings_are_reported_not_counted(outputs):
    data = json.loads(outputs["json"][1])
    assert data["exempted"] == [{
        "policy": "no-public-buckets",
        "urn": "urn:pulumi:dev::fixture::fixture:index:Bucket::legacy-bucket",
        "type": "fixture:index:Bucket", "name": "legacy-bucket",
        "reason": "migrating off the public bucket by Q3",
        "id": finding_id("no-public-buckets",
                         "urn:pulumi:dev::fixture::fixture:index:Bucket::legacy-bucket"),
        "location": {"stackFile": {"path": "stacks/Pulumi.dev.yaml", "line": 10},
                     "program": {"path": "__main__.py",
                                 "line": program_line('Bucket("legacy-bucket"')}}}]


def test_engine_format_urns(outputs):
    data = json.loads(outputs["json"][1])
    urns = {r["name"]: r["urn"] for r in data["resources"]}
    assert urns["fixture-dev"] == "urn:pulumi:dev::fixture::pulumi:pulumi:Stack::fixture-dev"
    assert urns["public-bucket"] == "urn:pulumi:dev::fixture::fixture:index:Bucket::public-bucket"
    assert urns["app-inner"] == (
        "urn:pulumi:dev::fixture::fixture:index:Outer$fixture:index:Inner::app-inner")
    assert urns["app-inner-data"] == NESTED_URN
    parents = {r["name"]: r["parent"] for r in data["resources"]}
    assert parents["app-inner-data"] == urns["app-inner"]
    assert parents["public-bucket"] == urns["fixture-dev"]
    # The stack policy saw parents and dependencies: no finding for the parented bucket or
    # the queue the logs bucket depends on.
    assert not [v for v in data["violations"] if v["policy"] == "queue-has-consumers"]


def test_text_report_groups_by_policy(outputs):
    text = outputs["json"][0].stdout
    assert ("  [mandatory] no-public-buckets  Buckets must not be public.\n"
            "    fix: Set acl to private; serve reads through a CDN.\n"
            "    docs: https://example.com/policies#no-public-buckets\n"
            "    ✗ public-bucket (fixture:index:Bucket)  "
            f"__main__.py:{PUBLIC_LINE}\n") in text
    # The findings come before the resource table, the verdict last.
    assert text.index("Violations (2)") < text.index("Resources (12, 7 types)")
    assert "    ✗ public-bucket (fixture:index:Bucket)" in text
    assert "      urn:pulumi:dev::fixture::fixture:index:Bucket::public-bucket" in text
    assert ("  ? bucket-policy-known on archive (fixture:index:Bucket): string value at "
            ".policy can't be known during preview") in text
    assert ("  ✓ bucket-policy-known on uploads (fixture:index:Bucket): passed; unknown at "
            "preview: string value at .policy can't be known during preview") in text
    assert "Coverage: 4 resource types, each covered by at least one policy" in text
    assert ("  ~ no-public-buckets on legacy-bucket (fixture:index:Bucket): migrating off the "
            "public bucket by Q3") in text
    assert "Not applicable: bucket-encryption (6)" in text
    assert text.rstrip().endswith(
        "FAILED: 1 mandatory, 1 advisory, 1 could not run, 1 exempted, 1 judged only in the "
        "resolved pass across 12 resources")
    assert re.search(r"fixture:index:Bucket\s+6\s+8\n", text)
    assert re.search(r"fixture:index:Outer\s+1\s+-\n", text)


def test_markdown_report(outputs):
    proc, md = outputs["markdown"]
    assert proc.returncode == 1
    assert md.startswith("## ❌ Preflight: `fixture` / `dev`\n")
    # Violations first, each policy with its fix and docs link, then the rest.
    assert md.index("### Violations (2)") < md.index("### Could not run") \
        < md.index("<summary>Resources by type")
    assert ("#### 🛑 mandatory: `no-public-buckets`: Buckets must not be public.\n\n"
            "**Fix:** Set acl to private; serve reads through a CDN. "
            "([docs](https://example.com/policies#no-public-buckets))\n\n"
            "| Resource | Message |\n|---|---|\n"
            "| `public-bucket` <br><sub>fixture:index:Bucket · `__main__.py:"
            f"{PUBLIC_LINE}`</sub> | acl is public-read; use "
            "private and a CDN |\n") in md
    assert ("#### ⚠️ advisory: `bucket-versioning`: Buckets keep versions.\n\n"
            "| Resource | Message |") in md
    assert "### Could not run (value unknown offline)" in md
    assert "<details><summary>Judged only in the resolved pass (1)</summary>" in md
    assert ("| `bucket-policy-known` | `uploads` | passed | string value at .policy can't be "
            "known during preview |") in md
    assert "| `fixture:index:Bucket` | 6 | 8 |" in md
    assert "<details><summary>Exempted findings (1)</summary>" in md
    assert "| `fixture:index:Bucket` | 6 |" in md


def test_sarif_report_is_structurally_valid(outputs):
    proc, text = outputs["sarif"]
    assert proc.returncode == 1
    sarif = json.loads(text)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "preflight"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == ["no-public-buckets", "bucket-versioning", "bucket-policy-known",
                   "bucket-encryption", "crash-on-demand", "database-password",
                   "provider-and-options", "queue-has-consumers",
                   "preflight-remote-component", "preflight-unanswered-data-source",
                   "preflight-uncovered-type", "preflight-monthly-budget"]
    for rule in driver["rules"]:
        assert rule["help"]["text"] and rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note", "none")
    levels = {(r["ruleId"], r["level"]) for r in run["results"]}
    assert ("no-public-buckets", "error") in levels
    assert ("bucket-versioning", "warning") in levels
    assert ("bucket-policy-known", "note") in levels
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    stack_lines = (FIXTURES / "project" / "stacks" / "Pulumi.dev.yaml").read_text().splitlines()
    places = {}
    for result in run["results"]:
        assert result["message"]["text"]
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        (loc,) = result["locations"]
        phys = loc["physicalLocation"]
        places[(result["ruleId"], result["properties"]["urn"].rsplit("::", 1)[-1])] = (
            phys["artifactLocation"]["uri"], phys["region"]["startLine"])
        assert loc["logicalLocations"][0]["fullyQualifiedName"].startswith("urn:pulumi:dev::")
        if result["properties"]["urn"].endswith("::legacy-bucket"):
            assert result["suppressions"] == [{
                "kind": "external", "justification": "migrating off the public bucket by Q3"}]
    assert places == {
        ("no-public-buckets", "public-bucket"):
            ("__main__.py", program_line('Bucket("public-bucket"')),
        ("bucket-versioning", "logs"): ("__main__.py", program_line('Bucket("logs"')),
        ("bucket-policy-known", "archive"): ("__main__.py", program_line('Bucket("archive"')),
        # the stack-file key the program read the exemption from
        ("no-public-buckets", "legacy-bucket"):
            ("stacks/Pulumi.dev.yaml", stack_lines.index("  legacy-bucket:") + 1),
    }


def test_secret_is_never_decrypted_or_printed(outputs):
    for key in ("json", "markdown", "sarif"):
        proc, text = outputs[key]
        for blob in (proc.stdout, proc.stderr, text):
            assert CIPHERTEXT not in blob
            assert "[secret]" not in blob


def test_policy_config_file_changes_enforcement(runner: Runner):
    (runner.project / "levels.json").write_text(json.dumps({
        "all": "advisory",
        "bucket-versioning": {"enforcementLevel": "mandatory"},
        "bucket-policy-known": "disabled"}))
    proc = runner("dev", "--format", "json", "--policy-config", "levels.json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [(v["policy"], v["enforcementLevel"]) for v in data["violations"]] == [
        ("bucket-versioning", "mandatory"), ("no-public-buckets", "advisory")]
    assert data["couldNotRun"] == []
    levels = {p["name"]: (p["enforcementLevel"], p["defaultEnforcementLevel"])
              for p in data["policies"]}
    assert levels["no-public-buckets"] == ("advisory", "mandatory")
    assert levels["bucket-policy-known"] == ("disabled", "mandatory")


def test_stack_policy_config_is_found_by_default_and_strict_fails_on_unknowns(runner: Runner):
    # Only the unknown value is left: clean without --strict, failing with it.
    (runner.project / "stacks" / "Pulumi.dev.policy.json").write_text(json.dumps({
        "no-public-buckets": "disabled", "bucket-versioning": "disabled"}))
    relaxed = runner("dev", "--format", "json")
    assert relaxed.returncode == 0, relaxed.stderr
    assert json.loads(relaxed.stdout)["summary"]["couldNotRun"] == 1
    strict = runner("dev", "--strict")
    assert strict.returncode == 1
    assert "FAILED (strict): 0 mandatory, 0 advisory, 1 could not run" in strict.stdout


def test_clean_run_exits_zero(runner: Runner):
    (runner.project / "stacks" / "Pulumi.dev.policy.json").write_text(json.dumps({
        "no-public-buckets": "disabled", "bucket-versioning": "disabled",
        "bucket-policy-known": "disabled"}))
    proc = runner("dev", "--strict")
    assert proc.returncode == 0, proc.stderr
    assert "PASSED (strict): 0 mandatory, 0 advisory, 0 could not run, 0 exempted" in proc.stdout


def test_advisory_fails_only_with_strict(runner: Runner):
    (runner.project / "stacks" / "Pulumi.dev.policy.json").write_text(json.dumps({
        "no-public-buckets": "disabled", "bucket-policy-known": "disabled"}))
    assert runner("dev").returncode == 0
    assert runner("dev", "--strict").returncode == 1


def test_program_crash_names_program_frame_without_traceback(runner: Runner):
    stack = runner.stack("boom", "crash")
    proc = runner(stack)
    assert proc.returncode == 2
    lines = (runner.project / "__main__.py").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "// 0" in text)
    assert proc.stderr == (f"preflight: error: __main__.py:{line}: ZeroDivisionError: "
                           "integer division or modulo by zero\n")
    assert proc.stdout == ""
    assert runner.survivors() == []
    full = runner(stack, "--traceback")
    assert full.returncode == 2
    assert "Traceback (most recent call last)" in full.stderr
    assert f'__main__.py", line {line}, in service_size' in full.stderr


def test_config_error_shows_message_only(runner: Runner):
    proc = runner(runner.stack("bad", "config-error"))
    assert proc.returncode == 2
    assert proc.stderr == "preflight: error: fixture:size must be between 1 and 5 (got 9)\n"


def test_program_logged_error_fails(runner: Runner):
    proc = runner(runner.stack("logs", "log-error"))
    assert proc.returncode == 2
    assert proc.stderr == ("preflight: error: the program logged an error: the program found "
                           "something it cannot build\n")


def test_pack_crash_mid_run(runner: Runner):
    proc = runner(runner.stack("crash", "pack-crash"),
                  env={"FIXTURE_PID_FILE": str(runner.project / "pids")})
    assert proc.returncode == 2
    assert proc.stderr.startswith("preflight: error: policy pack crashed (exit status 3) "
                                  "while analysing ")
    assert "crash-me" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert runner.survivors() == []


def test_pack_that_fails_to_start(runner: Runner, tmp_path):
    pack = tmp_path / "broken"
    pack.mkdir()
    (pack / "__main__.py").write_text("raise RuntimeError('pack import failed')\n")
    proc = runner("dev", pack=pack)
    assert proc.returncode == 2
    assert proc.stderr == (f"preflight: error: policy pack {pack} failed to start "
                           "(exit status 1): RuntimeError: pack import failed\n")
    assert runner.survivors() == []


def test_no_process_survives_a_normal_run(runner: Runner):
    proc = runner("dev", env={"FIXTURE_PID_FILE": str(runner.project / "pids")})
    assert proc.returncode == 1
    pids = [int(p) for p in (runner.project / "pids").read_text().split()]
    assert len(pids) == 2  # the pack and the grandchild it started
    assert runner.survivors() == []


def test_missing_stack_file(runner: Runner):
    proc = runner("prod")
    assert proc.returncode == 2
    assert proc.stderr == ("preflight: error: stack file not found: stacks/Pulumi.prod.yaml "
                           "(stacks: dev)\n")


def test_without_a_project_pack_the_installed_pack_runs_and_is_named(runner: Runner):
    proc = runner("dev", pack=None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (f"preflight: policy pack: {ROOT / 'policies'} (installed with "
                           "preflight; --policy-pack DIR for another)\n")


def test_missing_policy_pack(tmp_path, monkeypatch):
    from preflight import project

    monkeypatch.setattr(project, "installed_pack", lambda: None)
    with pytest.raises(project.UsageError) as caught:
        project.default_pack_dir(tmp_path)
    assert str(caught.value) == (f"no policy pack: pass --policy-pack DIR "
                                 f"({tmp_path / 'policies'} does not exist)")


def test_invalid_policy_config_level(runner: Runner):
    (runner.project / "levels.json").write_text('{"bucket-versioning": "fatal"}')
    proc = runner("dev", "--policy-config", "levels.json")
    assert proc.returncode == 2
    assert proc.stderr == ("preflight: error: levels.json: bucket-versioning: enforcement "
                           "level must be one of advisory, mandatory, remediate, disabled "
                           "(got 'fatal')\n")
