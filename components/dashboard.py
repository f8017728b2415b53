"""Dashboard: one CloudWatch dashboard per environment with a section per service, function,
API and store, showing its golden signals (latency, traffic, errors, saturation).

The integrator describes what exists as plain items (``{"kind", "key", "dimensions"}``); the
layout is derived from that description only, so the same estate always yields the same
dashboard: sections sorted by kind (in :data:`KINDS` order) then key, each a full-width title
row followed by its widgets, four to a row, 6 units wide and 6 high.
"""


from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, type_token
from .validation import Problem, check_choice, check_key, raise_for

WIDTH = 6
HEIGHT = 6
PER_ROW = 24 // WIDTH
TITLE_HEIGHT = 1
PERIOD = 60


@dataclass(frozen=True)
class Line:
    metric: str
    stat: str
    dimension_set: str = "main"
    """Which of the kind's dimension sets the metric uses (services mix ALB and ECS)."""


@dataclass(frozen=True)
class Widget:
    signal: str
    """latency, traffic, errors or saturation."""
    title: str
    namespace: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Kind:
    dimensions: Mapping[str, Mapping[str, str]]
    """Dimension set -> {CloudWatch dimension name: item dimension key}."""
    widgets: tuple[Widget, ...]


_ALB = {"LoadBalancer": "load_balancer_arn_suffix", "TargetGroup": "target_group_arn_suffix"}
_ALB_WIDGETS = (
    Widget("latency", "Response time", "AWS/ApplicationELB",
           (Line("TargetResponseTime", "p50"), Line("TargetResponseTime", "p99"))),
    Widget("traffic", "Requests", "AWS/ApplicationELB", (Line("RequestCount", "Sum"),)),
    Widget("errors", "5xx", "AWS/ApplicationELB",
           (Line("HTTPCode_Target_5XX_Count", "Sum"), Line("HTTPCode_ELB_5XX_Count", "Sum"))),
)
"""What a service behind a load balancer shows whatever it runs on."""

