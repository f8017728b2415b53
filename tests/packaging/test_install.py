"""Installs as users do them, into empty virtualenvs with every dependency from the package
index: the distribution from a Git reference; the component package's own virtualenv as
Pulumi's language host makes it for ``pulumi package add``; and each example exactly as its
README says (a wheel built from a checkout), then checked offline by the ``preflight`` it
installed.

Each install takes tens of seconds (pulumi-aws alone is some 270 MB); bytecode compilation is
skipped (``PIP_NO_COMPILE``), which changes nothing a test looks at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from install_helpers import ROOT, clean_env, copy_tree, run, served_schema

import components

pytestmark = pytest.mark.slow

VERSION = components.__version__
EXAMPLES = ["service-in-existing-vpc", "network-service-api"]
GIT = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
       "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def env() -> dict[str, str]:
    return clean_env(PIP_NO_COMPILE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the sources: a Git repository with one commit of the working tree."""
    repo = copy_tree(tmp_path_factory.mktemp("clone") / "microservices-platform")
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-q", "-m", "release")):
        run("git", *args, cwd=repo, env={**env(), **GIT})
    return repo


@pytest.fixture(scope="module")
def from_git(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install "microservices-platform @ git+<repository>"`` into an empty virtualenv."""
    root = tmp_path_factory.mktemp("git-install")
    run("python3", "-m", "venv", "env", cwd=root, env=env())
    # A pip older than 24 refuses a file:// Git URL without a host (https ones it takes).
    run(root / "env" / "bin" / "python", "-m", "pip", "install", "-q", "--upgrade", "pip",
        cwd=root, env=env())
    run(root / "env" / "bin" / "pip", "install", "-q",
        f"microservices-platform @ git+file://{checkout}", cwd=root, env=env())
    return root / "env"


def site_packages(python: Path, package: str, cwd: Path) -> Path:
    return Path(run(python, "-c", f"import {package}, os; print(os.path.dirname("
                    f"{package}.__file__))", cwd=cwd, env=env()).stdout.strip())


# --- the distribution from a Git reference --------------------------------------------------

def test_git_reference_install_runs_preflight_on_the_platform(from_git: Path, checkout: Path,
                                                              tmp_path: Path) -> None:
    # The command works (its report renders with rich) and checks the platform's dev stack
    # with the repository's pack, run by the installed interpreter: 0 mandatory violations.
    report = tmp_path / "dev.json"
    done = subprocess.run([from_git / "bin" / "preflight", "dev", "--format", "json",
                           "--output", str(report)], cwd=checkout, env=env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1].startswith("PASSED: 0 mandatory, ")
    data = report.read_text()
    assert f'"version": "{VERSION}"' in data


def test_installed_copy_carries_the_pack_and_the_plugin_manifest(from_git: Path,
                                                                  tmp_path: Path) -> None:
    pack = site_packages(from_git / "bin" / "python", "policies", tmp_path)
    assert (pack / "PulumiPolicy.yaml").is_file() and (pack / "requirements.txt").is_file()
    plugin = site_packages(from_git / "bin" / "python", "components", tmp_path)
    assert sorted(p.name for p in plugin.iterdir() if p.suffix in (".yaml", ".txt")) == [
        "PulumiPlugin.yaml", "requirements.txt"]


# --- the component package as `pulumi package add` runs it ---------------------------------

def test_component_package_runs_from_a_clone_and_from_an_installed_copy(
        from_git: Path, checkout: Path, tmp_path: Path) -> None:
    """What the Python language host does for a plugin directory with toolchain pip: make
    the virtualenv PulumiPlugin.yaml names, beside it, install requirements.txt there (with
    the directory as working directory), then run ``<venv>/bin/python <directory>``. The
    same virtualenv serves the directory of a Git clone and the one in site-packages."""
    plugin = checkout / "components"
    options = yaml.safe_load((plugin / "PulumiPlugin.yaml").read_text())["runtime"]["options"]
    venv = plugin / options["virtualenv"]
    run("python3", "-m", "venv", venv, cwd=plugin, env=env())
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "-r", "requirements.txt",
        cwd=plugin, env=env())
    # It holds the components' dependencies, not the distribution.
    code = "import importlib.util as u; print([m for m in ('components', 'preflight', " \
           "'pulumi_policy', 'rich') if u.find_spec(m)])"
    assert run(venv / "bin" / "python", "-c", code, cwd=tmp_path, env=env()).stdout.strip() \
        == "[]"
    installed = site_packages(from_git / "bin" / "python", "components", tmp_path)
    for directory in (plugin, installed):
        schema = served_schema(venv / "bin" / "python", directory, tmp_path)
        assert (schema["name"], schema["version"]) == ("microservices", VERSION), directory
        assert len(schema["resources"]) == 36


# --- the examples, as their READMEs say -----------------------------------------------------

def readme_blocks(readme: Path, heading: str) -> list[tuple[str, str]]:
    text = readme.read_text()
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end != -1 else len(text)]
    return [(m[1], m[2]) for m in re.finditer(r"^```(\w+)\n(.*?)^```$", section, re.M | re.S)]


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_installs_and_passes_preflight_as_its_readme_says(
        example: str, checkout: Path, tmp_path: Path) -> None:
    project = tmp_path / example
    shutil.copytree(ROOT / "examples" / example, project)
    readme = project / "README.md"
    (_, install), = readme_blocks(readme, "## Install")
    for line in install.splitlines():
        run("bash", "-c", line.replace("<checkout>", str(checkout)), cwd=project, env=env())
    assert [p.name for p in (project / "dist").iterdir()] == [
        f"microservices_platform-{VERSION}-py3-none-any.whl"]
    installed = site_packages(project / "venv" / "bin" / "python", "components", tmp_path)
    assert installed.is_relative_to(project / "venv")

    (_, settings), (_, check) = readme_blocks(readme, "## Check offline")
    (project / "Pulumi.dev.yaml").write_text(settings)
    assert check.strip() == "venv/bin/preflight dev"
    done = subprocess.run(["bash", "-c", check.strip()], cwd=project, env=env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout.splitlines()[-1]
    assert re.fullmatch(r"PASSED: 0 mandatory, 0 advisory, 0 could not run, \d+ exempted "
                        r"across \d+ resources", summary), summary
    # The pack that judged it is the one installed with preflight, and the report says so.
    pack = site_packages(project / "venv" / "bin" / "python", "policies", tmp_path)
    assert done.stderr == (f"preflight: policy pack: {pack.relative_to(project)} (installed "
                           "with preflight; --policy-pack DIR for another)\n")
