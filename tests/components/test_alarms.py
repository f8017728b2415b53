"""Default alarms per kind and tier, overrides, actions and validation messages."""

import re
from typing import Any

import pytest

from components.alarms import (
    ApiAlarms,
    CacheAlarms,
    DatabaseAlarms,
    FunctionAlarms,
    KubernetesServiceAlarms,
    ServiceAlarms,
    check_alarm_overrides,
    check_service_alarms,
    signal_keys,
)
from components.alerting import Alerting
from components.validation import ArgsError
from preflight.capture import Capture, Registration, capture

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "arn:aws:sns:us-east-1:123456789012:prod-alerts"
GT, GE, LT = "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold"
NB, B = "notBreaching", "breaching"

SERVICE_WIRING: dict[str, Any] = {
    "topic_arn": TOPIC, "cluster_name": "prod-cluster", "service_name": "orders",
    "load_balancer_arn_suffix": "app/prod-alb/50dc6c495c0c9188",
    "target_group_arn_suffix": "targetgroup/orders/73e2d6bc24d8a067"}
ALB_DIMS = {"LoadBalancer": "app/prod-alb/50dc6c495c0c9188",
            "TargetGroup": "targetgroup/orders/73e2d6bc24d8a067"}
ECS_DIMS = {"ClusterName": "prod-cluster", "ServiceName": "orders"}


def run(build: Any, preview: bool = True) -> Capture:
    return capture(build, preview=preview)


def alarms(cap: Capture) -> dict[str, Registration]:
    return {r.inputs["name"]: r for r in cap.of_type(ALARM)}


def summary(reg: Registration) -> tuple[Any, ...]:
    """(metric, statistic, comparison, threshold, periods, datapoints, missing data)."""
    i = reg.inputs
    if "metricQueries" in i:
        metric: Any = tuple([q["metric"]["metricName"] for q in i["metricQueries"]
                             if "metric" in q]
                            + [q["expression"] for q in i["metricQueries"] if q.get("returnData")])
        stat: Any = tuple(q["metric"]["stat"] for q in i["metricQueries"] if "metric" in q)
    else:
        metric = i["metricName"]
        stat = i.get("statistic") or i.get("extendedStatistic")
    return (metric, stat, i["comparisonOperator"], i["threshold"], i["evaluationPeriods"],
            i["datapointsToAlarm"], i["treatMissingData"])


def service(env: str = "prod", **spec: Any) -> Capture:
    args: Any = {"environment": env, "key": "orders", **SERVICE_WIRING, **spec}
    return run(lambda: ServiceAlarms("orders", args))


# --- services ---------------------------------------------------------------------------------

RATE = ("HTTPCode_Target_5XX_Count", "RequestCount", "100 * FILL(errors, 0) / requests")
TASKS = ("DesiredTaskCount", "RunningTaskCount", "desired - running")


def test_service_prod_alarm_set_is_exact():
    found = {name: summary(reg) for name, reg in alarms(service("prod")).items()}
    assert found == {
        "prod-orders-5xx-rate": (RATE, ("Sum", "Sum"), GT, 1, 3, 2, NB),
        "prod-orders-unhealthy-hosts": ("UnHealthyHostCount", "Maximum", GT, 0, 3, 2, NB),
        "prod-orders-latency-p99": ("TargetResponseTime", "p99", GT, 1.0, 3, 2, NB),
        "prod-orders-cpu-high": ("CPUUtilization", "Average", GT, 80, 3, 2, NB),
        "prod-orders-memory-high": ("MemoryUtilization", "Average", GT, 80, 3, 2, NB),
        "prod-orders-running-tasks": (TASKS, ("Average", "Average"), GT, 0, 3, 2, B),
    }


