"""The command line's reports: several formats from one run, JUnit XML, quiet mode, help,
version, shell completion and the progress display."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT, Runner

from preflight.report import finding_id

PUBLIC = "urn:pulumi:dev::fixture::fixture:index:Bucket::public-bucket"


@pytest.fixture(scope="module")
def several(module_runner: Runner) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    proc = module_runner("dev", "--format", "markdown", "--output", "a.md",
                         "--format", "sarif", "--output", "a.sarif",
                         "--format", "junit", "--output", "a.xml",
                         "--format", "json", "--output", "a.json")
    files = {n: (module_runner.project / n).read_text() for n in ("a.md", "a.sarif", "a.xml",
                                                                   "a.json")}
    return proc, files


def test_one_run_writes_every_format_it_is_given(several):
    proc, files = several
    assert proc.returncode == 1, proc.stderr
    assert files["a.md"].startswith("## ❌ Preflight: `fixture` / `dev`\n")
    assert json.loads(files["a.sarif"])["version"] == "2.1.0"
    assert json.loads(files["a.json"])["summary"]["mandatory"] == 1
    assert ET.fromstring(files["a.xml"]).tag == "testsuites"
    # The terminal gets the text summary, as with one --output.
    assert proc.stdout.rstrip().splitlines()[-1].startswith("FAILED: 1 mandatory")


@pytest.mark.parametrize("args, message", [
    (["--format", "markdown", "--format", "sarif", "--output", "a.md"],
     "--format is given 2 times and --output 1 times"),
    (["--format", "json", "--format", "sarif"], "--format is given 2 times and --output 0 times"),
    (["--output", "a.md", "--output", "b.md"], "--format is given 2 times and --output 2"),
])
def test_format_and_output_counts_must_pair(runner: Runner, args, message):
    proc = runner("dev", *args)
    if "b.md" in args:  # two outputs, no format: text twice, which is allowed
        assert proc.returncode == 1, proc.stderr
        return
    assert proc.returncode == 2
    assert proc.stderr == (f"preflight: error: {message}: give each --format its --output, in "
                           "the same order (--format markdown --output a.md --format sarif "
                           "--output a.sarif)\n")
    assert proc.stdout == ""


def test_the_same_output_twice_is_refused(runner: Runner):
    proc = runner("dev", "--format", "json", "--output", "a", "--format", "sarif",
                  "--output", "./a")
    assert proc.returncode == 2
    assert proc.stderr == "preflight: error: --output ./a is given twice: one file per report\n"


def test_junit_report_follows_the_exit_status(several):
    _, files = several
    root = ET.fromstring(files["a.xml"])
    assert (root.tag, root.attrib) == ("testsuites", {
        "name": "preflight", "tests": "9", "failures": "1", "errors": "0", "skipped": "2"})
    (suite,) = root
    assert suite.attrib == {"name": "preflight fixture/dev", "tests": "9", "failures": "1",
                            "errors": "0", "skipped": "2"}
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props == {
        "stackFile": "stacks/Pulumi.dev.yaml", "policyPack": "fixture-pack@1.2.3",
        "strict": "false",
        "verdict": "FAILED: 1 mandatory, 1 advisory, 1 could not run, 1 exempted, 1 judged "
                   "only in the resolved pass across 12 resources"}
    cases = [(c.get("classname"), c.get("name"), [(x.tag, x.get("type"), x.get("message"))
                                                  for x in c])
             for c in suite.iter("testcase")]
    assert cases == [
        ("no-public-buckets", "public-bucket (fixture:index:Bucket)",
         [("failure", "mandatory", "acl is public-read; use private and a CDN")]),
        ("bucket-versioning", "logs (fixture:index:Bucket)", [("system-out", None, None)]),
        ("bucket-policy-known", "archive (fixture:index:Bucket)",
         [("skipped", "could-not-run",
           "could not run: string value at .policy can't be known during preview")]),
        ("no-public-buckets", "legacy-bucket (fixture:index:Bucket)",
         [("skipped", "exempted", "exempted: migrating off the public bucket by Q3")]),
        ("bucket-encryption", "(no violations)", []),
        ("crash-on-demand", "(no violations)", []),
        ("database-password", "(no violations)", []),
        ("provider-and-options", "(no violations)", []),
        ("queue-has-consumers", "(no violations)", []),
    ]
    failure = suite.find("testcase/failure")
    assert failure.text.splitlines() == [
        "acl is public-read; use private and a CDN", f"resource: {PUBLIC}",
        "at: __main__.py:25", "fix: Set acl to private; serve reads through a CDN.",
        "docs: https://example.com/policies#no-public-buckets"]
    assert suite.find("testcase/system-out").text.startswith(
        "advisory violation: versioning is off\n")


def test_junit_strict_turns_what_was_not_judged_into_errors(runner: Runner):
    proc = runner("dev", "--strict", "--format", "junit", "--output", "s.xml")
    assert proc.returncode == 1
    suite = ET.fromstring((runner.project / "s.xml").read_text())[0]
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("2", "1", "1")
    assert [x.tag for x in suite.find("testcase[@classname='bucket-policy-known']")] == ["error"]


def test_json_ids_are_policy_and_urn(several):
    _, files = several
    data = json.loads(files["a.json"])
    assert data["violations"][0]["id"] == finding_id("no-public-buckets", PUBLIC)


def test_quiet_prints_violations_what_was_not_checked_and_the_verdict(runner: Runner):
    proc = runner("dev", "--quiet")
    assert proc.returncode == 1
    assert proc.stdout == (
        "Violations (2)\n"
        "  [mandatory] no-public-buckets  Buckets must not be public.\n"
        "    fix: Set acl to private; serve reads through a CDN.\n"
        "    docs: https://example.com/policies#no-public-buckets\n"
        "    ✗ public-bucket (fixture:index:Bucket)  __main__.py:25\n"
        "      acl is public-read; use private and a CDN\n"
        "  [advisory] bucket-versioning  Buckets keep versions.\n"
        "    ✗ logs (fixture:index:Bucket)  __main__.py:26\n"
        "      versioning is off\n"
        "\n"
        "Could not run: a value it reads is unknown offline (1)\n"
        "  ? bucket-policy-known on archive (fixture:index:Bucket): string value at .policy "
        "can't be known during preview\n"
        "FAILED: 1 mandatory, 1 advisory, 1 could not run, 1 exempted, 1 judged only in the "
        "resolved pass across 12 resources\n")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "preflight", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_help_has_examples_and_exit_codes():
    proc = cli("--help")
    assert proc.returncode == 0
    assert "--format markdown --output prod.md --format sarif --output prod.sarif" in proc.stdout
    assert re.search(r"^exit status:\n  0  no mandatory violations", proc.stdout, re.M)
    assert "\n  1  mandatory violations; with --strict also advisory" in proc.stdout
    assert "\n  2  anything else: bad usage" in proc.stdout


def test_version_comes_from_the_installed_distribution():
    from importlib.metadata import version

    proc = cli("--version")
    assert (proc.returncode, proc.stdout) == (0, f"preflight {version('microservices-platform')}\n")


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion_names_the_options(shell: str):
    proc = cli("--print-completion", shell)
    assert proc.returncode == 0, proc.stderr
    for option in ("--format", "--output", "--quiet", "--strict", "--policy-pack",
                   "--require-coverage", "--version"):
        assert option in proc.stdout
    for fmt in ("text", "json", "markdown", "sarif", "junit"):
        assert fmt in proc.stdout
    if shell == "bash":
        assert proc.stdout.rstrip().endswith("complete -o bashdefault -F _shtab_preflight preflight")


def test_progress_counts_analysed_resources_on_a_terminal_only(runner: Runner):
    # Without a terminal: nothing on stderr.
    plain = runner("dev", "--format", "json", "--output", "r.json")
    assert plain.stderr == ""
    # On a terminal: the count of analysed resources moves (it stayed 0 before).
    primary, secondary = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PULUMI_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "preflight", "dev", "--policy-pack",
                             str(ROOT / "tests" / "preflight" / "fixtures" / "pack"),
                             "--format", "json", "--output", "r.json"],
                            cwd=runner.project, env=env, stdout=subprocess.DEVNULL,
                            stderr=secondary)
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(60) == 1
    counts = [int(n) for n in re.findall(rb"(\d+) analysed", out)]
    assert counts and max(counts) == 13, out[-400:]
    assert b"12 resources registered" in out
