"""Several stacks in one invocation: merged reports, exit status, --all, a crashing stack.

Every merged document is checked against the single-stack runs of the same stacks: a stack's
section must be exactly what ``preflight <stack>`` alone reports."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import Runner, make_runner

from preflight.project import load_project

OK_POLICY = {"no-public-buckets": "advisory"}
"""The fixture's one mandatory finding made advisory: the stack passes."""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """dev fails (1 mandatory), ok passes, crash raises in the program, killed dies."""
    run = make_runner(tmp_path_factory.mktemp("batch"))
    run.stack("ok")
    (run.project / "stacks" / "Pulumi.ok.policy.json").write_text(json.dumps(OK_POLICY))
    run.stack("crash", "crash")
    run.stack("killed", "killed")
    main = run.project / "__main__.py"
    main.write_text(main.read_text().replace(
        'if mode == "log-error":',
        'if mode == "killed":\n    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n'
        'if mode == "log-error":'))
    return run


def normalised(report: dict) -> dict:
    """Resources in URN order: the program registers them concurrently, so their order
    differs from run to run, batch or not."""
    return {**report, "resources": sorted(report["resources"], key=lambda r: r["urn"])}


def demoted(markdown: str) -> list[str]:
    return [f"#{line}" if re.match(r"#{1,5} ", line) else line
            for line in markdown.split("\n")]


def test_markdown_has_one_summary_table_then_each_stack_exactly_as_alone(
        project: Runner) -> None:
    both = project("dev", "ok", "--format", "markdown", "--no-insights")
    dev = project("dev", "--format", "markdown", "--no-insights")
    ok = project("ok", "--format", "markdown", "--no-insights")
    assert (both.returncode, dev.returncode, ok.returncode) == (1, 1, 0)
    assert both.stdout.split("\n") == [
        "## ❌ Preflight: `fixture`, 2 stacks", "",
        "**FAILED: 2 stacks (1 passed, 1 failed): 1 mandatory, 3 advisory, 2 could not run, "
        "2 exempted across 24 resources**", "",
        "| Stack | Verdict | Mandatory | Advisory | Not seen / not expanded |",
        "|---|---|---:|---:|---|",
        "| `dev` | ❌ failed | 1 | 1 | 1 could not run |",
        "| `ok` | ✅ passed | 0 | 2 | 1 could not run |",
        "", *demoted(dev.stdout), *demoted(ok.stdout)]


def test_json_has_an_entry_per_stack_equal_to_its_own_report(project: Runner) -> None:
    both = project("dev", "ok", "--format", "json", "--no-insights")
    alone = {s: normalised(json.loads(project(s, "--format", "json", "--no-insights").stdout))
             for s in ("dev", "ok")}
    data = json.loads(both.stdout)
    assert both.returncode == 1
    assert data["project"] == "fixture"
    assert data["result"] == {
        "status": "failed", "exitCode": 1,
        "summary": "FAILED: 2 stacks (1 passed, 1 failed): 1 mandatory, 3 advisory, "
                   "2 could not run, 2 exempted across 24 resources"}
    assert list(data["stacks"]) == ["dev", "ok"]
    assert {s: normalised(r) for s, r in data["stacks"].items()} == alone


def test_text_has_a_section_per_stack_a_table_and_one_verdict(project: Runner) -> None:
    both = project("dev", "ok", "--no-insights")
    assert both.returncode == 1
    for stack in ("dev", "ok"):
        alone = project(stack, "--no-insights").stdout
        assert f"stack {stack} ──" in both.stdout
        assert alone in both.stdout
    assert [line.rstrip() for line in both.stdout.splitlines()[-6:]] == [
        "Stacks (2)",
        "stack  verdict  mandatory  advisory  not seen / not expanded",
        "dev    FAILED           1         1  1 could not run",
        "ok     PASSED           0         2  1 could not run",
        "",
        "FAILED: 2 stacks (1 passed, 1 failed): 1 mandatory, 3 advisory, 2 could not run, "
        "2 exempted across 24 resources"]