def test_service_dev_is_looser_and_latency_follows_the_objective():
    found = {name: summary(reg)
             for name, reg in alarms(service("dev", latency_objective_ms=250)).items()}
    assert found == {
        "dev-orders-5xx-rate": (RATE, ("Sum", "Sum"), GT, 10, 5, 5, NB),
        "dev-orders-unhealthy-hosts": ("UnHealthyHostCount", "Maximum", GT, 0, 5, 5, NB),
        "dev-orders-latency-p99": ("TargetResponseTime", "p99", GT, 0.25, 5, 5, NB),
        "dev-orders-cpu-high": ("CPUUtilization", "Average", GT, 90, 5, 5, NB),
        "dev-orders-memory-high": ("MemoryUtilization", "Average", GT, 90, 5, 5, NB),
        "dev-orders-running-tasks": (TASKS, ("Average", "Average"), GT, 0, 5, 5, B),
    }


def test_staging_thresholds_sit_between_dev_and_prod():
    found = {name: summary(reg)[3:6] for name, reg in alarms(service("staging")).items()}
    assert found["staging-orders-5xx-rate"] == (5, 5, 3)
    assert found["staging-orders-cpu-high"] == (85, 5, 3)


def test_service_dimensions_come_from_the_wiring():
    found = alarms(service())
    assert found["prod-orders-unhealthy-hosts"].inputs["dimensions"] == ALB_DIMS
    assert found["prod-orders-cpu-high"].inputs["dimensions"] == ECS_DIMS
    queries = found["prod-orders-5xx-rate"].inputs["metricQueries"]
    assert [q["metric"]["dimensions"] for q in queries[:2]] == [ALB_DIMS, ALB_DIMS]
    assert [q["metric"]["namespace"] for q in queries[:2]] == ["AWS/ApplicationELB"] * 2
    assert queries[2] == {"id": "signal", "expression": "100 * FILL(errors, 0) / requests",
                          "label": "5xx-rate", "returnData": True}
    tasks = found["prod-orders-running-tasks"].inputs["metricQueries"]
    assert [q["metric"]["namespace"] for q in tasks[:2]] == ["ECS/ContainerInsights"] * 2
    assert [q["metric"]["dimensions"] for q in tasks[:2]] == [ECS_DIMS, ECS_DIMS]


POD_DIMS = {"ClusterName": "prod-k8s-eks", "Namespace": "orders", "Service": "orders"}


def kubernetes_service(**spec: Any) -> Capture:
    args: Any = {"environment": "prod-k8s", "tier": "prod", "key": "orders",
                 **SERVICE_WIRING, "cluster_name": "prod-k8s-eks", "namespace": "orders",
                 "service_name": "orders", "min_replicas": 3, **spec}
    return run(lambda: KubernetesServiceAlarms("orders", args))


def test_kubernetes_service_alarms_are_the_service_set_on_pods():
    found = alarms(kubernetes_service(overrides={"memory-high": {"threshold": 90}}))
    assert {name: summary(reg) for name, reg in found.items()} == {
        "prod-k8s-orders-5xx-rate": (RATE, ("Sum", "Sum"), GT, 1, 3, 2, NB),
        "prod-k8s-orders-unhealthy-hosts": ("UnHealthyHostCount", "Maximum", GT, 0, 3, 2, NB),
        "prod-k8s-orders-latency-p99": ("TargetResponseTime", "p99", GT, 1.0, 3, 2, NB),
        "prod-k8s-orders-cpu-high": ("pod_cpu_utilization_over_pod_limit", "Average", GT, 80,
                                     3, 2, NB),
        "prod-k8s-orders-memory-high": ("pod_memory_utilization_over_pod_limit", "Average",
                                        GT, 90, 3, 2, NB),
        "prod-k8s-orders-running-tasks": (("service_number_of_running_pods", "3 - running"),
                                          ("Average",), GT, 0, 3, 2, B),
    }
    assert found["prod-k8s-orders-unhealthy-hosts"].inputs["dimensions"] == ALB_DIMS
    assert (found["prod-k8s-orders-cpu-high"].inputs["namespace"],
            found["prod-k8s-orders-cpu-high"].inputs["dimensions"]) == (
        "ContainerInsights", POD_DIMS)
    running = found["prod-k8s-orders-running-tasks"].inputs["metricQueries"][0]["metric"]
    assert (running["namespace"], running["dimensions"]) == ("ContainerInsights", POD_DIMS)


