"""pulumi-policy's own integration tests (``tests/integration`` in github.com/pulumi/pulumi-policy,
``integration_test.go``), their Python packs run through preflight: each scenario gets the
verdict the upstream test expects. The programs and packs are in ``upstream/`` (see its
README for how they differ from upstream's)."""

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
UPSTREAM = Path(__file__).parent / "upstream"
STACK_ROOT = "pulumi:pulumi:Stack"

pytestmark = pytest.mark.slow


def run(tmp: Path, case: str, scenario: int | None = None, *args: str,
        config: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """preflight over a copy of ``upstream/<case>`` for stack ``s<scenario>``."""
    project = tmp / case
    if not project.exists():
        shutil.copytree(UPSTREAM / case, project, ignore=shutil.ignore_patterns("pack"))
        shutil.copy(UPSTREAM / "resource.py", project)
    stack = f"s{scenario or 0}"
    values = {**({"scenario": str(scenario)} if scenario is not None else {}), **(config or {})}
    (project / f"Pulumi.{stack}.yaml").write_text(
        "config:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in values.items())
        if values else "config: {}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PULUMI_TEST_PROJECT": case,
           "PULUMI_TEST_STACK": stack}
    env.pop("PULUMI_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", "preflight", stack, "--policy-pack",
                           str(UPSTREAM / case / "pack"), "--format", "json", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=180)
    data = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {"stderr": proc.stderr}
    return proc.returncode, data, proc.stderr


def violations(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(policy, level, resource name or "" for the stack, message)."""
    return sorted((v["policy"], v["enforcementLevel"], v["name"], v["message"])
                  for v in data["violations"])


# --- TestValidateResource ----------------------------------------------------------------

DYNAMIC = "'state' must not have the value"


@pytest.mark.parametrize(("scenario", "expected"), [
    (1, []),
    (2, []),
    (3, [("dynamic-no-state-with-value-1", "mandatory", "a", f"{DYNAMIC} 1.")]),
    (4, [("dynamic-no-state-with-value-2", "mandatory", "b", f"{DYNAMIC} 2.")]),
    (5, [("dynamic-no-state-with-value-3-or-4", "mandatory", "c", f"{DYNAMIC} 3.")]),
    (6, [("dynamic-no-state-with-value-3-or-4", "mandatory", "d", f"{DYNAMIC} 4.")]),
    (7, [("randomuuid-no-keepers", "mandatory", "r1",
          "RandomUuid must not have an empty 'keepers'.")]),
    (8, []),
    # The policy names a URN of its own; the engine attributes the finding to resource e.
    (9, [("dynamic-no-state-with-value-5", "mandatory", "e", f"{DYNAMIC} 5.")]),
    (10, []),
    (11, []),  # a 5 MiB property: larger than gRPC's default message limit
])
def test_validate_resource(tmp_path: Path, scenario: int, expected: list[Any]) -> None:
    code, data, err = run(tmp_path, "validate_resource", scenario)
    assert (code, violations(data)) == (1 if expected else 0, expected), err
    assert data["couldNotRun"] == []


# --- TestValidatePythonResource (upstream's own Python program) -------------------------

@pytest.mark.parametrize(("scenario", "expected"), [
    (1, [("randomuuid-no-keepers", "mandatory", "r1",
          "RandomUuid must not have an empty 'keepers'.")]),
    (2, [("randomuuid-no-keepers", "mandatory", "r2",
          "RandomUuid must not have an empty 'keepers'.")]),
    (3, []),
])
def test_validate_python_resource(tmp_path: Path, scenario: int, expected: list[Any]) -> None:
    code, data, err = run(tmp_path, "validate_python_resource", scenario)
    assert (code, violations(data)) == (1 if expected else 0, expected), err


# --- TestValidateStack -------------------------------------------------------------------

@pytest.mark.parametrize(("scenario", "expected"), [
    (1, []),
    (2, []),
    (3, [("dynamic-no-state-with-value-1", "mandatory", "", f"{DYNAMIC} 1.")]),
    (4, [("dynamic-no-state-with-value-2", "mandatory", "", f"{DYNAMIC} 2.")]),
    (5, [("dynamic-no-state-with-value-3", "mandatory", "c", f"{DYNAMIC} 3.")]),
    (6, [("randomuuid-no-keepers", "mandatory", "",
          "RandomUuid must not have an empty 'keepers'.")]),
    (7, [("no-randomstrings", "mandatory", "", "RandomString resources are not allowed.")]),
    (8, []),
    (9, []),
    # A stack policy at "remediate" is treated as mandatory.
    (10, [("dynamic-no-foo-with-value-bar", "mandatory", "",
           "'foo' must not have the value 'bar'.")]),
])
def test_validate_stack(tmp_path: Path, scenario: int, expected: list[Any]) -> None:
    code, data, err = run(tmp_path, "validate_stack", scenario)
    assert (code, violations(data)) == (1 if expected else 0, expected), err


# --- TestEnforcementLevel ----------------------------------------------------------------

# scenario -> the level both policies report at, or None when they must not run at all
LEVELS = {1: "advisory", 2: None, 3: "mandatory", 4: "advisory",
          5: "advisory", 6: None, 7: "mandatory", 8: None,
          9: "advisory", 10: None, 11: "mandatory", 12: "mandatory",
          13: "advisory", 14: None, 15: "mandatory", 16: "advisory"}


@pytest.mark.parametrize("scenario", sorted(LEVELS))
def test_enforcement_level(tmp_path: Path, scenario: int) -> None:
    code, data, err = run(tmp_path, "enforcementlevel", scenario)
    level = LEVELS[scenario]
    resource = ("validate-resource", level, "validate-resource-violation-message")
    stack = ("validate-stack", level, "validate-stack-violation-message")
    # validate-resource reports on every resource the engine analyses: the stack, the default
    # random provider and the string.
    expected = sorted([(resource[0], level, rtype, resource[2]) for rtype in (
        STACK_ROOT, "pulumi:providers:random", "random:index/randomString:RandomString")]
        + [(stack[0], level, "", stack[2])]) if level else []
    found = sorted((v["policy"], v["enforcementLevel"], v["type"], v["message"])
                   for v in data.get("violations", []))
    assert (code, found) == (1 if level == "mandatory" else 0, expected), err
    pack_level = ["advisory", "disabled", "mandatory", "none"][(scenario - 1) // 4]
    policy_level = ["-advisory", "-disabled", "-mandatory", ""][(scenario - 1) % 4]
    assert data["policyPack"]["name"] == f"enforcementlevel-{pack_level}{policy_level}-test-policy"


# --- TestUnknownValues -------------------------------------------------------------------

CANT_KNOW = "string value at .prefix can't be known during preview"


def test_unknown_values(tmp_path: Path) -> None:
    code, data, err = run(tmp_path, "unknown_values", config={"aws:region": "us-west-2"})
    assert code == 0, err  # advisory: "can't run policy", never a pass and never a failure
    assert violations(data) == []
    assert [(c["policy"], c["name"], c["reason"]) for c in data["couldNotRun"]] == [
        ("unknown-values-resource-validation", "pet", CANT_KNOW),
        ("unknown-values-stack-validation", "", CANT_KNOW)]
    # A random string's result is unknown in the resolved pass too: nothing was judged there.
    assert data["resolvedPass"]["judged"] == []
    assert data["summary"]["couldNotRun"] == 2
    strict, _, _ = run(tmp_path, "unknown_values", None, "--strict",
                       config={"aws:region": "us-west-2"})
    assert strict == 1


# --- TestRuntimeData ---------------------------------------------------------------------

def test_runtime_data(tmp_path: Path) -> None:
    code, data, err = run(tmp_path, "runtime_data",
                          config={"aConfigValue": "this value is a value",
                                  "aws:region": "us-west-2"})
    # Any assertion the pack makes about project, stack, dry run or config would fail the run.
    assert (code, violations(data), data["couldNotRun"]) == (0, [], []), err


# --- TestRemoteComponent -----------------------------------------------------------------

def test_remote_component_is_reported_not_expanded(tmp_path: Path) -> None:
    """Upstream expects "can't run policy" on innerRandom, a child the component's provider
    creates. Offline the provider never runs, so that child never exists: preflight reports
    the component as not expanded instead of passing it, and --strict fails on it."""
    code, data, err = run(tmp_path, "remote_component")
    assert code == 0, err
    assert data["remoteComponents"] == [{
        "urn": "urn:pulumi:s0::remote_component::testcomponent:index:Component::component",
        "type": "testcomponent:index:Component", "name": "component", "alternative": ""}]
    assert data["summary"]["remoteComponents"] == 1
    strict, data, _ = run(tmp_path, "remote_component", None, "--strict")
    assert (strict, data["result"]["status"]) == (1, "failed")


# --- TestConfig --------------------------------------------------------------------------

# scenario -> the value of foo in the --policy-pack-config file, if there is one
CONFIG_FILES: dict[int, Any] = {1: "bar", 4: "overridden", 16: 42, 17: 3.14, 18: 42, 19: True,
                                20: False, 21: {"bar": "baz"}, 22: ["a", "b", "c"], 23: None,
                                25: "overridden"}


@pytest.mark.parametrize("scenario", [1, 2, 3, 4, 5, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
def test_config_reaches_the_policies(tmp_path: Path, scenario: int) -> None:
    args: list[str] = []
    if scenario in CONFIG_FILES:
        policy_config = tmp_path / "policy-config.json"
        policy_config.write_text(json.dumps({
            name: {"foo": CONFIG_FILES[scenario]}
            for name in ("resource-validation", "stack-validation")}))
        args = ["--policy-config", str(policy_config)]
    code, data, err = run(tmp_path, "config", scenario, *args)
    # Each policy asserts the exact value (and type) it was given: a wrong one fails the run.
    assert (code, violations(data), data["couldNotRun"]) == (0, [], []), err


def test_a_required_config_property_left_unset_stops_the_run(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "config", 6)
    assert code == 2
    assert err == ("preflight: error: invalid policy config: policy 'resource-validation' "
                   "needs config property 'foo'; policy 'stack-validation' needs config "
                   "property 'foo'\n")


# --- TestResourceOptions, TestParentDependencies -----------------------------------------

@pytest.mark.parametrize("case", ["resource_options", "parent_dependencies"])
def test_options_parents_and_dependencies_reach_the_pack(tmp_path: Path, case: str) -> None:
    # The packs assert every resource's options, parent and dependencies: a wrong one fails
    # the analysis (exit 2).
    code, data, err = run(tmp_path, case)
    assert (code, violations(data), data["couldNotRun"]) == (0, [], []), err
