"""Bad input never passes silently: hostile or broken stack files and policy configs, bad
paths, hangs and signals. Each ends with exit status 2 and one line per problem naming the
file and the key, before the program runs where it can be checked before."""

import gzip
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, PACK, ROOT, Runner

from preflight import cli
from preflight.policy_config import read_policy_config
from preflight.project import UsageError, load_project, load_stack_config

STACK = (FIXTURES / "project" / "stacks" / "Pulumi.dev.yaml").read_text()


@pytest.fixture
def runner(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.chdir(runner.project)  # messages name files as seen from the project
    return runner


def stack_problems(runner: Runner, text: str | bytes) -> list[str]:
    path = runner.project / "stacks" / "Pulumi.bad.yaml"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    with pytest.raises(UsageError) as err:
        load_stack_config(load_project(runner.project), "bad")
    return str(err.value).splitlines()


def bomb() -> str:
    lines = ["config:", "  fixture:a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  fixture:{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "expected"), [
    (STACK.replace("  fixture:enabled: yes\n", "  fixture:enabled: yes\n  fixture:enabled: no\n"),
     ["stacks/Pulumi.bad.yaml:9: fixture:enabled: duplicate key (first at line 8): keep one"]),
    ("config:\n  fixture:a: &x [1, *x]\n",
     ["stacks/Pulumi.bad.yaml:2: fixture:a[1]: an alias refers to a value that contains it: remove the self-reference"]),
    (bomb(),
     ["stacks/Pulumi.bad.yaml:7: fixture:f: aliases expand to more than 100000 values: write the values out or use fewer aliases"]),
    ("config:\n  fixture:deep: " + "[" * 5000 + "]" * 5000 + "\n",
     ["stacks/Pulumi.bad.yaml:2: values are nested more than 64 levels deep: flatten the structure"]),
    ("config:\n  fixture:owners: !!set {ops, sec}\n",
     ["stacks/Pulumi.bad.yaml:2: fixture:owners: the YAML tag !!set is not supported: write a plain map or list"]),
    ("config:\n  fixture:logo: !!binary aGVsbG8=\n",
     ["stacks/Pulumi.bad.yaml:2: fixture:logo: the YAML tag !!binary is not supported: write a plain string, number, true/false or null"]),
    ("config:\n  fixture:settings:\n    retention: .nan\n",
     ["stacks/Pulumi.bad.yaml:3: fixture:settings.retention: .nan is not a finite number: write a number (JSON has no NaN or infinity)"]),
    ("config:\n  fixture:settings:\n    retention: .inf\n",
     ["stacks/Pulumi.bad.yaml:3: fixture:settings.retention: .inf is not a finite number: write a number (JSON has no NaN or infinity)"]),
    ("confg:\n  fixture:mode: normal\n",
     ["stacks/Pulumi.bad.yaml:1: confg: unknown key (did you mean 'config'?); a stack file has config, environment, secretsprovider, encryptedkey, encryptionsalt"]),
    ("config:\n  fixture:mode: [normal\n  fixture:x: 1\n",
     ["stacks/Pulumi.bad.yaml:3:12: invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence)"]),
    ("config:\n  aws:accessKey: AKIAIOSFODNN7EXAMPLE\n  aws:secretKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
     ["stacks/Pulumi.bad.yaml:2: aws:accessKey: plaintext credential rejected: the value looks like an AWS access key id (not shown here); deploy with OIDC or an IAM role, or encrypt it with pulumi config set --secret aws:accessKey",
      "stacks/Pulumi.bad.yaml:3: aws:secretKey: plaintext credential rejected: the value looks like an AWS secret access key (not shown here); deploy with OIDC or an IAM role, or encrypt it with pulumi config set --secret aws:secretKey"]),
    ("config:\n  fixture:settings:\n    hooks: {deploy: 'https://ci:hunter2@example.com/x'}\n",
     ["stacks/Pulumi.bad.yaml:3: fixture:settings.hooks.deploy: plaintext credential rejected: the value looks like a URL with an embedded password (not shown here); deploy with OIDC or an IAM role, or encrypt it with pulumi config set --secret --path 'fixture:settings.hooks.deploy'"]),
    ("config:\n  fixture:apiToken: not-a-real-token\n",
     ["stacks/Pulumi.bad.yaml:2: fixture:apiToken: plaintext credential rejected: the name says it holds a secret (not shown here); deploy with OIDC or an IAM role, or encrypt it with pulumi config set --secret fixture:apiToken"]),
    ("config:\n  mode: crash\n  fixture:mode: normal\n",
     ["stacks/Pulumi.bad.yaml:3: fixture:mode: the same key as 'mode' (line 2): keep one"]),
    ("config:\n  a:b:c: 1\n",
     ["stacks/Pulumi.bad.yaml:2: a:b:c: not a config key: write <namespace>:<name>, e.g. fixture:c"]),
])
def test_stack_file_problems(runner: Runner, text: str, expected: list[str]) -> None:
    started = time.perf_counter()
    assert stack_problems(runner, text) == expected
    assert time.perf_counter() - started < 5  # no hang on bombs or deep nesting