KINDS: dict[str, Kind] = {
    "service": Kind(
        {"main": _ALB, "ecs": {"ClusterName": "cluster_name", "ServiceName": "service_name"}},
        (*_ALB_WIDGETS,
         Widget("saturation", "CPU and memory %", "AWS/ECS",
                (Line("CPUUtilization", "Average", "ecs"),
                 Line("MemoryUtilization", "Average", "ecs"))))),
    "kubernetes-service": Kind(
        {"main": _ALB, "pods": {"ClusterName": "cluster_name", "Namespace": "namespace",
                                "Service": "service_name"}},
        (*_ALB_WIDGETS,
         Widget("saturation", "CPU and memory % of limit", "ContainerInsights",
                (Line("pod_cpu_utilization_over_pod_limit", "Average", "pods"),
                 Line("pod_memory_utilization_over_pod_limit", "Average", "pods"))))),
    "function": Kind(
        {"main": {"FunctionName": "function_name"}},
        (Widget("latency", "Duration", "AWS/Lambda",
                (Line("Duration", "p50"), Line("Duration", "p99"))),
         Widget("traffic", "Invocations", "AWS/Lambda", (Line("Invocations", "Sum"),)),
         Widget("errors", "Errors and throttles", "AWS/Lambda",
                (Line("Errors", "Sum"), Line("Throttles", "Sum"))),
         Widget("saturation", "Concurrency", "AWS/Lambda",
                (Line("ConcurrentExecutions", "Maximum"),)))),
    "http-api": Kind(
        {"main": {"ApiId": "api_id"}},
        (Widget("latency", "Latency", "AWS/ApiGateway",
                (Line("Latency", "p50"), Line("Latency", "p99"))),
         Widget("traffic", "Requests", "AWS/ApiGateway", (Line("Count", "Sum"),)),
         Widget("errors", "4xx and 5xx", "AWS/ApiGateway",
                (Line("4xx", "Sum"), Line("5xx", "Sum"))),
         # API Gateway has no saturation metric; backend (integration) latency is the proxy.
         Widget("saturation", "Integration latency", "AWS/ApiGateway",
                (Line("IntegrationLatency", "p99"),)))),
    "rest-api": Kind(
        {"main": {"ApiName": "api_name", "Stage": "stage"}},
        (Widget("latency", "Latency", "AWS/ApiGateway",
                (Line("Latency", "p50"), Line("Latency", "p99"))),
         Widget("traffic", "Requests", "AWS/ApiGateway", (Line("Count", "Sum"),)),
         Widget("errors", "4xx and 5xx", "AWS/ApiGateway",
                (Line("4XXError", "Sum"), Line("5XXError", "Sum"))),
         Widget("saturation", "Integration latency", "AWS/ApiGateway",
                (Line("IntegrationLatency", "p99"),)))),
    "aurora": Kind(
        {"main": {"DBClusterIdentifier": "db_identifier"}},
        (Widget("latency", "Read/write latency", "AWS/RDS",
                (Line("ReadLatency", "Average"), Line("WriteLatency", "Average"))),
         Widget("traffic", "Connections", "AWS/RDS", (Line("DatabaseConnections", "Maximum"),)),
         Widget("errors", "Deadlocks", "AWS/RDS", (Line("Deadlocks", "Sum"),)),
         Widget("saturation", "CPU % and freeable memory", "AWS/RDS",
                (Line("CPUUtilization", "Maximum"), Line("FreeableMemory", "Minimum"))))),
    "database": Kind(
        {"main": {"DBInstanceIdentifier": "db_identifier"}},
        (Widget("latency", "Read/write latency", "AWS/RDS",
                (Line("ReadLatency", "Average"), Line("WriteLatency", "Average"))),
         Widget("traffic", "Connections", "AWS/RDS", (Line("DatabaseConnections", "Maximum"),)),
         Widget("errors", "Deadlocks", "AWS/RDS", (Line("Deadlocks", "Sum"),)),
         Widget("saturation", "CPU % and free storage", "AWS/RDS",
                (Line("CPUUtilization", "Maximum"), Line("FreeStorageSpace", "Minimum"))))),
    "cache": Kind(
        {"main": {"CacheClusterId": "cache_cluster_id"}},
        (Widget("latency", "Command latency (us)", "AWS/ElastiCache",
                (Line("GetTypeCmdsLatency", "Average"), Line("SetTypeCmdsLatency", "Average"))),
         Widget("traffic", "Commands", "AWS/ElastiCache",
                (Line("GetTypeCmds", "Sum"), Line("SetTypeCmds", "Sum"))),
         Widget("errors", "Evictions and misses", "AWS/ElastiCache",
                (Line("Evictions", "Sum"), Line("CacheMisses", "Sum"))),
         Widget("saturation", "Engine CPU and memory %", "AWS/ElastiCache",
                (Line("EngineCPUUtilization", "Average"),
                 Line("DatabaseMemoryUsagePercentage", "Average"))))),
    "topic": Kind(
        {"main": {"TopicName": "topic_name"}},
        (Widget("traffic", "Published and delivered", "AWS/SNS",
                (Line("NumberOfMessagesPublished", "Sum"),
                 Line("NumberOfNotificationsDelivered", "Sum"))),
         Widget("errors", "Failed deliveries", "AWS/SNS",
                (Line("NumberOfNotificationsFailed", "Sum"),
                 Line("NumberOfNotificationsFailedToRedriveToDlq", "Sum"))))),
    "queue": Kind(
        {"main": {"QueueName": "queue_name"}, "dlq": {"QueueName": "dlq_queue_name"}},
        (Widget("latency", "Age of oldest message (s)", "AWS/SQS",
                (Line("ApproximateAgeOfOldestMessage", "Maximum"),)),
         Widget("traffic", "Sent and processed", "AWS/SQS",
                (Line("NumberOfMessagesSent", "Sum"), Line("NumberOfMessagesDeleted", "Sum"))),
         Widget("errors", "Dead-lettered messages", "AWS/SQS",
                (Line("ApproximateNumberOfMessagesVisible", "Maximum", "dlq"),)),
         Widget("saturation", "Backlog", "AWS/SQS",
                (Line("ApproximateNumberOfMessagesVisible", "Maximum"),
                 Line("ApproximateNumberOfMessagesNotVisible", "Maximum"))))),
    "workflow": Kind(
        {"main": {"StateMachineArn": "state_machine_arn"}},
        (Widget("latency", "Execution time", "AWS/States",
                (Line("ExecutionTime", "p50"), Line("ExecutionTime", "p99"))),
         Widget("traffic", "Executions started", "AWS/States",
                (Line("ExecutionsStarted", "Sum"), Line("ExecutionsSucceeded", "Sum"))),
         Widget("errors", "Failed and timed out", "AWS/States",
                (Line("ExecutionsFailed", "Sum"), Line("ExecutionsTimedOut", "Sum"))),
         Widget("saturation", "Throttled", "AWS/States",
                (Line("ExecutionThrottled", "Sum"),)))),
    "rule": Kind(
        {"main": {"EventBusName": "event_bus_name", "RuleName": "rule_name"}},
        (Widget("traffic", "Matched and invoked", "AWS/Events",
                (Line("MatchedEvents", "Sum"), Line("Invocations", "Sum"))),
         Widget("errors", "Failed and dead-lettered", "AWS/Events",
                (Line("FailedInvocations", "Sum"), Line("InvocationsSentToDlq", "Sum"))),
         Widget("saturation", "Throttled", "AWS/Events",
                (Line("ThrottledRules", "Sum"),)))),
}
"""What each kind of item shows and which dimensions it needs."""


class DashboardItem(TypedDict):
    """One thing the dashboard shows."""

    kind: str
    """``service`` (ECS), ``kubernetes-service`` (EKS), ``function``, ``http-api``,
    ``rest-api``, ``aurora``, ``database``, ``cache``, ``topic``, ``queue``, ``workflow`` or
    ``rule``."""
    key: str
    """The thing's name in the estate (section title)."""
    dimensions: dict[str, pulumi.Input[str]]
    """Identifiers by item dimension key, e.g. ``{"function_name": fn.name}``; which keys a
    kind needs is in :func:`required_dimensions` (a cache shows its primary node,
    ``cache_cluster_id`` = ``<group id>-001``)."""


