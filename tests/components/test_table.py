"""Table: PITR, the platform key, deletion protection, autoscaling on table and indexes."""

import json
from typing import Any, cast

import pytest

from components.base import policy_document
from components.grants import grant_statements
from components.table import Table, TableArgs, table_grant
from components.validation import ArgsError
from preflight.capture import Capture, capture

KEY = "arn:aws:kms:eu-west-1:123456789012:key/platform"
CONFIG = {"aws:region": "eu-west-1"}
CAPACITY = {"read_min": 5, "read_max": 100, "write_min": 2, "write_max": 40,
            "target_utilisation": 60}


def args(**extra) -> TableArgs:
    base: dict[str, Any] = {"partition_key": {"name": "pk", "type": "S"},
            "sort_key": {"name": "sk", "type": "N"}, "kms_key_arn": KEY}
    return cast(TableArgs, {**base, **extra})


def run(build, preview: bool = False) -> Capture:
    return capture(build, config=CONFIG, preview=preview)


def custom(cap: Capture) -> list[str]:
    return sorted(r.type for r in cap.registrations if r.custom)


def test_on_demand_table_is_encrypted_recoverable_and_deletion_protected():
    cap = run(lambda: Table("prod-orders", args(ttl_attribute="expires",
                                                stream_view_type="NEW_AND_OLD_IMAGES")))
    assert custom(cap) == ["aws:dynamodb/table:Table"]
    table = cap.named("prod-orders-table").inputs
    assert table == {
        "name": "prod-orders", "billingMode": "PAY_PER_REQUEST",
        "hashKey": "pk", "rangeKey": "sk",
        "attributes": [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}],
        "pointInTimeRecovery": {"enabled": True},
        "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY},
        "deletionProtectionEnabled": True,
        "ttl": {"attributeName": "expires", "enabled": True},
        "streamEnabled": True, "streamViewType": "NEW_AND_OLD_IMAGES",
        "tags": {"Name": "prod-orders"}}


def test_aws_owned_key_when_customer_key_is_off():
    spec = {k: v for k, v in args(customer_key=False).items() if k != "kms_key_arn"}
    cap = run(lambda: Table("dev-cache", cast(TableArgs, spec)))
    table = cap.named("dev-cache-table").inputs
    assert "serverSideEncryption" not in table
    assert table["pointInTimeRecovery"] == {"enabled": True}


@pytest.mark.parametrize(("protect", "deletion"), [(True, True), (False, False)])
def test_protection_follows_the_tier(protect, deletion):
    cap = run(lambda: Table("orders", args(protect=protect, deletion_protection=deletion)))
    table = cap.named("orders-table")
    assert (table.protect, table.retain_on_delete) == (protect, protect)
    assert table.inputs["deletionProtectionEnabled"] is deletion


def test_provisioned_table_autoscales_reads_and_writes_on_table_and_indexes():
    gsis = {"by-customer": {"partition_key": {"name": "customer", "type": "S"},
                            "sort_key": {"name": "sk", "type": "N"},
                            "projection": "INCLUDE", "non_key_attributes": ["total"]}}
    cap = run(lambda: Table("prod-orders", args(billing="provisioned", capacity=CAPACITY,
                                                global_secondary_indexes=gsis)))
    assert custom(cap) == (["aws:appautoscaling/policy:Policy"] * 4
                           + ["aws:appautoscaling/target:Target"] * 4
                           + ["aws:dynamodb/table:Table"])
    table = cap.named("prod-orders-table")
    assert table.ignore_changes == ["readCapacity", "writeCapacity"]
    assert table.inputs["billingMode"] == "PROVISIONED"
    assert (table.inputs["readCapacity"], table.inputs["writeCapacity"]) == (5, 2)
    assert table.inputs["attributes"] == [{"name": "customer", "type": "S"},
                                          {"name": "pk", "type": "S"},
                                          {"name": "sk", "type": "N"}]
    assert table.inputs["globalSecondaryIndexes"] == [{
        "name": "by-customer", "projectionType": "INCLUDE", "nonKeyAttributes": ["total"],
        "keySchemas": [{"attributeName": "customer", "keyType": "HASH"},
                       {"attributeName": "sk", "keyType": "RANGE"}],
        "readCapacity": 5, "writeCapacity": 2}]

    targets = {r.name: r.inputs for r in cap.of_type("aws:appautoscaling/target:Target")}
    assert targets == {
        "prod-orders-read-target": {
            "serviceNamespace": "dynamodb", "resourceId": "table/prod-orders",
            "scalableDimension": "dynamodb:table:ReadCapacityUnits",
            "minCapacity": 5, "maxCapacity": 100},
        "prod-orders-write-target": {
            "serviceNamespace": "dynamodb", "resourceId": "table/prod-orders",
            "scalableDimension": "dynamodb:table:WriteCapacityUnits",
            "minCapacity": 2, "maxCapacity": 40},
        "prod-orders-by-customer-read-target": {
            "serviceNamespace": "dynamodb", "resourceId": "table/prod-orders/index/by-customer",
            "scalableDimension": "dynamodb:index:ReadCapacityUnits",
            "minCapacity": 5, "maxCapacity": 100},
        "prod-orders-by-customer-write-target": {
            "serviceNamespace": "dynamodb", "resourceId": "table/prod-orders/index/by-customer",
            "scalableDimension": "dynamodb:index:WriteCapacityUnits",
            "minCapacity": 2, "maxCapacity": 40},
    }
    policy = cap.named("prod-orders-by-customer-write-policy").inputs
    assert policy == {
        "policyType": "TargetTrackingScaling", "serviceNamespace": "dynamodb",
        "resourceId": "table/prod-orders/index/by-customer",
        "scalableDimension": "dynamodb:index:WriteCapacityUnits",
        "targetTrackingScalingPolicyConfiguration": {
            "targetValue": 60,
            "predefinedMetricSpecification": {
                "predefinedMetricType": "DynamoDBWriteCapacityUtilization"}}}


