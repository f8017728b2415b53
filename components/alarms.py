"""Alarms with defaults: every service, function, API and store gets its alarms without writing
them, and a stack file may tune or switch off any of them per monitored thing.

Each alarm is named ``<environment>-<key>-<signal>`` (cache alarms add the node number), sends
both ALARM and OK transitions to the environment's alerting topic, and decides deliberately
what a silent metric means (``treat_missing_data``):

- ``notBreaching`` where AWS publishes only when something happens (error and throttle counts,
  latency percentiles, an idle dead-letter queue) or where silence is already covered by
  another alarm (ECS CPU/memory go quiet when no task runs: the running-tasks alarm pages);
- ``breaching`` for heartbeat-like signals that AWS publishes every minute while the thing
  exists (ECS Container Insights task counts, database and cache CPU): silence there means the
  service or store is gone, stopped or no longer reporting, which is itself worth a page.

Defaults depend on the tier (``environment`` names it): thresholds and evaluation windows are
looser in dev and staging than in prod; see :data:`EVALUATION` and the ``thresholds`` of each
signal in :data:`SIGNALS`. Overrides are in the unit the signal documents (percent,
milliseconds, MiB, GiB, seconds, counts), never in CloudWatch's raw units.
"""


from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, type_token
from .environment import check_environment_name, tier_name
from .validation import (
    PathItem,
    Problem,
    check_choice,
    check_key,
    check_range,
    did_you_mean,
    raise_for,
)

# --- the catalogue ---------------------------------------------------------------------------

EVALUATION: dict[str, tuple[int, int]] = {
    "prod": (3, 2),
    "staging": (5, 3),
    "dev": (5, 5),
}
"""Default (evaluation periods, datapoints to alarm) per tier: prod pages on 2 bad minutes out
of 3; staging on 3 of 5; dev only when all 5 are bad."""

MAX_EVALUATION_PERIODS = 60


@dataclass(frozen=True)
class Signal:
    """One alarm a kind of thing gets by default."""

    key: str
    """Name part of the alarm and the key overrides use."""
    metric: str
    """CloudWatch metric name (for metric-math signals, the numerator)."""
    namespace: str
    statistic: str
    """``Sum``/``Average``/``Maximum``/``Minimum`` or a percentile such as ``p99``."""
    comparison: str
    thresholds: Mapping[str, int]
    """Default threshold per tier, in :attr:`unit`; empty when it comes from the wiring."""
    unit: str
    """What an override's ``threshold`` is measured in."""
    bounds: tuple[int, int]
    """Thresholds an override may set."""
    treat_missing_data: str
    period: int = 60
    evaluation: tuple[int, int] | None = None
    """Fixed (periods, datapoints) for every tier, instead of :data:`EVALUATION`."""
    math: tuple[str, Mapping[str, tuple[str, str]]] | None = None
    """(expression, {query id: (metric name, statistic)}) for metric-math signals."""
    description: str = ""


_GT = "GreaterThanThreshold"
_GE = "GreaterThanOrEqualToThreshold"
_LT = "LessThanThreshold"
_LOOSE = {"prod": 80, "staging": 85, "dev": 90}
_RATE = {"prod": 1, "staging": 5, "dev": 10}
_ZERO = {"prod": 0, "staging": 0, "dev": 0}
_ERROR_RATE_EXPR = "100 * FILL(errors, 0) / requests"

SERVICE_SIGNALS = (
    Signal("5xx-rate", "HTTPCode_Target_5XX_Count", "AWS/ApplicationELB", "Sum", _GT, _RATE,
           "percent of requests", (0, 100), "notBreaching",
           math=(_ERROR_RATE_EXPR, {"errors": ("HTTPCode_Target_5XX_Count", "Sum"),
                                    "requests": ("RequestCount", "Sum")}),
           description="Targets answer more than the allowed share of requests with 5xx. "
                       "No requests means no rate, so silence is not breaching."),
    Signal("unhealthy-hosts", "UnHealthyHostCount", "AWS/ApplicationELB", "Maximum", _GT, _ZERO,
           "targets", (0, 1000), "notBreaching",
           description="A target fails its load balancer health check. A target group without "
                       "targets is caught by the running-tasks alarm."),
    Signal("latency-p99", "TargetResponseTime", "AWS/ApplicationELB", "p99", _GT, {},
           "milliseconds", (1, 600_000), "notBreaching",
           description="p99 target response time exceeds the latency objective. No requests, "
                       "no latency."),
    Signal("cpu-high", "CPUUtilization", "AWS/ECS", "Average", _GT, _LOOSE, "percent",
           (1, 100), "notBreaching",
           description="Service CPU stays high. No tasks, no datapoints: running-tasks pages."),
    Signal("memory-high", "MemoryUtilization", "AWS/ECS", "Average", _GT, _LOOSE, "percent",
           (1, 100), "notBreaching",
           description="Service memory stays high. No tasks, no datapoints: running-tasks "
                       "pages."),
    Signal("running-tasks", "RunningTaskCount", "ECS/ContainerInsights", "Average", _GT, _ZERO,
           "tasks short of desired", (0, 1000), "breaching",
           math=("desired - running", {"desired": ("DesiredTaskCount", "Average"),
                                       "running": ("RunningTaskCount", "Average")}),
           description="Fewer tasks run than the service wants. Container Insights reports "
                       "every minute while the service exists, so silence is breaching."),
)