def test_kubernetes_service_alarms_check_their_minimum():
    with pytest.raises(ArgsError) as err:
        kubernetes_service(min_replicas=0)
    assert str(err.value) == ("KubernetesServiceAlarms 'orders': minReplicas: min_replicas "
                              "must be between 1 and 1000 (got 0)")


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok():
    for reg in alarms(service()).values():
        assert reg.inputs["alarmActions"] == [TOPIC], reg.name
        assert reg.inputs["okActions"] == [TOPIC], reg.name


def test_ok_notifications_can_be_switched_off():
    for reg in alarms(service(ok_notifications=False)).values():
        assert reg.inputs["alarmActions"] == [TOPIC]
        assert reg.inputs["okActions"] == []


def test_overrides_disable_retune_and_rewindow():
    found = alarms(service(overrides={
        "memory-high": {"enabled": False},
        "cpu-high": {"threshold": 70, "evaluation_periods": 10, "datapoints_to_alarm": 7},
        "latency-p99": {"threshold": 400}}))
    assert "prod-orders-memory-high" not in found
    assert len(found) == 5
    assert summary(found["prod-orders-cpu-high"])[3:6] == (70, 10, 7)
    assert found["prod-orders-latency-p99"].inputs["threshold"] == 0.4


def test_alarms_wait_for_the_topic_and_its_policy():
    def build() -> None:
        alerting = Alerting("alerts", {"environment": "prod",
                                       "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k"})
        args: Any = {"environment": "prod", "key": "orders",
                     **{**SERVICE_WIRING, "topic_arn": alerting.topic_arn}}
        ServiceAlarms("orders", args)
    cap = run(build)
    topic, policy = cap.named("alerts-topic"), cap.named("alerts-topic-policy")
    for reg in cap.of_type(ALARM):
        # Known at preview (the policy pack can see the action) and ordered after the topic.
        assert reg.inputs["alarmActions"] == [TOPIC]
        assert set(reg.property_dependencies["alarmActions"]) == {topic.urn, policy.urn}


# --- functions --------------------------------------------------------------------------------

def function(env: str = "prod", dlq: bool = True, **spec: Any) -> Capture:
    wiring: dict[str, Any] = {"topic_arn": TOPIC, "function_name": "prod-resize",
                              "timeout_seconds": 30}
    if dlq:
        wiring["dlq_queue_name"] = "prod-resize-dlq"
    args: Any = {"environment": env, "key": "resize", **wiring, **spec}
    return run(lambda: FunctionAlarms("resize", args), preview=False)


def test_function_prod_alarm_set_is_exact():
    found = {name: summary(reg) for name, reg in alarms(function()).items()}
    assert found == {
        "prod-resize-errors": ("Errors", "Sum", GT, 0, 3, 2, NB),
        "prod-resize-throttles": ("Throttles", "Sum", GT, 0, 3, 2, NB),
        "prod-resize-duration-p99": ("Duration", "p99", GE, 24_000, 3, 2, NB),
        "prod-resize-dlq-messages": ("ApproximateNumberOfMessagesVisible", "Maximum", GT, 0,
                                     1, 1, NB),
        "prod-resize-dlq-age": ("ApproximateAgeOfOldestMessage", "Maximum", GT, 3600, 1, 1, NB),
    }
    regs = alarms(function())
    assert regs["prod-resize-errors"].inputs["dimensions"] == {"FunctionName": "prod-resize"}
    assert regs["prod-resize-dlq-age"].inputs["dimensions"] == {"QueueName": "prod-resize-dlq"}
    assert regs["prod-resize-dlq-age"].inputs["period"] == 300