@pytest.mark.parametrize(("data", "expected"), [
    (STACK.replace("ops", "öps").encode("latin-1"),
     "stacks/Pulumi.bad.yaml:7: byte 0xf6 is not UTF-8: save it as UTF-8 text"),
    (STACK.encode("utf-16"), "stacks/Pulumi.bad.yaml: is UTF-16 text: save it as UTF-8 text"),
    (gzip.compress(STACK.encode()),
     "stacks/Pulumi.bad.yaml: is gzip-compressed, not text: save it as UTF-8 text"),
])
def test_stack_file_that_is_not_utf8(runner: Runner, data: bytes, expected: str) -> None:
    assert stack_problems(runner, data) == [expected]


def test_credentials_never_reach_the_output(runner: Runner) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    path = runner.project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(STACK + f"  aws:secretKey: {secret}\n")
    proc = runner("dev", "--format", "json")
    assert proc.returncode == 2
    assert secret not in proc.stderr + proc.stdout
    assert proc.stderr.startswith("preflight: error: stacks/Pulumi.dev.yaml:12: aws:secretKey: "
                                  "plaintext credential rejected")


def policy_problems(tmp_path: Path, text: str | bytes) -> list[str]:
    path = tmp_path / "levels.json"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    with pytest.raises(UsageError) as err:
        read_policy_config(path)
    return [line.replace(str(tmp_path) + "/", "") for line in str(err.value).splitlines()]


@pytest.mark.parametrize(("text", "expected"), [
    ('{"all": "mandatory", "bucket-versioning": "advisory", "all": "disabled"}',
     ["levels.json: all: duplicate key (written 2 times; JSON keeps only the last): keep one"]),
    ('{"bucket-versioning": {"retention": NaN}}',
     ["levels.json: NaN is not a number JSON allows: write a number"]),
    ('{"bucket-versioning": "advisory",}',
     ["levels.json:1:34: invalid JSON: Expecting property name enclosed in double quotes"]),
    ("[" * 100000 + "]" * 100000,
     ["levels.json: values are nested too deeply: flatten the structure"]),
    ('["mandatory"]',
     ['levels.json: must be a JSON object of policy names (got ["mandatory"])']),
])
def test_policy_config_that_cannot_be_read(tmp_path: Path, text: str,
                                           expected: list[str]) -> None:
    assert policy_problems(tmp_path, text) == expected


@pytest.mark.parametrize(("data", "expected"), [
    ('{"bucket-versioning": "advisory", "x": "é"}'.encode("latin-1"),
     "levels.json:1: byte 0xe9 is not UTF-8: save it as UTF-8 text"),
    ('{"bucket-versioning": "advisory"}'.encode("utf-16"),
     "levels.json: is UTF-16 text: save it as UTF-8 text"),
    (gzip.compress(b'{"bucket-versioning": "advisory"}'),
     "levels.json: is gzip-compressed, not text: save it as UTF-8 text"),
])
def test_policy_config_that_is_not_utf8(tmp_path: Path, data: bytes, expected: str) -> None:
    assert policy_problems(tmp_path, data) == [expected]


