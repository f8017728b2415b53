"""Workflow under recording mocks: the role holds exactly the task states' permissions, the
definition is resolved and completed, logging/tracing/encryption are on, and bad
definitions are reported one problem per line."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.validation import ArgsError, config_path
from components.workflow import Definition, Workflow, WorkflowArgs, check_definition
from preflight.capture import ACCOUNT_ID, Capture, capture

ROOT = Path(__file__).resolve().parents[2]
FULFILMENT = ROOT / "workflows" / "fulfilment.asl.yaml"
R, A = "us-east-1", ACCOUNT_ID
KEY = f"arn:aws:kms:{R}:{A}:key/platform"
MACHINE = f"arn:aws:states:{R}:{A}:stateMachine:prod-fulfilment"
CATALOG = f"arn:aws:lambda:{R}:{A}:function:prod-catalog"
TOPIC = f"arn:aws:sns:{R}:{A}:prod-order-events"
QUEUE = f"arn:aws:sqs:{R}:{A}:prod-order-events-billing"
QUEUE_URL = f"https://sqs.{R}.amazonaws.com/{A}/prod-order-events-billing"
CLUSTER = f"arn:aws:ecs:{R}:{A}:cluster/prod-cluster"
ORDERS = {"task_definition_family": "prod-orders", "cluster_arn": CLUSTER,
          "cluster_name": "prod-cluster", "subnet_ids": ["subnet-a", "subnet-b", "subnet-c"],
          "security_group_id": "sg-orders",
          "task_role_arn": f"arn:aws:iam::{A}:role/prod-orders-task",
          "execution_role_arn": f"arn:aws:iam::{A}:role/prod-orders-execution"}
WEB = {**ORDERS, "task_definition_family": "prod-web", "url": "https://shop.example.com"}
CONNECTION = f"arn:aws:events:{R}:{A}:connection/shipping-api/0b6f1a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
KNOWN: dict[str, Any] = {"function": {"catalog": 10}, "service": {"orders": ORDERS, "web": WEB},
                         "http": {"web": 1}, "topic": {"order-events": TOPIC},
                         "queue": {"order-events/billing": 1}}


def base(**extra: Any) -> WorkflowArgs:
    args: dict[str, Any] = {
        "definition": str(FULFILMENT), "state_machine_name": "prod-fulfilment",
        "kms_key_arn": KEY, "kms_key_alias": "alias/prod-key", "log_retention_days": 365,
        "functions": {"catalog": CATALOG}, "function_timeouts": {"catalog": 10},
        "services": {"orders": ORDERS}, "topics": {"order-events": TOPIC},
        "queues": {"order-events/billing": {"arn": QUEUE, "url": QUEUE_URL}}}
    args.update(extra)
    return args  # type: ignore[return-value]


def run(args: WorkflowArgs) -> Capture:
    return capture(lambda: Workflow("prod-fulfilment", args), preview=True)


def statements(cap: Capture) -> dict[str, dict[str, Any]]:
    doc = json.loads(cap.named("prod-fulfilment-policy").inputs["policy"])
    return {s.pop("Sid"): s for s in doc["Statement"]}


def alias_key(actions: list[str], **condition: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": [f"arn:aws:kms:{R}:{A}:key/*"],
            "Condition": {**condition,
                          "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/prod-key"}}}


FULFILMENT_STATEMENTS = {
    "LogDelivery": {"Effect": "Allow", "Action": [
        "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
        "logs:PutResourcePolicy", "logs:UpdateLogDelivery"], "Resource": ["*"]},
    "Tracing": {"Effect": "Allow", "Action": [
        "xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords",
        "xray:PutTraceSegments"], "Resource": ["*"]},
    "StateMachineData": alias_key(["kms:Decrypt", "kms:GenerateDataKey"], StringEquals={
        "kms:EncryptionContext:aws:states:stateMachineArn": MACHINE}),
    "InvokeFunctions": {"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                        "Resource": [CATALOG]},
    "PublishTopics": {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": [TOPIC]},
    "EncryptMessages": alias_key(["kms:Decrypt", "kms:GenerateDataKey"]),
    "RunTaskOrders": {"Effect": "Allow", "Action": ["ecs:RunTask"],
                      "Resource": [f"arn:aws:ecs:{R}:{A}:task-definition/prod-orders:*"],
                      "Condition": {"ArnEquals": {"ecs:cluster": CLUSTER}}},
    "PassRolesOrders": {"Effect": "Allow", "Action": ["iam:PassRole"],
                        "Resource": [ORDERS["task_role_arn"], ORDERS["execution_role_arn"]],
                        "Condition": {"StringEquals": {
                            "iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
    "WatchTasksOrders": {"Effect": "Allow", "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
                         "Resource": [f"arn:aws:ecs:{R}:{A}:task/prod-cluster/*"],
                         "Condition": {"ArnEquals": {"ecs:cluster": CLUSTER}}},
    "TaskStateEvents": {"Effect": "Allow", "Action": [
        "events:DescribeRule", "events:PutRule", "events:PutTargets"], "Resource": [
        f"arn:aws:events:{R}:{A}:rule/StepFunctionsGetEventsForECSTaskRule"]},
}


def test_role_has_exactly_the_task_states_permissions() -> None:
    assert statements(run(base())) == FULFILMENT_STATEMENTS


def test_role_is_trusted_by_step_functions_for_this_state_machine_only() -> None:
    role = run(base()).named("prod-fulfilment-role").inputs
    assert json.loads(role["assumeRolePolicy"])["Statement"] == [{
        "Sid": "AssumeRole", "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": A},
                      "ArnLike": {"aws:SourceArn": MACHINE}}}]


def test_state_machine_logs_traces_and_encrypts() -> None:
    cap = run(base())
    machine = cap.named("prod-fulfilment-state-machine").inputs
    assert machine["type"] == "STANDARD"
    assert machine["loggingConfiguration"] == {
        "level": "ERROR", "includeExecutionData": False,
        "logDestination": f"arn:aws:logs:{R}:{A}:log-group:/aws/vendedlogs/states/"
                          "prod-fulfilment:*"}
    assert machine["tracingConfiguration"] == {"enabled": True}
    assert machine["encryptionConfiguration"] == {
        "type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": KEY, "kmsDataKeyReusePeriodSeconds": 300}
    assert cap.named("prod-fulfilment-logs").inputs == {
        "name": "/aws/vendedlogs/states/prod-fulfilment", "retentionInDays": 365,
        "kmsKeyId": KEY}


def test_definition_is_resolved_and_ecs_tasks_completed() -> None:
    machine = run(base()).named("prod-fulfilment-state-machine").inputs
    states = json.loads(machine["definition"])["States"]
    assert states["ReserveStock"]["Parameters"]["FunctionName"] == CATALOG
    assert states["Announce"]["Parameters"]["TopicArn"] == TOPIC
    assert states["Pack"]["Parameters"] == {
        "TaskDefinition": "prod-orders", "Cluster": CLUSTER, "LaunchType": "FARGATE",
        "NetworkConfiguration": {"AwsvpcConfiguration": {
            "Subnets": ["subnet-a", "subnet-b", "subnet-c"], "SecurityGroups": ["sg-orders"],
            "AssignPublicIp": "DISABLED"}},
        "Overrides": {"ContainerOverrides": [{"Name": "orders", "Environment": [
            {"Name": "TASK", "Value": "pack"}, {"Name": "ORDER_ID", "Value.$": "$.detail.orderId"}]}]}}


def write(tmp_path: Path, doc: dict[str, Any]) -> str:
    path = tmp_path / "flow.asl.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_queue_task_and_direct_function_resource(tmp_path: Path) -> None:
    doc = {"StartAt": "Check", "States": {
        "Check": {"Type": "Task", "Resource": "${function:catalog}", "Next": "Queue"},
        "Queue": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                  "Parameters": {"QueueUrl": "${queue:order-events/billing}",
                                 "MessageBody.$": "$"}, "End": True}}}
    cap = run(base(definition=write(tmp_path, doc), type="express", log_level="ALL",
                   include_execution_data=True))
    found = statements(cap)
    assert sorted(found) == ["EncryptMessages", "InvokeFunctions", "LogDelivery",
                             "SendQueues", "StateMachineData", "Tracing"]
    assert found["SendQueues"] == {"Effect": "Allow", "Action": ["sqs:SendMessage"],
                                   "Resource": [QUEUE]}
    assert found["InvokeFunctions"]["Resource"] == [CATALOG]
    machine = cap.named("prod-fulfilment-state-machine").inputs
    assert machine["type"] == "EXPRESS"
    assert machine["loggingConfiguration"]["level"] == "ALL"
    assert machine["loggingConfiguration"]["includeExecutionData"] is True
    states = json.loads(machine["definition"])["States"]
    assert states["Check"]["Resource"] == CATALOG
    assert states["Queue"]["Parameters"]["QueueUrl"] == QUEUE_URL


def http_state(**params: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
            "Parameters": {"ApiEndpoint": "${service:web}/orders/ship", "Method": "POST",
                           "Authentication": {"ConnectionArn": CONNECTION}, **params}}


def test_http_tasks_may_call_that_method_on_that_url_only(tmp_path: Path) -> None:
    ship = {k: v for k, v in http_state().items() if k != "End"}
    doc = {"StartAt": "Ship", "States": {"Ship": {**ship, "Next": "Track"},
                                         "Track": http_state(ApiEndpoint="${service:web}/track",
                                                             Method="GET")}}
    cap = run(base(definition=write(tmp_path, doc), services={"orders": ORDERS, "web": WEB}))
    found = statements(cap)
    assert {k: v for k, v in found.items() if k.startswith("Http")} == {
        "HttpGet": {"Effect": "Allow", "Action": ["states:InvokeHTTPEndpoint"],
                    "Resource": [MACHINE], "Condition": {
                        "StringEquals": {"states:HTTPMethod": "GET"},
                        "StringLike": {"states:HTTPEndpoint": ["https://shop.example.com/track"]}}},
        "HttpPost": {"Effect": "Allow", "Action": ["states:InvokeHTTPEndpoint"],
                     "Resource": [MACHINE], "Condition": {
                         "StringEquals": {"states:HTTPMethod": "POST"},
                         "StringLike": {"states:HTTPEndpoint": [
                             "https://shop.example.com/orders/ship"]}}},
        "HttpConnections": {"Effect": "Allow", "Action": ["events:RetrieveConnectionCredentials"],
                            "Resource": [CONNECTION]},
        "HttpConnectionSecrets": {"Effect": "Allow", "Action": [
            "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], "Resource": [
            f"arn:aws:secretsmanager:{R}:{A}:secret:events!connection/shipping-api/*"]}}
    assert "RunTaskWeb" not in found  # an HTTP call runs no task
    states = json.loads(cap.named("prod-fulfilment-state-machine").inputs["definition"])["States"]
    assert states["Ship"]["Parameters"]["ApiEndpoint"] == "https://shop.example.com/orders/ship"


@pytest.mark.parametrize(("state", "expected"), [
    (http_state(ApiEndpoint="https://shop.example.com/ship"),
     ["definition.States.Ship.Parameters.ApiEndpoint: must be ${service:<key>} and an optional "
      "/path, fixed in the definition so the role can be held to it (got "
      "'https://shop.example.com/ship')"]),
    (http_state(Method=None, Authentication={}),
     ["definition.States.Ship.Parameters.Method: must be one of GET, POST, PUT, PATCH, DELETE, "
      "HEAD, OPTIONS, fixed in the definition (got None)",
      "definition.States.Ship.Parameters.Authentication.ConnectionArn: must be an EventBridge "
      "connection ARN (arn:aws:events:<region>:<account>:connection/<name>/<id>): HTTP tasks "
      "authenticate through one (got None)"]),
    ({**http_state(), "Resource": "arn:aws:states:::http:invoke.sync"},
     ["definition.States.Ship.Resource: HTTP tasks call and take the answer: drop .sync"]),
    (http_state(ApiEndpoint="${service:orders}/pack"),
     ["definition.States.Ship.Parameters.ApiEndpoint: service orders cannot be called over "
      "HTTPS from Step Functions: http:invoke reaches public services with a domain name "
      "(loadBalancer.domainName) only; use ecs:runTask, or a topic or queue, for internal "
      "services"]),
])
def test_http_task_problems(state: dict[str, Any], expected: list[str]) -> None:
    assert problems({"StartAt": "Ship", "States": {"Ship": state}}) == expected


def test_a_workflow_without_messaging_gets_no_message_key_use(tmp_path: Path) -> None:
    doc = {"StartAt": "Check", "States": {
        "Check": {"Type": "Task", "Resource": "${function:catalog}", "End": True}}}
    found = statements(run(base(definition=write(tmp_path, doc))))
    assert sorted(found) == ["InvokeFunctions", "LogDelivery", "StateMachineData", "Tracing"]


def fulfilment() -> dict[str, Any]:
    return yaml.safe_load(FULFILMENT.read_text())


def problems(doc: dict[str, Any], **spec: Any) -> list[str]:
    found = check_definition(Definition(doc), {"definition": "x", **spec}, KNOWN)  # type: ignore[typeddict-item]
    return [f"{config_path(p.path)}: {p.message}" for p in found]


def test_the_reference_definition_is_clean() -> None:
    assert problems(fulfilment()) == []


def mutated(*changes: tuple[tuple[str, ...], Any]) -> dict[str, Any]:
    doc = fulfilment()
    for path, value in changes:
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize(("doc", "spec", "expected"), [
    (mutated((("States", "Pack", "Next"), "Anounce")), {},
     ["definition.States.Pack.Next: 'Anounce' is not a state here (states: Announce, Failed, "
      "Pack, ReserveStock) (did you mean 'Announce'?)",
      "definition.States.Announce: is not reachable from StartAt (ReserveStock)"]),
    (mutated((("States", "Extra"), {"Type": "Pass", "End": True, "Bogus": 1})), {},
     ["definition.States.Extra.Bogus: Additional properties are not allowed ('Bogus' was "
      "unexpected)",
      "definition.States.Extra: is not reachable from StartAt (ReserveStock)"]),
    (mutated((("States", "ReserveStock", "Retry", 0, "BackoffRate"), 0.5),
             (("States", "ReserveStock", "Retry", 0, "MaxDelaySeconds"), 1),
             (("States", "ReserveStock", "Retry", 0, "MaxAttempts"), 2.5)), {},
     ["definition.States.ReserveStock.Retry[0].MaxAttempts: must be a whole number "
      "0-99999999 (got 2.5)",
      "definition.States.ReserveStock.Retry[0].BackoffRate: must be at least 1.0 (got 0.5): "
      "retries never wait less than the one before",
      "definition.States.ReserveStock.Retry[0].MaxDelaySeconds: must be a whole number at "
      "least IntervalSeconds (2) (got 1)"]),
    (mutated((("States", "Pack", "Catch"), [{"ErrorEquals": ["States.ALL", "Other"],
                                             "Next": "Failed"}])), {},
     ["definition.States.Pack.Catch[0].ErrorEquals: States.ALL must be alone and in the last "
      "rule"]),
    (mutated((("States", "Pack", "HeartbeatSeconds"), 900)), {},
     ["definition.States.Pack.HeartbeatSeconds: must be less than TimeoutSeconds (900) "
      "(got 900)"]),
    (mutated((("States", "ReserveStock", "TimeoutSeconds"), 5)), {},
     ["definition.States.ReserveStock.TimeoutSeconds: 5 is shorter than function catalog's "
      "timeout (10): the state would give up (and retry) while the function still runs"]),
    (fulfilment(), {"type": "express"},
     ["definition.TimeoutSeconds: express workflows run at most 300 seconds (got 3600)",
      "definition.States.Pack.Resource: express workflows cannot wait (.sync): use type "
      "standard or drop the suffix"]),
    (mutated((("States", "ReserveStock", "Parameters", "FunctionName"), "${function:catalogue}")),
     {},
     ["definition.States.ReserveStock: 'catalogue' is not defined under functions (defined: "
      "catalog) (did you mean 'catalog'?)"]),
    (mutated((("States", "Announce", "Parameters", "TopicArn"), TOPIC)), {},
     ["definition.States.Announce.Parameters.TopicArn: must name a topic of this stack as "
      f"${{topic:<key>}} (got '{TOPIC}')"]),
    (mutated((("States", "Announce", "Resource"), "arn:aws:states:::aws-sdk:s3:getObject")), {},
     ["definition.States.Announce.Resource: 'arn:aws:states:::aws-sdk:s3:getObject' is not an "
      "integration the platform can grant; use one of arn:aws:states:::lambda:invoke "
      "(FunctionName: ${function:<key>}), arn:aws:states:::sns:publish (TopicArn: "
      "${topic:<key>}), arn:aws:states:::sqs:sendMessage (QueueUrl: ${queue:<key>}), "
      "arn:aws:states:::ecs:runTask (TaskDefinition: ${service:<key>}), "
      "arn:aws:states:::http:invoke (ApiEndpoint: ${service:<key>}/<path>)"]),
    (mutated((("States", "Announce", "Parameters", "Subject"), "order ${topic:order-events}")),
     {},
     ["definition.States.Announce.Parameters.Subject: 'order ${topic:order-events}' is not a "
      "placeholder the platform resolves: use a whole value "
      "${function|service|topic|queue:<key>}"]),
    (mutated((("States", "Failed"), {"Type": "Pass", "Next": "ReserveStock"}),
             (("States", "Announce"), {"Type": "Pass", "Next": "Failed"}),
             (("States", "ReserveStock", "Next"), "Pack")), {},
     ["definition.States: no state ends the workflow (End: true, Succeed or Fail)"]),
])
def test_definition_problems(doc: dict[str, Any], spec: dict[str, Any],
                             expected: list[str]) -> None:
    assert problems(doc, **spec) == expected


def test_unreadable_definitions_fail_before_anything_is_created(tmp_path: Path) -> None:
    broken = tmp_path / "broken.asl.yaml"
    broken.write_text("StartAt: [unclosed\n")
    with pytest.raises(ArgsError) as err:
        run(base(definition=str(broken), log_level="FATAL"))
    assert str(err.value).splitlines() == [
        "Workflow 'prod-fulfilment': logLevel: 'FATAL' is not allowed: use one of ALL, ERROR",
        f"Workflow 'prod-fulfilment': definition: {broken} is not valid JSON or YAML at line 2"]
    with pytest.raises(ArgsError, match="does not exist"):
        run(base(definition=str(tmp_path / "missing.json")))


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.asl.yaml"
    bomb.write_text("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\n"
                    "StartAt: S\nStates: {S: {Type: Succeed}}\n")
    with pytest.raises(ArgsError) as err:
        run(base(definition=str(bomb)))
    assert str(err.value) == (f"Workflow 'prod-fulfilment': definition: {bomb} uses a YAML "
                              "alias at line 2; write the value out (aliases are not allowed "
                              "in definitions)")