def test_function_without_dlq_and_dev_tier():
    found = {name: summary(reg) for name, reg in alarms(function("dev", dlq=False)).items()}
    assert found == {
        "dev-resize-errors": ("Errors", "Sum", GT, 5, 5, 5, NB),
        "dev-resize-throttles": ("Throttles", "Sum", GT, 5, 5, 5, NB),
        "dev-resize-duration-p99": ("Duration", "p99", GE, 24_000, 5, 5, NB),
    }


def test_function_duration_override_is_a_share_of_the_timeout():
    found = alarms(function(overrides={"duration-p99": {"threshold": 50}}))
    assert found["prod-resize-duration-p99"].inputs["threshold"] == 15_000


# --- APIs -------------------------------------------------------------------------------------

def test_http_api_uses_5xx_and_api_id():
    cap = run(lambda: ApiAlarms("edge", {"environment": "prod", "key": "edge",
                                         "api_type": "http", "topic_arn": TOPIC,
                                         "api_id": "a1b2c3", "latency_objective_ms": 300}))
    found = alarms(cap)
    assert {n: summary(r) for n, r in found.items()} == {
        "prod-edge-5xx-rate": (("5xx", "Count", "100 * FILL(errors, 0) / requests"),
                               ("Sum", "Sum"), GT, 1, 3, 2, NB),
        "prod-edge-latency-p99": ("Latency", "p99", GT, 300, 3, 2, NB),
    }
    assert found["prod-edge-latency-p99"].inputs["dimensions"] == {"ApiId": "a1b2c3"}
    assert found["prod-edge-latency-p99"].inputs["namespace"] == "AWS/ApiGateway"


def test_rest_api_uses_5XXError_and_name_plus_stage():
    cap = run(lambda: ApiAlarms("edge", {"environment": "staging", "key": "edge",
                                         "api_type": "rest", "topic_arn": TOPIC,
                                         "api_name": "staging-edge", "stage": "v1"}))
    found = alarms(cap)
    assert {n: summary(r) for n, r in found.items()} == {
        "staging-edge-5xx-rate": (("5XXError", "Count", "100 * FILL(errors, 0) / requests"),
                                  ("Sum", "Sum"), GT, 5, 5, 3, NB),
        "staging-edge-latency-p99": ("Latency", "p99", GT, 1000, 5, 3, NB),
    }
    dims = {"ApiName": "staging-edge", "Stage": "v1"}
    assert found["staging-edge-latency-p99"].inputs["dimensions"] == dims
    assert [q["metric"]["dimensions"] for q in
            found["staging-edge-5xx-rate"].inputs["metricQueries"][:2]] == [dims, dims]


def test_rest_api_needs_name_and_stage():
    with pytest.raises(ArgsError, match=re.escape(
            "ApiAlarms 'edge': apiName: required when api_type is rest\n"
            "ApiAlarms 'edge': stage: required when api_type is rest")):
        run(lambda: ApiAlarms("edge", {"environment": "prod", "key": "edge",
                                       "api_type": "rest", "topic_arn": TOPIC}))


# --- stores -----------------------------------------------------------------------------------

def test_aurora_cluster_alarm_set_is_exact():
    cap = run(lambda: DatabaseAlarms("ledger", {"environment": "prod", "key": "ledger",
                                                "aurora": True, "max_connections": 2000,
                                                "topic_arn": TOPIC,
                                                "db_identifier": "prod-ledger"}))
    found = alarms(cap)
    assert {n: summary(r) for n, r in found.items()} == {
        "prod-ledger-cpu-high": ("CPUUtilization", "Maximum", GT, 80, 3, 2, B),
        "prod-ledger-freeable-memory": ("FreeableMemory", "Minimum", LT, 512 * 1024 ** 2, 3, 2,
                                        NB),
        "prod-ledger-connections": ("DatabaseConnections", "Maximum", GT, 1600, 3, 2, NB),
        "prod-ledger-replica-lag": ("AuroraReplicaLagMaximum", "Maximum", GT, 1000, 3, 2, NB),
    }
    for reg in found.values():
        assert reg.inputs["dimensions"] == {"DBClusterIdentifier": "prod-ledger"}
        assert reg.inputs["namespace"] == "AWS/RDS"