FUNCTION_SIGNALS = (
    Signal("errors", "Errors", "AWS/Lambda", "Sum", _GT, {"prod": 0, "staging": 0, "dev": 5},
           "errors per minute", (0, 100_000), "notBreaching",
           description="Invocations fail. Lambda publishes only when invoked."),
    Signal("throttles", "Throttles", "AWS/Lambda", "Sum", _GT,
           {"prod": 0, "staging": 0, "dev": 5}, "throttles per minute", (0, 100_000),
           "notBreaching", description="Invocations are throttled. Published only when invoked."),
    Signal("duration-p99", "Duration", "AWS/Lambda", "p99", _GE,
           {"prod": 80, "staging": 80, "dev": 80}, "percent of the timeout", (1, 100),
           "notBreaching",
           description="p99 duration nears the timeout. Published only when invoked."),
    Signal("dlq-messages", "ApproximateNumberOfMessagesVisible", "AWS/SQS", "Maximum", _GT,
           _ZERO, "messages", (0, 1_000_000), "notBreaching", period=300, evaluation=(1, 1),
           description="Events landed in the dead-letter queue. SQS stops publishing for an "
                       "idle, empty queue, so silence means empty."),
    Signal("dlq-age", "ApproximateAgeOfOldestMessage", "AWS/SQS", "Maximum", _GT,
           {"prod": 3600, "staging": 14_400, "dev": 86_400}, "seconds", (60, 1_209_600),
           "notBreaching", period=300, evaluation=(1, 1),
           description="A dead-lettered event waits unhandled, nearing retention. Idle empty "
                       "queues are silent."),
)

API_SIGNALS = (
    Signal("5xx-rate", "5xx", "AWS/ApiGateway", "Sum", _GT, _RATE, "percent of requests",
           (0, 100), "notBreaching",
           math=(_ERROR_RATE_EXPR, {"errors": ("5xx", "Sum"), "requests": ("Count", "Sum")}),
           description="The API answers more than the allowed share of requests with 5xx. "
                       "No requests, no rate."),
    Signal("latency-p99", "Latency", "AWS/ApiGateway", "p99", _GT, {}, "milliseconds",
           (1, 30_000), "notBreaching",
           description="p99 latency exceeds the latency objective. No requests, no latency."),
)

DATABASE_SIGNALS = (
    Signal("cpu-high", "CPUUtilization", "AWS/RDS", "Maximum", _GT, _LOOSE, "percent",
           (1, 100), "breaching",
           description="Database CPU stays high. RDS reports every minute while the database "
                       "runs, so silence (stopped, deleted) is breaching."),
    Signal("freeable-memory", "FreeableMemory", "AWS/RDS", "Minimum", _LT,
           {"prod": 512, "staging": 256, "dev": 128}, "MiB", (16, 1_048_576), "notBreaching",
           description="Free memory runs low. Silence is covered by cpu-high."),
    Signal("free-storage", "FreeStorageSpace", "AWS/RDS", "Minimum", _LT,
           {"prod": 20, "staging": 10, "dev": 5}, "GiB", (1, 65_536), "notBreaching",
           description="Free storage runs low (instances only; Aurora storage grows by "
                       "itself). Silence is covered by cpu-high."),
    Signal("connections", "DatabaseConnections", "AWS/RDS", "Maximum", _GT, _LOOSE,
           "percent of max_connections", (1, 100), "notBreaching",
           description="Connections near the configured maximum. Silence is covered by "
                       "cpu-high."),
    Signal("replica-lag", "AuroraReplicaLagMaximum", "AWS/RDS", "Maximum", _GT,
           {"prod": 1000, "staging": 2000, "dev": 5000}, "milliseconds", (10, 600_000),
           "notBreaching",
           description="Aurora readers lag the writer (cluster-level maximum; Aurora only). A "
                       "cluster without readers publishes nothing."),
)

CACHE_SIGNALS = (
    Signal("engine-cpu", "EngineCPUUtilization", "AWS/ElastiCache", "Average", _GT, _LOOSE,
           "percent", (1, 100), "breaching",
           description="The engine thread is busy. ElastiCache reports every minute per node, "
                       "so silence (node gone) is breaching."),
    Signal("memory", "DatabaseMemoryUsagePercentage", "AWS/ElastiCache", "Average", _GT,
           _LOOSE, "percent", (1, 100), "notBreaching",
           description="Memory use nears maxmemory; evictions follow. Silence is covered by "
                       "engine-cpu."),
    Signal("connections", "CurrConnections", "AWS/ElastiCache", "Maximum", _GT,
           {"prod": 5000, "staging": 5000, "dev": 5000}, "connections", (1, 65_000),
           "notBreaching", description="Client connections pile up. Silence is covered by "
                                       "engine-cpu."),
    Signal("replication-lag", "ReplicationLag", "AWS/ElastiCache", "Maximum", _GT,
           {"prod": 1, "staging": 5, "dev": 10}, "seconds", (1, 3600), "notBreaching",
           description="A replica lags its primary (only replicas publish it)."),
)