def test_table_arn_and_grant_are_known_at_preview():
    seen: dict[str, str] = {}

    def build():
        table = Table("prod-orders", args())
        policy_document(grant_statements([table.grant("read_write")])).apply(
            lambda doc: seen.setdefault("doc", doc))

    run(build, preview=True)
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/prod-orders"
    assert json.loads(seen["doc"])["Statement"] == [{
        "Sid": "Grant0Table", "Effect": "Allow",
        "Action": ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
                   "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
                   "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                   "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"],
        "Resource": [arn, f"{arn}/index/*"]}]


def test_table_grant_helper():
    assert table_grant("arn:aws:dynamodb:eu-west-1:1:table/t", "read") == {
        "kind": "table", "arn": "arn:aws:dynamodb:eu-west-1:1:table/t", "access": "read"}


KEY_S = {"name": "customer", "type": "S"}


@pytest.mark.parametrize(("extra", "message"), [
    ({"partition_key": {"name": "pk", "type": "string"}},
     "partitionKey.type: 'string' is not allowed: use one of S, N, B"),
    ({"global_secondary_indexes": {"by-customer": {"partition_key": KEY_S},
                                   "By-Customer": {"partition_key": {"name": "c2",
                                                                     "type": "S"}}}},
     "globalSecondaryIndexes.By-Customer: index name 'By-Customer' clashes with "
     "'by-customer'; index names must differ by more than case"),
    ({"global_secondary_indexes": {"same": {"partition_key": {"name": "pk", "type": "S"},
                                            "sort_key": {"name": "sk", "type": "N"}}}},
     "globalSecondaryIndexes.same: has the same keys as the table; query the table instead"),
    ({"global_secondary_indexes": {"one": {"partition_key": KEY_S},
                                   "two": {"partition_key": KEY_S}}},
     "globalSecondaryIndexes.two: has the same keys as index 'one'"),
    ({"global_secondary_indexes": {"by-sk": {"partition_key": {"name": "sk", "type": "S"}}}},
     "globalSecondaryIndexes.by-sk.partitionKey.type: attribute 'sk' is already declared as N "
     "(at sortKey); an attribute has one type"),
    ({"global_secondary_indexes": {"ix": {"partition_key": KEY_S}}},
     "globalSecondaryIndexes.ix: index name 'ix' must be 3-255 letters, digits, '_', '-' "
     "or '.'"),
    ({"global_secondary_indexes": {"by-customer": {"partition_key": KEY_S,
                                                   "projection": "INCLUDE"}}},
     "globalSecondaryIndexes.by-customer.nonKeyAttributes: nonKeyAttributes is required with "
     "projection INCLUDE and allowed only with it"),
    ({"billing": "provisioned"},
     "capacity: provisioned billing needs capacity (readMin, readMax, writeMin, writeMax)"),
    ({"capacity": CAPACITY}, "capacity: applies only to provisioned billing"),
    ({"billing": "provisioned", "capacity": {**CAPACITY, "read_max": 1}},
     "capacity.readMax: readMax must be at least readMin (5), got 1"),
    ({"billing": "provisioned", "capacity": {**CAPACITY, "target_utilisation": 95}},
     "capacity.targetUtilisation: targetUtilisation must be between 20 and 90 (got 95)"),
    ({"billing": "reserved"},
     "billing: 'reserved' is not allowed: use one of on-demand, provisioned"),
    ({"stream_view_type": "NEW"},
     "streamViewType: 'NEW' is not allowed: use one of NEW_IMAGE, OLD_IMAGE, "
     "NEW_AND_OLD_IMAGES, KEYS_ONLY"),
    ({"kms_key_arn": None}, "kmsKeyArn: customerKey needs the platform KMS key ARN"),
])
def test_validation_messages(extra, message):
    spec = {k: v for k, v in {**args(), **extra}.items() if v is not None}
    with pytest.raises(ArgsError) as err:
        run(lambda: Table("orders", spec))  # type: ignore[arg-type]
    assert str(err.value) == f"Table 'orders': {message}"