def test_rds_instance_alarm_set_is_exact():
    cap = run(lambda: DatabaseAlarms("ledger", {"environment": "dev", "key": "ledger",
                                                "topic_arn": TOPIC,
                                                "db_identifier": "dev-ledger"}))
    found = alarms(cap)
    assert {n: summary(r) for n, r in found.items()} == {
        "dev-ledger-cpu-high": ("CPUUtilization", "Maximum", GT, 90, 5, 5, B),
        "dev-ledger-freeable-memory": ("FreeableMemory", "Minimum", LT, 128 * 1024 ** 2, 5, 5,
                                       NB),
        "dev-ledger-free-storage": ("FreeStorageSpace", "Minimum", LT, 5 * 1024 ** 3, 5, 5, NB),
        "dev-ledger-connections": ("DatabaseConnections", "Maximum", GT, 90, 5, 5, NB),
    }
    for reg in found.values():
        assert reg.inputs["dimensions"] == {"DBInstanceIdentifier": "dev-ledger"}


def test_cache_alarms_per_node_with_replication_lag_only_with_replicas():
    def build(count: int) -> Any:
        return lambda: CacheAlarms("sessions", {"environment": "prod", "key": "sessions",
                                                "node_count": count, "topic_arn": TOPIC,
                                                "replication_group_id": "prod-sessions"})
    found = alarms(run(build(2)))
    expected: dict[str, Any] = {}
    for node in ("001", "002"):
        expected |= {
            f"prod-sessions-engine-cpu-{node}": ("EngineCPUUtilization", "Average", GT, 80, 3,
                                                 2, B),
            f"prod-sessions-memory-{node}": ("DatabaseMemoryUsagePercentage", "Average", GT, 80,
                                             3, 2, NB),
            f"prod-sessions-connections-{node}": ("CurrConnections", "Maximum", GT, 5000, 3, 2,
                                                  NB),
            f"prod-sessions-replication-lag-{node}": ("ReplicationLag", "Maximum", GT, 1, 3, 2,
                                                      NB),
        }
    assert {n: summary(r) for n, r in found.items()} == expected
    assert found["prod-sessions-memory-002"].inputs["dimensions"] == {
        "CacheClusterId": "prod-sessions-002"}
    single = alarms(run(build(1)))
    assert sorted(single) == ["prod-sessions-connections-001", "prod-sessions-engine-cpu-001",
                              "prod-sessions-memory-001"]


def test_every_kind_notifies_on_alarm_and_ok():
    def build() -> None:
        FunctionAlarms("f", {"environment": "prod", "key": "fn", "topic_arn": TOPIC,
                             "function_name": "f", "timeout_seconds": 3,
                             "dlq_queue_name": "q"})
        ApiAlarms("a", {"environment": "prod", "key": "api", "api_type": "http",
                        "topic_arn": TOPIC, "api_id": "x"})
        DatabaseAlarms("d", {"environment": "prod", "key": "db", "topic_arn": TOPIC,
                             "db_identifier": "d", "aurora": True})
        CacheAlarms("c", {"environment": "prod", "key": "cache", "topic_arn": TOPIC,
                          "node_count": 3, "replication_group_id": "c"})
    regs = run(build).of_type(ALARM)
    assert len(regs) == 5 + 2 + 4 + 12
    for reg in regs:
        assert (reg.inputs["alarmActions"], reg.inputs["okActions"]) == ([TOPIC], [TOPIC])
        assert reg.inputs["treatMissingData"] in (B, NB)


# --- validation -------------------------------------------------------------------------------