def _by_key(signals: tuple[Signal, ...], key: str) -> Signal:
    return next(s for s in signals if s.key == key)


QUEUE_SIGNALS = (
    Signal("oldest-message", "ApproximateAgeOfOldestMessage", "AWS/SQS", "Maximum", _GT,
           {"prod": 300, "staging": 900, "dev": 3600}, "seconds", (60, 1_209_600),
           "notBreaching", period=300, evaluation=(1, 1),
           description="The consumer falls behind: the oldest message waits too long. An "
                       "idle, empty queue is silent."),
    _by_key(FUNCTION_SIGNALS, "dlq-messages"),
    _by_key(FUNCTION_SIGNALS, "dlq-age"),
)

TOPIC_SIGNALS = (
    Signal("failed-deliveries", "NumberOfNotificationsFailed", "AWS/SNS", "Sum", _GT, _ZERO,
           "deliveries per 5 minutes", (0, 1_000_000), "notBreaching", period=300,
           evaluation=(1, 1),
           description="SNS could not deliver to a subscriber (it retries, then "
                       "dead-letters). Published only when the topic delivers."),
    Signal("redrive-failures", "NumberOfNotificationsFailedToRedriveToDlq", "AWS/SNS", "Sum",
           _GT, _ZERO, "messages per 5 minutes", (0, 1_000_000), "notBreaching", period=300,
           evaluation=(1, 1),
           description="A message SNS gave up on could not reach its dead-letter queue and is "
                       "lost. Published only when it happens."),
    Signal("publish-throttles", "ThrottleCount", "AWS/Usage", "Sum", _GT, _ZERO,
           "throttled calls per minute", (0, 1_000_000), "notBreaching",
           description="SNS throttled Publish calls (the account's regional quota; AWS/Usage). "
                       "Published only when calls are throttled."),
)

WORKFLOW_SIGNALS = (
    Signal("executions-failed", "ExecutionsFailed", "AWS/States", "Sum", _GT, _ZERO,
           "executions per minute", (0, 1_000_000), "notBreaching",
           description="Executions failed. Published only when executions run."),
    Signal("executions-timed-out", "ExecutionsTimedOut", "AWS/States", "Sum", _GT, _ZERO,
           "executions per minute", (0, 1_000_000), "notBreaching",
           description="Executions ran out of time. Published only when executions run."),
    Signal("executions-throttled", "ExecutionThrottled", "AWS/States", "Sum", _GT, _ZERO,
           "executions per minute", (0, 1_000_000), "notBreaching",
           description="Step Functions throttled state transitions. Published only when it "
                       "happens."),
)

RULE_SIGNALS = (
    Signal("failed-invocations", "FailedInvocations", "AWS/Events", "Sum", _GT, _ZERO,
           "invocations per minute", (0, 1_000_000), "notBreaching",
           description="The rule could not deliver to a target (after its retries). "
                       "Published only when the rule matches."),
    Signal("throttled", "ThrottledRules", "AWS/Events", "Sum", _GT, _ZERO,
           "throttled invocations per minute", (0, 1_000_000), "notBreaching",
           description="EventBridge throttled the rule's invocations. Published only when "
                       "it happens."),
    Signal("dead-lettered", "InvocationsSentToDlq", "AWS/Events", "Sum", _GT, _ZERO,
           "events per minute", (0, 1_000_000), "notBreaching",
           description="Events went to the bus's dead-letter queue. Published only when it "
                       "happens."),
)

SIGNALS: dict[str, tuple[Signal, ...]] = {
    "service": SERVICE_SIGNALS,
    "function": FUNCTION_SIGNALS,
    "api": API_SIGNALS,
    "database": DATABASE_SIGNALS,
    "cache": CACHE_SIGNALS,
    "queue": QUEUE_SIGNALS,
    "topic": TOPIC_SIGNALS,
    "workflow": WORKFLOW_SIGNALS,
    "rule": RULE_SIGNALS,
}
"""The default alarms of every kind of monitored thing, keyed by kind."""

API_TYPES = ("http", "rest")


# --- specs -----------------------------------------------------------------------------------

class AlarmOverride(TypedDict):
    """Changes to one default alarm of one monitored thing."""

    enabled: NotRequired[bool]
    """``false`` switches the alarm off (default ``true``)."""
    threshold: NotRequired[int]
    """Threshold in the unit the signal documents (percent, milliseconds, MiB, ...)."""
    evaluation_periods: NotRequired[int]
    """Periods evaluated, 1-60 (default from the tier)."""
    datapoints_to_alarm: NotRequired[int]
    """Breaching periods among them that raise the alarm (default from the tier)."""


class AlarmSetSpec(TypedDict):
    """What every alarm set shares: whose alarms they are and how they are tuned."""

    environment: str
    """Environment (stack) name; first part of every alarm name."""
    tier: NotRequired[str]
    """Tier whose default thresholds and evaluation windows apply (``dev``, ``staging``,
    ``prod``; default the environment's name)."""
    key: str
    """Short name of the monitored service, function, API or store; second part of every
    alarm name."""
    overrides: NotRequired[dict[str, AlarmOverride]]
    """Per-signal changes keyed by signal name (e.g. ``5xx-rate``)."""
    ok_notifications: NotRequired[bool]
    """Also notify when an alarm returns to OK (default ``true``; pass the alerting spec's
    value)."""