def test_policy_config_against_the_pack_in_one_pass(runner: Runner) -> None:
    """Checked against the pack's own schemas as soon as it starts: every problem at once,
    and the program never registers anything."""
    (runner.project / "levels.json").write_text(json.dumps({
        "all": {"enforcementLevel": "advisory", "minAzCount": 3},
        "bucket-versionning": "mandatory",
        "crash-on-demand": ["mandatory"],
        "no-public-buckets": {"enforcementLevel": "fatal"},
    }))
    proc = runner("dev", "--policy-config", "levels.json",
                  env={"FIXTURE_PID_FILE": str(runner.project / "pids")})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "preflight: error: levels.json: bucket-versionning: unknown policy (did you mean 'bucket-versioning'?): the pack fixture-pack has no policy of that name",
        "preflight: error: levels.json: all.minAzCount: 'all' sets only enforcementLevel: put minAzCount under the policy it configures",
        'preflight: error: levels.json: crash-on-demand: must be an enforcement level (advisory, mandatory, remediate, disabled) or an object of settings (got ["mandatory"])',
        "preflight: error: levels.json: no-public-buckets.enforcementLevel: enforcement level must be one of advisory, mandatory, remediate, disabled (got 'fatal')",
    ]
    assert proc.stdout == ""
    assert runner.survivors() == []


def test_output_path_is_checked_before_anything_runs(runner: Runner) -> None:
    pids = runner.project / "pids"
    for output, problem in (("missing/report.json", "directory missing does not exist"),
                            ("stacks", "is a directory: name a file")):
        proc = runner("dev", "--output", output, env={"FIXTURE_PID_FILE": str(pids)})
        assert (proc.returncode, proc.stderr) == (
            2, f"preflight: error: {output}: {problem}\n")
    assert not pids.exists()  # the pack never started, the program never ran


def test_program_that_hangs_is_stopped(runner: Runner) -> None:
    started = time.monotonic()
    proc = runner(runner.stack("hang", "hang"), "--timeout", "3")
    assert proc.returncode == 2
    assert proc.stderr == ("preflight: error: the program did not finish within 3 s (raise "
                           "--timeout if it needs longer)\n")
    assert time.monotonic() - started < 20
    assert runner.survivors() == []


def test_pack_that_hangs_in_analyze_is_stopped(runner: Runner) -> None:
    proc = runner(runner.stack("pack-hang", "pack-hang"), "--pack-timeout", "3")
    assert proc.returncode == 2
    assert proc.stderr.startswith("preflight: error: policy pack did not answer within 3 s "
                                  "while analysing ")
    assert "hang-me" in proc.stderr
    assert proc.stderr.endswith("(raise --pack-timeout if it needs longer)\n")
    assert runner.survivors() == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_ends_the_run_within_a_second(runner: Runner, signum: int) -> None:
    import os

    pids = runner.project / "pids"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFLIGHT_TEST_MARKER": runner.marker,
           "FIXTURE_PID_FILE": str(pids)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "preflight", runner.stack("sig", "hang"), "--policy-pack",
         str(PACK)], cwd=runner.project, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # the program is inside its endless loop by now
    sent = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 1
    assert (proc.returncode, err, out) == (2, "preflight: interrupted\n", "")
    assert runner.survivors() == []


def test_an_internal_error_is_status_2(runner: Runner, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A fault of preflight itself is never mistaken for a verdict (1) or a pass (0)."""
    import preflight.report

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("report model out of step")

    monkeypatch.setattr(preflight.report, "build_report", broken)
    monkeypatch.chdir(runner.project)
    code = cli.main(["dev", "--policy-pack", str(PACK)])
    assert code == 2
    assert capsys.readouterr().err == ("preflight: internal error: RuntimeError: report model "
                                       "out of step (run with --traceback for details)\n")