def test_passing_stacks_exit_0(project: Runner) -> None:
    result = project("ok", "ok", "--no-insights")
    assert result.returncode == 2
    assert result.stderr == "preflight: error: stack ok named twice: name each stack once\n"
    (project.project / "stacks" / "Pulumi.ok2.yaml").write_text(
        (project.project / "stacks" / "Pulumi.ok.yaml").read_text())
    (project.project / "stacks" / "Pulumi.ok2.policy.json").write_text(json.dumps(OK_POLICY))
    try:
        result = project("ok", "ok2", "--no-insights", "--format", "json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["result"]["status"] == "passed"
    finally:
        (project.project / "stacks" / "Pulumi.ok2.yaml").unlink()
        (project.project / "stacks" / "Pulumi.ok2.policy.json").unlink()


def test_a_crashing_stack_is_status_2_and_hides_nothing_of_the_others(project: Runner) -> None:
    result = project("ok", "crash", "killed", "dev", "--format", "json", "--no-insights")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    alone = normalised(json.loads(project("ok", "--format", "json", "--no-insights").stdout))
    assert normalised(data["stacks"]["ok"]) == alone
    assert data["stacks"]["dev"]["summary"]["mandatory"] == 1
    assert data["stacks"]["crash"] == {
        "schemaVersion": 1, "tool": alone["tool"], "stack": "crash",
        "stackFile": "stacks/Pulumi.crash.yaml", "result": {"status": "error", "exitCode": 2},
        "errors": ["preflight: error: crash (stacks/Pulumi.crash.yaml): __main__.py:14: "
                   "ZeroDivisionError: integer division or modulo by zero"]}
    assert data["stacks"]["killed"]["errors"] == [
        "preflight: error: killed (stacks/Pulumi.killed.yaml): the run ended without a "
        "report (killed by SIGKILL)"]
    assert data["result"]["status"] == "error"
    assert data["result"]["summary"] == (
        "ERROR: 4 stacks (1 passed, 1 failed, 2 error): 1 mandatory, 3 advisory, "
        "2 could not run, 2 exempted across 24 resources")
    # Every line a stack printed reaches stderr, naming the stack.
    assert "preflight: error: crash (stacks/Pulumi.crash.yaml): __main__.py:14: " \
           "ZeroDivisionError: integer division or modulo by zero\n" in result.stderr
    assert not project.survivors()


def test_sarif_has_one_run_per_stack(project: Runner) -> None:
    result = project("dev", "ok", "crash", "--format", "sarif", "--no-insights")
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    assert set(doc) == {"$schema", "version", "runs"}
    schema = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json")
                        .read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    runs = doc["runs"]
    assert [r["automationDetails"]["id"] for r in runs] == [
        "preflight/fixture/dev/", "preflight/fixture/ok/", "preflight/fixture/crash/"]
    for stack, run in zip(("dev", "ok"), runs[:2], strict=True):
        alone = json.loads(project(stack, "--format", "sarif", "--no-insights").stdout)
        assert alone["runs"] == [run]
        rules = run["tool"]["driver"]["rules"]
        for res in run["results"]:
            assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
            uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            # The fixture's resources come from its program, stack findings from the file.
            assert uri in (f"stacks/Pulumi.{stack}.yaml", "__main__.py")
    assert [r["level"] for r in runs[0]["results"] if r["ruleId"] == "no-public-buckets"
            and "suppressions" not in r] == ["error"]
    assert runs[2] == {
        "tool": {"driver": {"name": "preflight", "version": runs[0]["tool"]["driver"]["version"],
                            "rules": []}},
        "automationDetails": {"id": "preflight/fixture/crash/"},
        "invocations": [{"executionSuccessful": False, "exitCode": 2,
                         "toolExecutionNotifications": [{"level": "error", "message": {
                             "text": "preflight: error: crash (stacks/Pulumi.crash.yaml): "
                                     "__main__.py:14: ZeroDivisionError: integer division or "
                                     "modulo by zero"}}]}],
        "results": []}


def test_all_runs_every_stack_file_and_output_per_stack(project: Runner, tmp_path: Path) -> None:
    assert load_project(project.project).stacks() == ["crash", "dev", "killed", "ok"]
    # A preflight settings file beside a stack file is not a stack.
    (project.project / "stacks" / "Pulumi.ok.preflight.yaml").write_text("cost: {}\n")
    assert load_project(project.project).stacks() == ["crash", "dev", "killed", "ok"]
    out = tmp_path / "report-{stack}.md"
    result = project("--all", "--format", "markdown", "--no-insights", "--output", str(out))
    assert result.returncode == 2
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["report-crash.md", "report-dev.md", "report-killed.md", "report-ok.md"]
    dev = project("dev", "--format", "markdown", "--no-insights").stdout
    assert (tmp_path / "report-dev.md").read_text() == dev
    assert (tmp_path / "report-crash.md").read_text().startswith(
        "## 💥 Preflight: `crash` could not be checked\n")
    # The terminal gets the merged text.
    assert result.stdout.splitlines()[-1].startswith("ERROR: 4 stacks (1 passed, 1 failed, "
                                                     "2 error)")


@pytest.mark.parametrize(("argv", "message"), [
    ((), "name a stack, several stacks, or --all (not both)"),
    (("dev", "--all"), "name a stack, several stacks, or --all (not both)"),
])
def test_usage(project: Runner, argv: tuple[str, ...], message: str) -> None:
    result = project(*argv)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"preflight: error: {message}"


def test_a_diagram_per_stack_needs_the_stack_in_its_name(project: Runner) -> None:
    result = project("dev", "ok", "--diagram", "arch.svg")
    assert (result.returncode, result.stderr) == (
        2, "preflight: error: --diagram arch.svg: with several stacks, put {stack} in the "
           "file name (e.g. diagram-{stack}.svg)\n")


def test_several_reports_per_run_mix_merged_and_per_stack_files(project: Runner,
                                                                 tmp_path: Path) -> None:
    """The pull-request workflow's shape: Markdown per stack, merged SARIF and JUnit."""
    import xml.etree.ElementTree as ET

    result = project("dev", "ok", "crash", "--no-insights",
                     "--format", "markdown", "--output", str(tmp_path / "r-{stack}.md"),
                     "--format", "sarif", "--output", str(tmp_path / "all.sarif"),
                     "--format", "junit", "--output", str(tmp_path / "all.xml"))
    assert result.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "all.sarif", "all.xml", "r-crash.md", "r-dev.md", "r-ok.md"]
    assert (tmp_path / "r-dev.md").read_text() == project(
        "dev", "--format", "markdown", "--no-insights").stdout
    assert len(json.loads((tmp_path / "all.sarif").read_text())["runs"]) == 3
    root = ET.fromstring((tmp_path / "all.xml").read_text())
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "preflight fixture/dev", "preflight fixture/ok", "preflight fixture/crash"]
    # Each stack's suite is the one its own run writes; the totals add up.
    alone = ET.fromstring(project("ok", "--format", "junit", "--no-insights").stdout)
    (ok,) = alone.findall("testsuite")
    suites[1].tail = ok.tail = None
    assert ET.tostring(suites[1]) == ET.tostring(ok)
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key)) == sum(int(s.get(key)) for s in suites)
    assert int(suites[0].get("failures")) == 1  # dev's one mandatory violation
    (crash,) = suites[2].findall("testcase")
    assert (crash.get("classname"), crash.get("name")) == ("preflight",
                                                          "stacks/Pulumi.crash.yaml")
    assert crash.find("error").get("message") == (
        "preflight: error: crash (stacks/Pulumi.crash.yaml): __main__.py:14: "
        "ZeroDivisionError: integer division or modulo by zero")
    assert result.stdout.splitlines()[-1].startswith("ERROR: 3 stacks")


def test_reports_with_insights_come_back_from_each_stack(project: Runner) -> None:
    """The insights refer to the registered resources (their call stacks included): each
    stack's report still crosses back to the parent whole."""
    result = project("dev", "ok", "--format", "json")
    data = json.loads(result.stdout)
    assert result.returncode == 1, result.stderr
    assert [data["stacks"][s]["result"]["status"] for s in ("dev", "ok")] == ["failed",
                                                                             "passed"]
    assert all("azLoss" in data["stacks"][s] for s in ("dev", "ok"))