def check_alarm_overrides(kind: str, overrides: Mapping[str, AlarmOverride],
                          tier: str = "prod",
                          path: tuple[PathItem, ...] = ("overrides",)) -> list[Problem]:
    """Overrides must name a signal of ``kind`` and keep within its bounds."""
    signals = {s.key: s for s in SIGNALS[kind]}
    problems: list[Problem] = []
    for name, override in sorted(overrides.items()):
        where = (*path, name)
        signal = signals.get(name)
        if signal is None:
            problems.append(Problem(where, f"unknown {kind} alarm '{name}'"
                                           f"{did_you_mean(name, signals)}; known alarms: "
                                           f"{', '.join(signals)}"))
            continue
        if "threshold" in override:
            low, high = signal.bounds
            problems += check_range((*where, "threshold"), override["threshold"], low, high,
                                    f"threshold ({signal.unit})")
        default_periods, _ = signal.evaluation or EVALUATION.get(tier, EVALUATION["prod"])
        periods = override.get("evaluation_periods", default_periods)
        if "evaluation_periods" in override:
            problems += check_range((*where, "evaluation_periods"), periods, 1,
                                    MAX_EVALUATION_PERIODS, "evaluation_periods")
        if "datapoints_to_alarm" in override:
            problems += check_range((*where, "datapoints_to_alarm"),
                                    override["datapoints_to_alarm"], 1, max(periods, 1),
                                    "datapoints_to_alarm (at most evaluation_periods)")
    return problems


def _check_set(kind: str, spec: AlarmSetSpec) -> list[Problem]:
    problems = check_environment_name(spec)
    problems += check_key(("key",), spec["key"])
    problems += check_alarm_overrides(kind, spec.get("overrides", {}), tier_name(spec))
    return problems


class ServiceAlarmsSpec(AlarmSetSpec):
    """Alarms of an ECS service behind a load balancer target group."""

    latency_objective_ms: NotRequired[int]
    """p99 response time the service promises, in milliseconds (default 1000)."""


class ServiceAlarmsArgs(ServiceAlarmsSpec):
    """Service alarm settings plus the identifiers the metrics are dimensioned by."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    cluster_name: pulumi.Input[str]
    """ECS cluster name (``ClusterName`` dimension)."""
    service_name: pulumi.Input[str]
    """ECS service name (``ServiceName`` dimension)."""
    load_balancer_arn_suffix: pulumi.Input[str]
    """Load balancer ARN suffix, ``app/<name>/<id>`` (``LoadBalancer`` dimension)."""
    target_group_arn_suffix: pulumi.Input[str]
    """Target group ARN suffix, ``targetgroup/<name>/<id>`` (``TargetGroup`` dimension)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


def check_service_alarms(spec: ServiceAlarmsSpec) -> list[Problem]:
    problems = _check_set("service", spec)
    if "latency_objective_ms" in spec:
        problems += check_range(("latency_objective_ms",), spec["latency_objective_ms"], 1,
                                600_000, "latency_objective_ms")
    return problems


