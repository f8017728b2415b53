"""The pack as the CLI runs it (``python <pack dir> <engine address>``), its metadata files,
both import styles, and the generated reference staying in sync."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import grpc
import pytest
import yaml
from analyzer_client import Engine, stack_config

import components
from policies import docs
from policies.guardrails import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"


def test_pulumipolicy_yaml_is_what_the_cli_expects() -> None:
    meta = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert meta["name"] == "microservices-platform"
    assert meta["version"] == components.__version__
    assert meta["runtime"] == {"name": "python", "options": {"virtualenv": "../.venv"}}


def test_requirements_match_the_policies_extra() -> None:
    # The published pack installs requirements.txt on its own: the `policies` extra plus
    # this distribution, pinned to the pack's version, for components.validation.
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["policies"]
    lines = [line.strip() for line in (PACK / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == [*extra, f"microservices-platform=={components.__version__}"]


def test_main_only_assembles_the_pack() -> None:
    source = (PACK / "__main__.py").read_text()
    assert re.findall(r"^from (\S+) import", source, re.M) == ["guardrails", "pulumi_policy"]
    assert "def " not in source


def test_sub_package_imports_as_the_cli_does() -> None:
    # sys.path[0] is the pack directory; components comes from the shared virtualenv.
    code = "import guardrails, sys; print(len(guardrails.REGISTRY), 'policies' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=PACK, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == [str(len(REGISTRY)), "False"]


@pytest.fixture(scope="module")
def served_pack():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(PACK), "127.0.0.1:1"], cwd=ROOT, env=env,
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
