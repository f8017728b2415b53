"""The environment dashboard: body JSON, coverage, layout and item checks."""

import json
import re
from typing import Any

import pytest

from components.dashboard import KINDS, Dashboard, check_dashboard, required_dimensions
from components.validation import ArgsError
from preflight.capture import capture

ITEMS: list[Any] = [
    {"kind": "function", "key": "resize", "dimensions": {"function_name": "prod-resize"}},
    {"kind": "service", "key": "orders", "dimensions": {
        "load_balancer_arn_suffix": "app/prod-alb/1", "target_group_arn_suffix": "targetgroup/o/2",
        "cluster_name": "prod-cluster", "service_name": "orders"}},
    {"kind": "cache", "key": "sessions", "dimensions": {"cache_cluster_id": "prod-sessions-001"}},
    {"kind": "http-api", "key": "edge", "dimensions": {"api_id": "a1b2c3"}},
    {"kind": "rest-api", "key": "legacy", "dimensions": {"api_name": "prod-legacy",
                                                          "stage": "v1"}},
    {"kind": "aurora", "key": "ledger", "dimensions": {"db_identifier": "prod-ledger"}},
    {"kind": "database", "key": "audit", "dimensions": {"db_identifier": "prod-audit"}},
    {"kind": "service", "key": "billing", "dimensions": {
        "load_balancer_arn_suffix": "app/prod-alb/1", "target_group_arn_suffix": "targetgroup/b/3",
        "cluster_name": "prod-cluster", "service_name": "billing"}},
]


def body(items: list[Any], preview: bool = False, **spec: Any) -> tuple[str, dict[str, Any]]:
    args: Any = {"environment": "prod", "region": "eu-west-1", "items": items, **spec}
    cap = capture(lambda: Dashboard("dash", args), preview=preview)
    (reg,) = cap.of_type("aws:cloudwatch/dashboard:Dashboard")
    return reg.inputs["dashboardName"], json.loads(reg.inputs["dashboardBody"])


def test_body_is_known_at_preview_and_covers_every_item():
    name, parsed = body(ITEMS, preview=True)
    assert name == "prod-platform"
    widgets = parsed["widgets"]
    assert len(widgets) == len(ITEMS) * 5  # a title and four golden signals each
    titles = [w["properties"]["markdown"] for w in widgets if w["type"] == "text"]
    assert titles == ["## service: billing", "## service: orders", "## function: resize",
                      "## http-api: edge", "## rest-api: legacy", "## aurora: ledger",
                      "## database: audit", "## cache: sessions"]
    signals = [w["properties"]["title"].split(": ")[1] for w in widgets if w["type"] == "metric"]
    assert signals == ["latency", "traffic", "errors", "saturation"] * len(ITEMS)
    for widget in widgets:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "eu-west-1"


def test_metrics_carry_the_items_dimensions():
    _, parsed = body(ITEMS)
    by_title = {w["properties"]["title"]: w["properties"]["metrics"]
                for w in parsed["widgets"] if w["type"] == "metric"}
    assert by_title["orders: latency: Response time"] == [
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/prod-alb/1",
         "TargetGroup", "targetgroup/o/2", {"stat": "p50", "label": "TargetResponseTime p50"}],
        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/prod-alb/1",
         "TargetGroup", "targetgroup/o/2", {"stat": "p99", "label": "TargetResponseTime p99"}]]
    assert by_title["orders: saturation: CPU and memory %"] == [
        ["AWS/ECS", "CPUUtilization", "ClusterName", "prod-cluster", "ServiceName", "orders",
         {"stat": "Average", "label": "CPUUtilization Average"}],
        ["AWS/ECS", "MemoryUtilization", "ClusterName", "prod-cluster", "ServiceName", "orders",
         {"stat": "Average", "label": "MemoryUtilization Average"}]]
    assert by_title["legacy: errors: 4xx and 5xx"] == [
        ["AWS/ApiGateway", "4XXError", "ApiName", "prod-legacy", "Stage", "v1",
         {"stat": "Sum", "label": "4XXError Sum"}],
        ["AWS/ApiGateway", "5XXError", "ApiName", "prod-legacy", "Stage", "v1",
         {"stat": "Sum", "label": "5XXError Sum"}]]
    assert by_title["edge: errors: 4xx and 5xx"][1] == [
        "AWS/ApiGateway", "5xx", "ApiId", "a1b2c3", {"stat": "Sum", "label": "5xx Sum"}]
    assert by_title["ledger: traffic: Connections"] == [
        ["AWS/RDS", "DatabaseConnections", "DBClusterIdentifier", "prod-ledger",
         {"stat": "Maximum", "label": "DatabaseConnections Maximum"}]]
    assert by_title["audit: traffic: Connections"][0][2:4] == ["DBInstanceIdentifier",
                                                               "prod-audit"]
    assert by_title["sessions: saturation: Engine CPU and memory %"][0][2:4] == [
        "CacheClusterId", "prod-sessions-001"]


