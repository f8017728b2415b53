"""Shared by the packaging tests: a clean copy of the sources as a checkout has them, and
subprocesses that fail loudly and cannot see this repository through the environment."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import grpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
UNTRACKED = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__",
             ".*_cache")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, **extra}


def copy_tree(target: Path) -> Path:
    """The working tree as a fresh clone has it (no virtualenvs, builds or caches)."""
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*UNTRACKED))
    return target


def served_schema(python: Path, plugin_dir: Path, cwd: Path) -> dict[str, Any]:
    """Start the component package as Pulumi's Python language host does
    (``python <plugin directory> <engine address>``) and ask it for its schema over gRPC."""
    proc = subprocess.Popen([str(python), str(plugin_dir), "127.0.0.1:1"], cwd=cwd,
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read() if proc.stderr else ""
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            return json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(version=0)).schema)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