def test_unknown_alarm_name_suggests_the_closest():
    assert [p.message for p in check_alarm_overrides("service", {"5xx-rat": {}})] == [
        "unknown service alarm '5xx-rat' (did you mean '5xx-rate'?); known alarms: 5xx-rate, "
        "unhealthy-hosts, latency-p99, cpu-high, memory-high, running-tasks"]


def test_threshold_out_of_range_and_window_rules():
    problems = check_alarm_overrides("service", {
        "cpu-high": {"threshold": 150, "evaluation_periods": 4, "datapoints_to_alarm": 5},
        "running-tasks": {"evaluation_periods": 0}})
    assert [(p.path, p.message) for p in problems] == [
        (("overrides", "cpu-high", "threshold"),
         "threshold (percent) must be between 1 and 100 (got 150)"),
        (("overrides", "cpu-high", "datapoints_to_alarm"),
         "datapoints_to_alarm (at most evaluation_periods) must be between 1 and 4 (got 5)"),
        (("overrides", "running-tasks", "evaluation_periods"),
         "evaluation_periods must be between 1 and 60 (got 0)"),
    ]


def test_datapoints_are_checked_against_the_tier_window():
    problems = check_alarm_overrides("service", {"cpu-high": {"datapoints_to_alarm": 4}},
                                     tier="prod")
    assert [p.message for p in problems] == [
        "datapoints_to_alarm (at most evaluation_periods) must be between 1 and 3 (got 4)"]
    assert check_alarm_overrides("service", {"cpu-high": {"datapoints_to_alarm": 4}},
                                 tier="dev") == []


def test_component_raises_with_every_problem_before_creating_alarms():
    with pytest.raises(ArgsError, match=re.escape(
            "ServiceAlarms 'orders': environment: 'qa' is not allowed: use one of dev, staging, "
            "prod\n"
            "ServiceAlarms 'orders': key: 'Orders' is not a valid name: use 2-32 lowercase "
            "letters, digits and single hyphens, starting with a letter\n"
            "ServiceAlarms 'orders': overrides.cpu-hi: unknown service alarm 'cpu-hi' (did "
            "you mean 'cpu-high'?); known alarms: 5xx-rate, unhealthy-hosts, latency-p99, "
            "cpu-high, memory-high, running-tasks\n"
            "ServiceAlarms 'orders': latencyObjectiveMs: latency_objective_ms must be between 1 "
            "and 600000 (got 0)")):
        args: Any = {"environment": "qa", "key": "Orders", "latency_objective_ms": 0,
                     "overrides": {"cpu-hi": {}}, **SERVICE_WIRING}
        run(lambda: ServiceAlarms("orders", args))


def test_store_overrides_must_fit_the_deployment():
    with pytest.raises(ArgsError, match=re.escape(
            "DatabaseAlarms 'ledger': overrides.replica-lag: an RDS instance has no replica-lag "
            "alarm")):
        run(lambda: DatabaseAlarms("ledger", {"environment": "prod", "key": "ledger",
                                              "topic_arn": TOPIC, "db_identifier": "x",
                                              "overrides": {"replica-lag": {"threshold": 50}}}))
    with pytest.raises(ArgsError, match=re.escape(
            "CacheAlarms 'c': nodeCount: node_count must be between 1 and 6 (got 7)")):
        run(lambda: CacheAlarms("c", {"environment": "prod", "key": "cache", "topic_arn": TOPIC,
                                      "node_count": 7, "replication_group_id": "c"}))


def test_check_function_is_pure_and_spec_only():
    assert check_service_alarms({"environment": "prod", "key": "orders"}) == []
    assert signal_keys("api") == ["5xx-rate", "latency-p99"]


# --- the event flow's alarm sets ----------------------------------------------------------------