def test_layout_is_deterministic_and_gapless():
    _, parsed = body(ITEMS)
    _, reversed_order = body(list(reversed(ITEMS)))
    assert parsed == reversed_order
    first_two = [(w["x"], w["y"], w["width"], w["height"]) for w in parsed["widgets"][:10]]
    assert first_two == [(0, 0, 24, 1), (0, 1, 6, 6), (6, 1, 6, 6), (12, 1, 6, 6),
                         (18, 1, 6, 6),
                         (0, 7, 24, 1), (0, 8, 6, 6), (6, 8, 6, 6), (12, 8, 6, 6),
                         (18, 8, 6, 6)]
    assert parsed["widgets"][-1]["y"] == 7 * (len(ITEMS) - 1) + 1


def test_custom_name_and_empty_estate():
    name, parsed = body([], name="prod-estate")
    assert (name, parsed) == ("prod-estate", {"widgets": []})


def test_every_kind_needs_its_dimensions():
    assert {kind: required_dimensions(kind) for kind in KINDS} == {
        "service": ["cluster_name", "load_balancer_arn_suffix", "service_name",
                    "target_group_arn_suffix"],
        "kubernetes-service": ["cluster_name", "load_balancer_arn_suffix", "namespace",
                               "service_name", "target_group_arn_suffix"],
        "function": ["function_name"],
        "http-api": ["api_id"],
        "rest-api": ["api_name", "stage"],
        "aurora": ["db_identifier"],
        "database": ["db_identifier"],
        "cache": ["cache_cluster_id"],
        "topic": ["topic_name"],
        "queue": ["dlq_queue_name", "queue_name"],
        "workflow": ["state_machine_arn"],
        "rule": ["event_bus_name", "rule_name"],
    }


def test_item_validation_messages():
    items: list[Any] = [
        {"kind": "lambda", "key": "resize", "dimensions": {}},
        {"kind": "rest-api", "key": "legacy", "dimensions": {"api_name": "x", "api_id": "y"}},
        {"kind": "function", "key": "resize", "dimensions": {"function_name": "a"}},
        {"kind": "function", "key": "resize", "dimensions": {"function_name": "b"}},
    ]
    assert [(p.path, p.message) for p in check_dashboard({"name": "prod estate"}, items)] == [
        (("name",), "'prod estate' is not a dashboard name: use 1-255 letters, digits, hyphens "
                    "and underscores"),
        (("items", 0, "kind"), "'lambda' is not allowed: use one of service, kubernetes-service, "
                               "function, http-api, rest-api, aurora, database, cache, topic, "
                               "queue, workflow, rule"),
        (("items", 1, "dimensions"), "a rest-api needs api_name, stage (missing stage)"),
        (("items", 1, "dimensions"), "a rest-api takes only api_name, stage (got api_id)"),
        (("items", 3), "function 'resize' is listed twice"),
    ]