class KubernetesServiceAlarmsArgs(ServiceAlarmsSpec):
    """Service alarm settings plus the identifiers the metrics of a service on EKS are
    dimensioned by (Container Insights: cluster, namespace and Kubernetes Service)."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    cluster_name: pulumi.Input[str]
    """EKS cluster name (``ClusterName`` dimension)."""
    namespace: pulumi.Input[str]
    """The service's namespace (``Namespace`` dimension)."""
    service_name: pulumi.Input[str]
    """Kubernetes Service in front of its pods (``Service`` dimension)."""
    min_replicas: int
    """Fewest pods the autoscaler keeps; the running-tasks alarm fires below it."""
    load_balancer_arn_suffix: pulumi.Input[str]
    """Load balancer ARN suffix, ``app/<name>/<id>`` (``LoadBalancer`` dimension)."""
    target_group_arn_suffix: pulumi.Input[str]
    """Target group ARN suffix, ``targetgroup/<name>/<id>`` (``TargetGroup`` dimension)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


class FunctionAlarmsSpec(AlarmSetSpec):
    """Alarms of a Lambda function and, when it has one, its dead-letter queue."""


class FunctionAlarmsArgs(FunctionAlarmsSpec):
    """Function alarm settings plus the identifiers the metrics are dimensioned by."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    function_name: pulumi.Input[str]
    """Lambda function name (``FunctionName`` dimension)."""
    timeout_seconds: pulumi.Input[int]
    """The function's timeout; the duration alarm fires at a share of it."""
    dlq_queue_name: NotRequired[pulumi.Input[str]]
    """Dead-letter SQS queue name; omit when the function has none (no DLQ alarms)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


def check_function_alarms(spec: FunctionAlarmsSpec) -> list[Problem]:
    return _check_set("function", spec)


class ApiAlarmsSpec(AlarmSetSpec):
    """Alarms of an API Gateway API (HTTP API or REST API)."""

    api_type: str
    """``http`` (API Gateway v2, ``ApiId`` dimension) or ``rest`` (``ApiName`` + ``Stage``)."""
    latency_objective_ms: NotRequired[int]
    """p99 latency the API promises, in milliseconds (default 1000)."""


class ApiAlarmsArgs(ApiAlarmsSpec):
    """API alarm settings plus the identifiers the metrics are dimensioned by."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    api_id: NotRequired[pulumi.Input[str]]
    """HTTP API id (required for ``http``)."""
    api_name: NotRequired[pulumi.Input[str]]
    """REST API name (required for ``rest``)."""
    stage: NotRequired[pulumi.Input[str]]
    """Stage name (required for ``rest``; for ``http`` narrows the metrics to one stage)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


def check_api_alarms(spec: ApiAlarmsSpec) -> list[Problem]:
    problems = _check_set("api", spec)
    problems += check_choice(("api_type",), spec["api_type"], API_TYPES)
    if "latency_objective_ms" in spec:
        problems += check_range(("latency_objective_ms",), spec["latency_objective_ms"], 1,
                                30_000, "latency_objective_ms")
    return problems


class DatabaseAlarmsSpec(AlarmSetSpec):
    """Alarms of an RDS instance or an Aurora cluster."""

    aurora: NotRequired[bool]
    """``true`` for an Aurora cluster (``DBClusterIdentifier``; adds replica lag, drops free
    storage), ``false`` for an instance (``DBInstanceIdentifier``). Default ``false``."""
    max_connections: NotRequired[int]
    """The engine's ``max_connections``; the connections alarm fires at a share of it
    (default 100)."""


class DatabaseAlarmsArgs(DatabaseAlarmsSpec):
    """Database alarm settings plus the identifier the metrics are dimensioned by."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    db_identifier: pulumi.Input[str]
    """Aurora cluster identifier or RDS instance identifier."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


def check_database_alarms(spec: DatabaseAlarmsSpec) -> list[Problem]:
    problems = _check_set("database", spec)
    if "max_connections" in spec:
        problems += check_range(("max_connections",), spec["max_connections"], 1, 262_142,
                                "max_connections")
    aurora = spec.get("aurora", False)
    not_for = "free-storage" if aurora else "replica-lag"
    if not_for in spec.get("overrides", {}):
        kind = "an Aurora cluster" if aurora else "an RDS instance"
        problems.append(Problem(("overrides", not_for), f"{kind} has no {not_for} alarm"))
    return problems


class CacheAlarmsSpec(AlarmSetSpec):
    """Alarms of every node of an ElastiCache (Valkey/Redis OSS) replication group with
    cluster mode disabled."""

    node_count: int
    """Nodes in the group (``num_cache_clusters``), 1-6; members are ``<group id>-001`` ...
    and each gets its own alarms (ElastiCache publishes per node)."""


class CacheAlarmsArgs(CacheAlarmsSpec):
    """Cache alarm settings plus the identifier the metrics are dimensioned by."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    replication_group_id: pulumi.Input[str]
    """Replication group id; node ``n`` is ``<id>-00n`` (``CacheClusterId`` dimension)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


def check_cache_alarms(spec: CacheAlarmsSpec) -> list[Problem]:
    problems = _check_set("cache", spec)
    problems += check_range(("node_count",), spec["node_count"], 1, 6, "node_count")
    return problems


class QueueAlarmsSpec(AlarmSetSpec):
    """Alarms of a subscription queue and its dead-letter queue."""


class QueueAlarmsArgs(QueueAlarmsSpec):
    """Queue alarm settings plus the queue names the metrics are dimensioned by."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    queue_name: NotRequired[pulumi.Input[str]]
    """The queue consumers read (``QueueName`` dimension); omit to watch only a
    dead-letter queue."""
    dlq_queue_name: NotRequired[pulumi.Input[str]]
    """Its dead-letter queue; omit when it has none (no DLQ alarms)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


class TopicAlarmsSpec(AlarmSetSpec):
    """Alarms of an SNS topic."""

    publish_throttles: NotRequired[bool]
    """Also alarm on throttled SNS Publish calls. The metric is the account's in the region
    (AWS/Usage), so the platform sets this on one topic only (default false)."""


class TopicAlarmsArgs(TopicAlarmsSpec):
    """Topic alarm settings plus the topic name."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    monitored_topic_name: pulumi.Input[str]
    """Name of the topic watched (``TopicName`` dimension)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


class WorkflowAlarmsSpec(AlarmSetSpec):
    """Alarms of a Step Functions state machine."""


class WorkflowAlarmsArgs(WorkflowAlarmsSpec):
    """Workflow alarm settings plus the state machine ARN."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    state_machine_arn: pulumi.Input[str]
    """The state machine (``StateMachineArn`` dimension)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


class RuleAlarmsSpec(AlarmSetSpec):
    """Alarms of an EventBridge rule."""


class RuleAlarmsArgs(RuleAlarmsSpec):
    """Rule alarm settings plus the rule's bus and name."""

    topic_arn: pulumi.Input[str]
    """Alerting topic for ALARM and OK notifications."""
    event_bus_name: pulumi.Input[str]
    """Bus of the rule (``EventBusName`` dimension)."""
    rule_name: pulumi.Input[str]
    """Physical rule name (``RuleName`` dimension)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every alarm."""