def test_queue_alarms_watch_consumer_lag_and_the_dead_letter_queue() -> None:
    from components.alarms import QueueAlarms

    cap = run(lambda: QueueAlarms("q", {"environment": "prod", "key": "order-events-billing",
                                        "topic_arn": TOPIC,
                                        "queue_name": "prod-order-events-billing",
                                        "dlq_queue_name": "prod-order-events-billing-dlq"}))
    found = alarms(cap)
    assert {n: summary(r) for n, r in found.items()} == {
        "prod-order-events-billing-oldest-message": (
            "ApproximateAgeOfOldestMessage", "Maximum", GT, 300, 1, 1, NB),
        "prod-order-events-billing-dlq-messages": (
            "ApproximateNumberOfMessagesVisible", "Maximum", GT, 0, 1, 1, NB),
        "prod-order-events-billing-dlq-age": (
            "ApproximateAgeOfOldestMessage", "Maximum", GT, 3600, 1, 1, NB)}
    assert found["prod-order-events-billing-oldest-message"].inputs["dimensions"] == {
        "QueueName": "prod-order-events-billing"}
    assert found["prod-order-events-billing-dlq-age"].inputs["dimensions"] == {
        "QueueName": "prod-order-events-billing-dlq"}


def test_a_dead_letter_queue_alone_gets_only_its_alarms() -> None:
    from components.alarms import QueueAlarms

    cap = run(lambda: QueueAlarms("q", {"environment": "dev", "key": "events",
                                        "topic_arn": TOPIC, "dlq_queue_name": "dev-events-dlq"}))
    assert sorted(alarms(cap)) == ["dev-events-dlq-age", "dev-events-dlq-messages"]


def test_topic_alarms_and_the_account_wide_publish_throttles() -> None:
    from components.alarms import TopicAlarms

    def build(throttles: bool) -> Capture:
        return run(lambda: TopicAlarms("t", {
            "environment": "prod", "key": "order-events", "topic_arn": TOPIC,
            "monitored_topic_name": "prod-order-events", "publish_throttles": throttles}))

    assert sorted(alarms(build(False))) == ["prod-order-events-failed-deliveries",
                                            "prod-order-events-redrive-failures"]
    found = alarms(build(True))
    assert summary(found["prod-order-events-failed-deliveries"]) == (
        "NumberOfNotificationsFailed", "Sum", GT, 0, 1, 1, NB)
    assert found["prod-order-events-failed-deliveries"].inputs["dimensions"] == {
        "TopicName": "prod-order-events"}
    assert summary(found["prod-order-events-publish-throttles"]) == (
        "ThrottleCount", "Sum", GT, 0, 3, 2, NB)


def test_workflow_and_rule_alarms() -> None:
    from components.alarms import RuleAlarms, WorkflowAlarms

    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:prod-fulfilment"
    found = alarms(run(lambda: WorkflowAlarms("w", {
        "environment": "prod", "key": "fulfilment", "topic_arn": TOPIC,
        "state_machine_arn": machine, "overrides": {"executions-throttled": {"enabled": False}}})))
    assert {n: (summary(r), r.inputs["dimensions"]) for n, r in found.items()} == {
        "prod-fulfilment-executions-failed": (
            ("ExecutionsFailed", "Sum", GT, 0, 3, 2, NB), {"StateMachineArn": machine}),
        "prod-fulfilment-executions-timed-out": (
            ("ExecutionsTimedOut", "Sum", GT, 0, 3, 2, NB), {"StateMachineArn": machine})}
    found = alarms(run(lambda: RuleAlarms("r", {
        "environment": "staging", "key": "order-paid", "topic_arn": TOPIC,
        "event_bus_name": "staging-events", "rule_name": "staging-events-order-paid"})))
    assert sorted(found) == ["staging-order-paid-dead-lettered",
                             "staging-order-paid-failed-invocations",
                             "staging-order-paid-throttled"]
    assert found["staging-order-paid-failed-invocations"].inputs["dimensions"] == {
        "EventBusName": "staging-events", "RuleName": "staging-events-order-paid"}
    assert summary(found["staging-order-paid-throttled"]) == (
        "ThrottledRules", "Sum", GT, 0, 5, 3, NB)
