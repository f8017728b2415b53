"""Subscription filters to the central log destination and their delivery role."""

import json
import re
from typing import Any

import pytest

from components.log_shipping import LogShipping, check_log_shipping
from components.validation import ArgsError
from preflight.capture import Capture, capture

FIREHOSE = "arn:aws:firehose:eu-west-1:210987654321:deliverystream/central-logs"
KINESIS = "arn:aws:kinesis:eu-west-1:210987654321:stream/central-logs"
DESTINATION = "arn:aws:logs:eu-west-1:210987654321:destination:central-logs"
GROUPS = {"orders": "/prod/orders", "billing": "/prod/billing"}
FILTER = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"


def ship(destination: str, **spec: Any) -> Capture:
    args: Any = {"environment": "prod", "destination_arn": destination, "log_groups": GROUPS,
                 **spec}
    return capture(lambda: LogShipping("ship", args), config={"aws:region": "eu-west-1"})


def test_firehose_role_trust_and_permissions_are_exact():
    cap = ship(FIREHOSE)
    assert sorted(r.type for r in cap.registrations if r.custom) == [
        "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
        "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter",
        "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"]
    role = cap.named("ship-role")
    assert role.inputs["name"] == "prod-log-shipping"
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AssumeRole", "Effect": "Allow",
                       "Principal": {"Service": "logs.amazonaws.com"},
                       "Action": "sts:AssumeRole",
                       "Condition": {
                           "StringEquals": {"aws:SourceAccount": "123456789012"},
                           "ArnLike": {"aws:SourceArn": "arn:aws:logs:eu-west-1:123456789012:*"}}}]}
    assert json.loads(cap.named("ship-put-records").inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "PutRecords", "Effect": "Allow",
                       "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                       "Resource": [FIREHOSE]}]}


def test_one_filter_per_log_group_keyed_by_service():
    cap = ship(FIREHOSE, filter_pattern="{ $.level = \"ERROR\" }")
    filters = {r.name: r for r in cap.of_type(FILTER)}
    assert sorted(filters) == ["ship-billing", "ship-orders"]
    orders = filters["ship-orders"]
    assert {k: v for k, v in orders.inputs.items() if k != "roleArn"} == {
        "name": "prod-orders-ship", "logGroup": "/prod/orders",
        "filterPattern": "{ $.level = \"ERROR\" }", "destinationArn": FIREHOSE}
    # Waits for the permissions, not only for the role.
    assert cap.named("ship-put-records").urn in orders.dependencies


def test_kinesis_gets_kinesis_actions():
    cap = ship(KINESIS)
    statement = json.loads(cap.named("ship-put-records").inputs["policy"])["Statement"][0]
    assert statement["Action"] == ["kinesis:PutRecord", "kinesis:PutRecords"]
    assert statement["Resource"] == [KINESIS]


def test_logs_destination_needs_no_role():
    cap = ship(DESTINATION)
    assert sorted(r.type for r in cap.registrations if r.custom) == [FILTER, FILTER]
    for reg in cap.of_type(FILTER):
        assert "roleArn" not in reg.inputs
        assert reg.inputs["filterPattern"] == ""


def test_destination_validation_messages():
    def messages(arn: str) -> list[str]:
        return [p.message for p in check_log_shipping({"destination_arn": arn})]
    assert messages("arn:aws:s3:::central-logs") == [
        "'arn:aws:s3:::central-logs' is not a Firehose stream, Kinesis stream or CloudWatch "
        "Logs destination ARN"]
    assert messages("arn:aws:firehose:eu-west-1:210987654321:stream/x") == [
        "'arn:aws:firehose:eu-west-1:210987654321:stream/x' is not a Firehose delivery stream "
        "ARN (resource must start with deliverystream/)"]
    assert messages(FIREHOSE) == [] and messages(KINESIS) == [] and messages(DESTINATION) == []


def test_component_rejects_bad_keys():
    with pytest.raises(ArgsError, match=re.escape(
            "LogShipping 'ship': logGroups.Orders: 'Orders' is not a valid name")):
        capture(lambda: LogShipping("ship", {"environment": "prod",
                                             "destination_arn": FIREHOSE,
                                             "log_groups": {"Orders": "/prod/orders"}}))