# --- building --------------------------------------------------------------------------------

@dataclass
class _Context:
    owner: pulumi.Resource
    prefix: str
    """``<env>-<key>``."""
    tier: str
    overrides: Mapping[str, AlarmOverride]
    actions: list[pulumi.Input[str]]
    ok_actions: list[pulumi.Input[str]]
    tags: pulumi.Input[dict[str, str]] | None
    alarms: dict[str, aws.cloudwatch.MetricAlarm] = field(default_factory=dict)


def _context(owner: pulumi.Resource, spec: Any) -> _Context:
    topic = spec["topic_arn"]
    return _Context(owner, f"{spec['environment']}-{spec['key']}", tier_name(spec),
                    spec.get("overrides", {}), [topic],
                    [topic] if spec.get("ok_notifications", True) else [],
                    spec.get("tags"))


def _add(ctx: _Context, resource_name: str, signal: Signal,
         dimensions: Mapping[str, pulumi.Input[str]], *, suffix: str = "",
         threshold: int | None = None,
         scale: Callable[[int], pulumi.Input[float]] | None = None) -> None:
    """One alarm of ``signal`` unless overridden off; ``scale`` turns the threshold from the
    signal's unit into the metric's."""
    override = ctx.overrides.get(signal.key, {})
    if not override.get("enabled", True):
        return
    value = override.get("threshold", threshold)
    if value is None:
        value = signal.thresholds[ctx.tier]
    periods, datapoints = signal.evaluation or EVALUATION[ctx.tier]
    periods = override.get("evaluation_periods", periods)
    datapoints = min(override.get("datapoints_to_alarm", datapoints), periods)
    alarm_name = f"{ctx.prefix}-{signal.key}{suffix}"
    kwargs: dict[str, Any] = {}
    if signal.math is None:
        kwargs.update(namespace=signal.namespace, metric_name=signal.metric,
                      period=signal.period, dimensions=dict(dimensions))
        if signal.statistic.startswith("p"):
            kwargs["extended_statistic"] = signal.statistic
        else:
            kwargs["statistic"] = signal.statistic
    else:
        expression, queries = signal.math
        metric_queries = [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id, return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=signal.namespace, metric_name=metric, stat=stat,
                    period=signal.period, dimensions=dict(dimensions)))
            for query_id, (metric, stat) in queries.items()]
        metric_queries.append(aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="signal", expression=expression, label=signal.key, return_data=True))
        kwargs["metric_queries"] = metric_queries
    ctx.alarms[signal.key + suffix] = aws.cloudwatch.MetricAlarm(
        f"{resource_name}-{signal.key}{suffix}",
        aws.cloudwatch.MetricAlarmArgs(
            name=alarm_name,
            alarm_description=f"{signal.description} Threshold: {value} {signal.unit}.",
            comparison_operator=signal.comparison,
            threshold=scale(value) if scale else value,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints,
            treat_missing_data=signal.treat_missing_data,
            alarm_actions=ctx.actions,
            ok_actions=ctx.ok_actions,
            tags=ctx.tags,
            **kwargs),
        opts=child_opts(ctx.owner))


class _AlarmSet(pulumi.ComponentResource):
    """What every alarm set exposes."""

    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    """The alarm resources by signal (and node) key, for callers that add composites."""
    alarm_names: pulumi.Output[list[str]]
    """Names of the alarms created, in catalogue order."""
    alarm_arns: pulumi.Output[list[str]]
    """ARNs of the alarms created, in catalogue order."""

    def _finish(self, ctx: _Context) -> None:
        alarms = list(ctx.alarms.values())
        self.alarms = ctx.alarms
        self.alarm_names = pulumi.Output.all(*[a.name for a in alarms])
        self.alarm_arns = pulumi.Output.all(*[a.arn for a in alarms])
        self.register_outputs({"alarm_names": self.alarm_names, "alarm_arns": self.alarm_arns})


def _signal(kind: str, key: str) -> Signal:
    return next(s for s in SIGNALS[kind] if s.key == key)


class ServiceAlarms(_AlarmSet):
    """Default alarms of an ECS service behind a load balancer: target 5xx rate, unhealthy
    targets, p99 latency against the objective, CPU, memory, and running tasks short of the
    desired count (needs Container Insights on the cluster)."""

    def __init__(self, name: str, args: ServiceAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("ServiceAlarms"), name, None, opts)
        raise_for("ServiceAlarms", name, check_service_alarms(args))
        ctx = _context(self, args)
        lb = {"LoadBalancer": args["load_balancer_arn_suffix"],
              "TargetGroup": args["target_group_arn_suffix"]}
        ecs = {"ClusterName": args["cluster_name"], "ServiceName": args["service_name"]}
        _add(ctx, name, _signal("service", "5xx-rate"), lb)
        _add(ctx, name, _signal("service", "unhealthy-hosts"), lb)
        # TargetResponseTime is in seconds; the objective is in milliseconds.
        _add(ctx, name, _signal("service", "latency-p99"), lb,
             threshold=args.get("latency_objective_ms", 1000), scale=lambda ms: ms / 1000)
        _add(ctx, name, _signal("service", "cpu-high"), ecs)
        _add(ctx, name, _signal("service", "memory-high"), ecs)
        _add(ctx, name, _signal("service", "running-tasks"), ecs)
        self._finish(ctx)


