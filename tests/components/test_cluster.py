"""Cluster under recording mocks: insights, capacity providers, ECS Exec auditing, checks."""

from collections import Counter
from typing import Any

import pytest

from components.cluster import Cluster, ClusterArgs, check_cluster
from components.validation import ArgsError
from preflight.capture import Capture, capture

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def run(preview: bool = True, **spec: Any) -> tuple[Capture, dict[str, Any]]:
    args: ClusterArgs = {"kms_key_arn": KEY, **spec}  # type: ignore[typeddict-item]
    out: dict[str, Any] = {}

    def program() -> None:
        cluster = Cluster("apps", args)
        for attr in ("cluster_arn", "cluster_name"):
            getattr(cluster, attr).apply(lambda v, a=attr: out.__setitem__(a, v))

    return capture(program, config={"aws:region": "eu-west-1"}, preview=preview), out


def test_default_cluster_children_and_outputs() -> None:
    cap, out = run(preview=False)
    assert Counter(r.type for r in cap.registrations) == Counter({
        "microservices:index:Cluster": 1, "aws:ecs/cluster:Cluster": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": 1})
    cluster = cap.named("apps-cluster").inputs
    assert cluster["name"] == "apps"
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    # Exec sessions are encrypted and logged by default; services still opt in to exec.
    assert cluster["configuration"]["executeCommandConfiguration"]["logging"] == "OVERRIDE"
    assert out == {"cluster_arn": "arn:aws:ecs:eu-west-1:123456789012:apps-cluster",
                   "cluster_name": "apps"}


def test_container_insights_enabled_level() -> None:
    cap, _ = run(container_insights="enabled")
    assert cap.named("apps-cluster").inputs["settings"] == [
        {"name": "containerInsights", "value": "enabled"}]


def test_fargate_and_spot_with_on_demand_default_where_allowed() -> None:
    cap, _ = run(preview=False, allow_spot=True)
    assert cap.named("apps-capacity").inputs == {
        "clusterName": "apps",
        "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "defaultCapacityProviderStrategies": [
            {"capacityProvider": "FARGATE", "base": 1, "weight": 1}]}


@pytest.mark.parametrize("spec", [{}, {"allow_spot": False}])
def test_no_spot_capacity_by_default_or_where_the_tier_forbids_it(spec: dict[str, Any]) -> None:
    cap, _ = run(preview=False, **spec)
    assert cap.named("apps-capacity").inputs["capacityProviders"] == ["FARGATE"]


def test_exec_logs_to_its_own_encrypted_group() -> None:
    cap, _ = run(exec_enabled=True, log_retention_days=90, name_prefix="prod")
    (group,) = cap.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert {k: group.inputs[k] for k in ("name", "kmsKeyId", "retentionInDays")} == {
        "name": "/prod/ecs/exec", "kmsKeyId": KEY, "retentionInDays": 90}
    cluster = cap.named("apps-cluster")
    assert cluster.inputs["configuration"] == {"executeCommandConfiguration": {
        "kmsKeyId": KEY, "logging": "OVERRIDE",
        "logConfiguration": {"cloudWatchLogGroupName": "/prod/ecs/exec",
                             "cloudWatchEncryptionEnabled": True}}}
    assert group.urn in cluster.dependencies


def test_exec_log_group_defaults() -> None:
    cap, _ = run(exec_enabled=True)
    (group,) = cap.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert (group.inputs["name"], group.inputs["retentionInDays"]) == ("/apps/ecs/exec", 365)


def test_exec_disabled_creates_no_log_group() -> None:
    cap, _ = run(exec_enabled=False)
    assert cap.of_type("aws:cloudwatch/logGroup:LogGroup") == []


@pytest.mark.parametrize(("level", "message"), [
    ("disabled", "'disabled' is not allowed: use one of enhanced, enabled "
                 "(did you mean 'enabled'?)"),
    ("enhance", "'enhance' is not allowed: use one of enhanced, enabled "
                "(did you mean 'enhanced'?)"),
])
def test_container_insights_cannot_be_switched_off(level: str, message: str) -> None:
    assert [p.message for p in check_cluster({"container_insights": level})] == [message]


def test_component_rejects_bad_args_before_children() -> None:
    created: list[str] = []
    with pytest.raises(ArgsError) as err:
        capture(lambda: Cluster("apps", {"kms_key_arn": KEY, "container_insights": "off",
                                         "log_retention_days": 2}),
                on_register=lambda r: created.append(r.type))
    assert str(err.value) == (
        "Cluster 'apps': containerInsights: 'off' is not allowed: use one of enhanced, enabled\n"
        "Cluster 'apps': logRetentionDays: 2 is not a CloudWatch Logs retention; use one of 1, "
        "3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
        "2922, 3288, 3653")
    assert created == ["microservices:index:Cluster"]


def test_invalid_name_prefix_is_rejected() -> None:
    with pytest.raises(ArgsError) as err:
        run(name_prefix="/prod")
    assert str(err.value) == (
        "Cluster 'apps': namePrefix: '/prod' is not a valid name: use 2-32 lowercase letters, "
        "digits and single hyphens, starting with a letter")