class DashboardSpec(TypedDict):
    """What a stack file may say about the dashboard."""

    enabled: NotRequired[bool]
    """Create the environment dashboard (default ``true``)."""
    name: NotRequired[str]
    """Dashboard name (default ``<environment>-platform``)."""


class DashboardArgs(DashboardSpec):
    """Dashboard settings plus what it shows."""

    environment: str
    """Name of the environment (stack) shown."""
    region: pulumi.Input[str]
    """Region of every metric."""
    items: list[DashboardItem]
    """The services, functions, APIs and stores, in any order."""


def required_dimensions(kind: str) -> list[str]:
    return sorted({key for dims in KINDS[kind].dimensions.values() for key in dims.values()})


NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def check_dashboard(spec: DashboardSpec,
                    items: Sequence[DashboardItem] = ()) -> list[Problem]:
    problems: list[Problem] = []
    name = spec.get("name")
    if name is not None and (not 1 <= len(name) <= 255 or set(name) - NAME_CHARS):
        problems.append(Problem(("name",), f"'{name}' is not a dashboard name: use 1-255 "
                                           "letters, digits, hyphens and underscores"))
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        kind_problems = check_choice(("items", i, "kind"), item["kind"], list(KINDS))
        problems += kind_problems
        problems += check_key(("items", i, "key"), item["key"])
        if (item["kind"], item["key"]) in seen:
            problems.append(Problem(("items", i), f"{item['kind']} '{item['key']}' is listed "
                                                  "twice"))
        seen.add((item["kind"], item["key"]))
        if kind_problems:
            continue
        needed = required_dimensions(item["kind"])
        missing = [k for k in needed if k not in item["dimensions"]]
        unknown = sorted(set(item["dimensions"]) - set(needed))
        if missing:
            problems.append(Problem(("items", i, "dimensions"),
                                    f"a {item['kind']} needs {', '.join(needed)} (missing "
                                    f"{', '.join(missing)})"))
        if unknown:
            problems.append(Problem(("items", i, "dimensions"),
                                    f"a {item['kind']} takes only {', '.join(needed)} (got "
                                    f"{', '.join(unknown)})"))
    return problems


def _metric_row(namespace: str, line: Line, dims: Mapping[str, pulumi.Input[str]]) -> list[Any]:
    row: list[Any] = [namespace, line.metric]
    for name, value in dims.items():
        row += [name, value]
    row.append({"stat": line.stat, "label": f"{line.metric} {line.stat}"})
    return row


def dashboard_widgets(items: Sequence[DashboardItem],
                      region: pulumi.Input[str]) -> list[dict[str, Any]]:
    """The widgets, in layout order (deterministic for a given set of items)."""
    order = {kind: i for i, kind in enumerate(KINDS)}
    widgets: list[dict[str, Any]] = []
    y = 0
    for item in sorted(items, key=lambda it: (order[it["kind"]], it["key"])):
        kind = KINDS[item["kind"]]
        widgets.append({"type": "text", "x": 0, "y": y, "width": 24, "height": TITLE_HEIGHT,
                        "properties": {"markdown": f"## {item['kind']}: {item['key']}"}})
        y += TITLE_HEIGHT
        for n, widget in enumerate(kind.widgets):
            if n and n % PER_ROW == 0:
                y += HEIGHT
            sets = {name: {cw: item["dimensions"][ours] for cw, ours in dims.items()}
                    for name, dims in kind.dimensions.items()}
            widgets.append({
                "type": "metric", "x": (n % PER_ROW) * WIDTH, "y": y,
                "width": WIDTH, "height": HEIGHT,
                "properties": {
                    "title": f"{item['key']}: {widget.signal}: {widget.title}",
                    "view": "timeSeries", "region": region, "period": PERIOD,
                    "metrics": [_metric_row(widget.namespace, line, sets[line.dimension_set])
                                for line in widget.lines]}})
        y += HEIGHT
    return widgets


class Dashboard(pulumi.ComponentResource):
    """The environment's CloudWatch dashboard: golden signals of everything in the estate."""

    dashboard_name: pulumi.Output[str]
    """Name of the dashboard."""

    def __init__(self, name: str, args: DashboardArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Dashboard"), name, None, opts)
        problems = check_dashboard(args, args["items"])
        problems += check_key(("environment",), args["environment"])
        raise_for("Dashboard", name, problems)
        physical = args.get("name", f"{args['environment']}-platform")
        body = pulumi.Output.json_dumps(
            {"widgets": dashboard_widgets(args["items"], args["region"])})
        dashboard = aws.cloudwatch.Dashboard(f"{name}-dashboard", aws.cloudwatch.DashboardArgs(
            dashboard_name=physical, dashboard_body=body), opts=child_opts(self))
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})