def _pods(signal: Signal, metric: str, description: str) -> Signal:
    """A service signal measured on the pods of an EKS service (Container Insights)."""
    return replace(signal, metric=metric, namespace="ContainerInsights",
                   description=description)


class KubernetesServiceAlarms(_AlarmSet):
    """The alarms of an ECS service, for a service on EKS: the same load balancer signals,
    CPU and memory as a share of the pods' limits, and fewer running pods than the
    autoscaler's minimum (Container Insights on the cluster). Overrides use the same
    signal names."""

    def __init__(self, name: str, args: KubernetesServiceAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("KubernetesServiceAlarms"), name, None, opts)
        problems = check_service_alarms(args)
        problems += check_range(("min_replicas",), args["min_replicas"], 1, 1000,
                                "min_replicas")
        raise_for("KubernetesServiceAlarms", name, problems)
        ctx = _context(self, args)
        lb = {"LoadBalancer": args["load_balancer_arn_suffix"],
              "TargetGroup": args["target_group_arn_suffix"]}
        pods = {"ClusterName": args["cluster_name"], "Namespace": args["namespace"],
                "Service": args["service_name"]}
        _add(ctx, name, _signal("service", "5xx-rate"), lb)
        _add(ctx, name, _signal("service", "unhealthy-hosts"), lb)
        _add(ctx, name, _signal("service", "latency-p99"), lb,
             threshold=args.get("latency_objective_ms", 1000), scale=lambda ms: ms / 1000)
        _add(ctx, name, _pods(_signal("service", "cpu-high"),
                              "pod_cpu_utilization_over_pod_limit",
                              "Pods use most of their CPU limit. No pods, no datapoints: "
                              "running-tasks pages."), pods)
        _add(ctx, name, _pods(_signal("service", "memory-high"),
                              "pod_memory_utilization_over_pod_limit",
                              "Pods near their memory limit (then the OOM killer). No pods, "
                              "no datapoints: running-tasks pages."), pods)
        running = replace(
            _pods(_signal("service", "running-tasks"), "service_number_of_running_pods",
                  "Fewer pods run than the autoscaler's minimum. Container Insights reports "
                  "every minute while the service exists, so silence is breaching."),
            math=(f"{args['min_replicas']} - running",
                  {"running": ("service_number_of_running_pods", "Average")}))
        _add(ctx, name, running, pods)
        self._finish(ctx)


class FunctionAlarms(_AlarmSet):
    """Default alarms of a Lambda function: errors, throttles, p99 duration near the timeout,
    and (when it has a dead-letter queue) messages in and age of the oldest in that queue."""

    def __init__(self, name: str, args: FunctionAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("FunctionAlarms"), name, None, opts)
        raise_for("FunctionAlarms", name, check_function_alarms(args))
        ctx = _context(self, args)
        fn = {"FunctionName": args["function_name"]}
        timeout = pulumi.Output.from_input(args["timeout_seconds"])
        _add(ctx, name, _signal("function", "errors"), fn)
        _add(ctx, name, _signal("function", "throttles"), fn)
        # Duration is in milliseconds; the threshold is a percentage of the timeout.
        _add(ctx, name, _signal("function", "duration-p99"), fn,
             scale=lambda pct: timeout.apply(lambda s: s * 1000 * pct / 100))
        if "dlq_queue_name" in args:
            queue = {"QueueName": args["dlq_queue_name"]}
            _add(ctx, name, _signal("function", "dlq-messages"), queue)
            _add(ctx, name, _signal("function", "dlq-age"), queue)
        self._finish(ctx)


class ApiAlarms(_AlarmSet):
    """Default alarms of an API Gateway API: 5xx rate and p99 latency. HTTP APIs publish
    ``5xx`` by ``ApiId`` (and ``Stage``); REST APIs publish ``5XXError`` by ``ApiName`` and
    ``Stage``."""

    def __init__(self, name: str, args: ApiAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("ApiAlarms"), name, None, opts)
        problems = check_api_alarms(args)
        needs: tuple[str, ...] = {"http": ("api_id",), "rest": ("api_name", "stage")}.get(
            args["api_type"], ())
        problems += [Problem((field_,), f"required when api_type is {args['api_type']}")
                     for field_ in needs if field_ not in args]
        raise_for("ApiAlarms", name, problems)
        ctx = _context(self, args)
        errors = _signal("api", "5xx-rate")
        dims: dict[str, pulumi.Input[str]]
        if args["api_type"] == "http":
            dims = {"ApiId": args["api_id"]}
            if "stage" in args:
                dims["Stage"] = args["stage"]
        else:
            dims = {"ApiName": args["api_name"], "Stage": args["stage"]}
            errors = _rest(errors)
        _add(ctx, name, errors, dims)
        _add(ctx, name, _signal("api", "latency-p99"), dims,
             threshold=args.get("latency_objective_ms", 1000))
        self._finish(ctx)


