"""Shared helpers: run the CLI in a fresh process against a copy of the fixture project."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
PACK = FIXTURES / "pack"
CIPHERTEXT = "v1:c2VjcmV0LWNpcGhlcnRleHQtbmV2ZXItc2hvd24="


class Runner:
    def __init__(self, project: Path):
        self.project = project
        self.marker = uuid.uuid4().hex

    def stack(self, name: str, mode: str = "normal") -> str:
        text = (FIXTURES / "project" / "stacks" / "Pulumi.dev.yaml").read_text()
        (self.project / "stacks" / f"Pulumi.{name}.yaml").write_text(
            text.replace("fixture:mode: normal", f"fixture:mode: {mode}"))
        return name

    def __call__(self, *args: str, pack: Path = PACK, env: dict | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFLIGHT_TEST_MARKER": self.marker,
                    **(env or {})}
        full_env.pop("PULUMI_CONFIG", None)
        cmd = [sys.executable, "-m", "preflight", *args]
        if pack is not None:
            cmd += ["--policy-pack", str(pack)]
        return subprocess.run(cmd, cwd=self.project, env=full_env, capture_output=True,
                              text=True, timeout=timeout)

    def survivors(self) -> list[int]:
        """Processes still carrying this runner's marker (the pack and its children)."""
        deadline = time.monotonic() + 3
        while True:
            found = []
            needle = f"PREFLIGHT_TEST_MARKER={self.marker}".encode()
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    if needle not in (entry / "environ").read_bytes():
                        continue
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                except OSError:
                    continue
                if state != "Z":
                    found.append(int(entry.name))
            if not found or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def make_runner(tmp: Path) -> Runner:
    project = tmp / "project"
    shutil.copytree(FIXTURES / "project", project,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return Runner(project)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return make_runner(tmp_path)


@pytest.fixture(scope="module")
def module_runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return make_runner(tmp_path_factory.mktemp("preflight"))