def test_component_raises_before_creating_the_dashboard():
    with pytest.raises(ArgsError, match=re.escape(
            "Dashboard 'dash': items[0].dimensions: a function needs function_name (missing "
            "function_name)")):
        body([{"kind": "function", "key": "resize", "dimensions": {}}])


def test_event_flow_sections_show_their_own_metrics():
    items: list[Any] = [
        {"kind": "topic", "key": "order-events", "dimensions": {"topic_name": "prod-order-events"}},
        {"kind": "queue", "key": "order-events-billing", "dimensions": {
            "queue_name": "prod-order-events-billing",
            "dlq_queue_name": "prod-order-events-billing-dlq"}},
        {"kind": "workflow", "key": "fulfilment", "dimensions": {
            "state_machine_arn": "arn:aws:states:eu-west-1:123456789012:stateMachine:prod-f"}},
        {"kind": "rule", "key": "order-paid", "dimensions": {
            "event_bus_name": "prod-events", "rule_name": "prod-events-order-paid"}},
    ]
    _, parsed = body(items, preview=True)
    by_title = {w["properties"]["title"]: w["properties"]["metrics"]
                for w in parsed["widgets"] if w["type"] == "metric"}
    assert sorted(by_title) == sorted([
        "fulfilment: errors: Failed and timed out", "fulfilment: latency: Execution time",
        "fulfilment: saturation: Throttled", "fulfilment: traffic: Executions started",
        "order-events: errors: Failed deliveries",
        "order-events: traffic: Published and delivered",
        "order-events-billing: errors: Dead-lettered messages",
        "order-events-billing: latency: Age of oldest message (s)",
        "order-events-billing: saturation: Backlog",
        "order-events-billing: traffic: Sent and processed",
        "order-paid: errors: Failed and dead-lettered", "order-paid: saturation: Throttled",
        "order-paid: traffic: Matched and invoked"])
    assert by_title["order-events-billing: errors: Dead-lettered messages"] == [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName",
         "prod-order-events-billing-dlq",
         {"stat": "Maximum", "label": "ApproximateNumberOfMessagesVisible Maximum"}]]
    assert by_title["order-paid: errors: Failed and dead-lettered"][0] == [
        "AWS/Events", "FailedInvocations", "EventBusName", "prod-events", "RuleName",
        "prod-events-order-paid", {"stat": "Sum", "label": "FailedInvocations Sum"}]


def test_kubernetes_service_section_reads_container_insights():
    name, parsed = body([{"kind": "kubernetes-service", "key": "inventory", "dimensions": {
        "cluster_name": "prod-k8s-eks", "namespace": "inventory", "service_name": "inventory",
        "load_balancer_arn_suffix": "app/internal/1",
        "target_group_arn_suffix": "targetgroup/prod-k8s-eks-inventory/2"}}],
        environment="prod-k8s")
    assert name == "prod-k8s-platform"
    metrics = {w["properties"]["title"]: w["properties"]["metrics"]
               for w in parsed["widgets"] if w["type"] == "metric"}
    pods = ["ClusterName", "prod-k8s-eks", "Namespace", "inventory", "Service", "inventory"]
    assert metrics["inventory: saturation: CPU and memory % of limit"] == [
        ["ContainerInsights", "pod_cpu_utilization_over_pod_limit", *pods,
         {"stat": "Average", "label": "pod_cpu_utilization_over_pod_limit Average"}],
        ["ContainerInsights", "pod_memory_utilization_over_pod_limit", *pods,
         {"stat": "Average", "label": "pod_memory_utilization_over_pod_limit Average"}]]
    assert metrics["inventory: traffic: Requests"] == [
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/internal/1",
         "TargetGroup", "targetgroup/prod-k8s-eks-inventory/2",
         {"stat": "Sum", "label": "RequestCount Sum"}]]