def _rest(signal: Signal) -> Signal:
    """REST APIs name the server-error count ``5XXError``."""
    return replace(signal, metric="5XXError",
                   math=(_ERROR_RATE_EXPR, {"errors": ("5XXError", "Sum"),
                                            "requests": ("Count", "Sum")}))


MIB = 1024 * 1024
GIB = 1024 * MIB


class DatabaseAlarms(_AlarmSet):
    """Default alarms of an RDS instance or Aurora cluster: CPU (heartbeat), freeable memory,
    free storage (instances), connections near ``max_connections`` and Aurora replica lag."""

    def __init__(self, name: str, args: DatabaseAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("DatabaseAlarms"), name, None, opts)
        raise_for("DatabaseAlarms", name, check_database_alarms(args))
        ctx = _context(self, args)
        aurora = args.get("aurora", False)
        dims = {("DBClusterIdentifier" if aurora else "DBInstanceIdentifier"):
                args["db_identifier"]}
        max_connections = args.get("max_connections", 100)
        _add(ctx, name, _signal("database", "cpu-high"), dims)
        _add(ctx, name, _signal("database", "freeable-memory"), dims, scale=lambda m: m * MIB)
        if not aurora:
            _add(ctx, name, _signal("database", "free-storage"), dims, scale=lambda g: g * GIB)
        _add(ctx, name, _signal("database", "connections"), dims,
             scale=lambda pct: max_connections * pct / 100)
        if aurora:
            _add(ctx, name, _signal("database", "replica-lag"), dims)
        self._finish(ctx)


class CacheAlarms(_AlarmSet):
    """Default alarms of each node of an ElastiCache replication group: engine CPU
    (heartbeat), memory use, connections and, with replicas, replication lag."""

    def __init__(self, name: str, args: CacheAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("CacheAlarms"), name, None, opts)
        raise_for("CacheAlarms", name, check_cache_alarms(args))
        ctx = _context(self, args)
        group = args["replication_group_id"]
        count = args["node_count"]
        for number in range(1, count + 1):
            member = f"{number:03d}"
            dims = {"CacheClusterId": pulumi.Output.concat(group, f"-{member}")}
            for signal in CACHE_SIGNALS:
                if signal.key == "replication-lag" and count == 1:
                    continue
                _add(ctx, name, signal, dims, suffix=f"-{member}")
        self._finish(ctx)


class QueueAlarms(_AlarmSet):
    """Default alarms of a queue: age of the oldest message (the consumer falls behind) and,
    with a dead-letter queue, messages in it and the age of the oldest there."""

    def __init__(self, name: str, args: QueueAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("QueueAlarms"), name, None, opts)
        raise_for("QueueAlarms", name, _check_set("queue", args))
        ctx = _context(self, args)
        if "queue_name" in args:
            _add(ctx, name, _signal("queue", "oldest-message"),
                 {"QueueName": args["queue_name"]})
        if "dlq_queue_name" in args:
            dlq = {"QueueName": args["dlq_queue_name"]}
            _add(ctx, name, _signal("queue", "dlq-messages"), dlq)
            _add(ctx, name, _signal("queue", "dlq-age"), dlq)
        self._finish(ctx)


class TopicAlarms(_AlarmSet):
    """Default alarms of a topic: failed deliveries, messages lost on the way to a
    dead-letter queue and, when asked, the account's throttled Publish calls."""

    def __init__(self, name: str, args: TopicAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("TopicAlarms"), name, None, opts)
        raise_for("TopicAlarms", name, _check_set("topic", args))
        ctx = _context(self, args)
        dims = {"TopicName": args["monitored_topic_name"]}
        _add(ctx, name, _signal("topic", "failed-deliveries"), dims)
        _add(ctx, name, _signal("topic", "redrive-failures"), dims)
        if args.get("publish_throttles", False):
            _add(ctx, name, _signal("topic", "publish-throttles"),
                 {"Service": "SNS", "Type": "API", "Resource": "Publish", "Class": "None"})
        self._finish(ctx)


class WorkflowAlarms(_AlarmSet):
    """Default alarms of a state machine: failed, timed-out and throttled executions."""

    def __init__(self, name: str, args: WorkflowAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("WorkflowAlarms"), name, None, opts)
        raise_for("WorkflowAlarms", name, _check_set("workflow", args))
        ctx = _context(self, args)
        for signal in WORKFLOW_SIGNALS:
            _add(ctx, name, signal, {"StateMachineArn": args["state_machine_arn"]})
        self._finish(ctx)


class RuleAlarms(_AlarmSet):
    """Default alarms of an EventBridge rule: failed, throttled and dead-lettered
    invocations."""

    def __init__(self, name: str, args: RuleAlarmsArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("RuleAlarms"), name, None, opts)
        raise_for("RuleAlarms", name, _check_set("rule", args))
        ctx = _context(self, args)
        for signal in RULE_SIGNALS:
            _add(ctx, name, signal, {"EventBusName": args["event_bus_name"],
                                     "RuleName": args["rule_name"]})
        self._finish(ctx)


def signal_keys(kind: str) -> list[str]:
    """The default alarm (signal) names of a kind, in catalogue order."""
    return [s.key for s in SIGNALS[kind]]
