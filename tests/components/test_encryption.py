"""EncryptionKey under recording mocks: key settings, exact key policy, alias, checks."""

import json
from collections import Counter
from typing import Any

import pytest

from components.encryption import (
    EncryptionKey,
    EncryptionKeyArgs,
    check_encryption_key,
    check_log_retention,
)
from components.validation import ArgsError
from preflight.capture import Capture, capture


def run(preview: bool = True, name: str = "platform",
        region: str = "eu-west-1", **args: Any) -> tuple[Capture, dict[str, Any]]:
    out: dict[str, Any] = {}
    key_args: EncryptionKeyArgs = dict(args)  # type: ignore[assignment]

    def program() -> None:
        key = EncryptionKey(name, key_args)
        for attr in ("key_arn", "key_id", "alias_name"):
            getattr(key, attr).apply(lambda v, a=attr: out.__setitem__(a, v))

    return capture(program, config={"aws:region": region}, preview=preview), out


def test_children_and_outputs() -> None:
    cap, out = run(preview=False)
    assert Counter(r.type for r in cap.registrations) == Counter({
        "microservices:index:EncryptionKey": 1, "aws:kms/key:Key": 1, "aws:kms/alias:Alias": 1})
    # The mocks return no key_id output, so it resolves to None here.
    assert out == {"key_arn": "arn:aws:kms:eu-west-1:123456789012:platform-key",
                   "key_id": None, "alias_name": "alias/platform"}


def test_alias_targets_the_key() -> None:
    cap, _ = run()
    alias = cap.named("platform-alias")
    assert alias.inputs["name"] == "alias/platform"
    assert alias.property_dependencies["targetKeyId"] == [cap.named("platform-key").urn]


def test_key_rotates_and_waits_thirty_days_before_deletion() -> None:
    cap, _ = run()
    key = cap.named("platform-key").inputs
    assert (key["enableKeyRotation"], key["deletionWindowInDays"], key["keyUsage"],
            key["customerMasterKeySpec"]) == (True, 30, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT")


LOGS_STATEMENT = {
    "Sid": "CloudWatchLogsForThisAccount", "Effect": "Allow",
    "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
    "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
               "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
    "Resource": "*",
    "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                              "arn:aws:logs:eu-west-1:123456789012:log-group:*"}}}
ROOT_STATEMENT = {
    "Sid": "AccountAdministersKey", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*",
    "Resource": "*"}


def test_key_policy_is_exact_and_known_at_preview() -> None:
    cap, _ = run()
    policy = cap.named("platform-key").inputs["policy"]
    assert isinstance(policy, str)
    assert json.loads(policy) == {"Version": "2012-10-17",
                                  "Statement": [ROOT_STATEMENT, LOGS_STATEMENT]}


def test_service_principals_are_scoped_to_the_account() -> None:
    cap, _ = run(service_principals=["sqs.amazonaws.com", "sns.amazonaws.com"])
    statements = json.loads(cap.named("platform-key").inputs["policy"])["Statement"]
    assert statements == [ROOT_STATEMENT, LOGS_STATEMENT, {
        "Sid": "ServicesForThisAccount", "Effect": "Allow",
        "Principal": {"Service": ["sns.amazonaws.com", "sqs.amazonaws.com"]},
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]


def test_logs_principal_follows_the_region() -> None:
    cap, _ = run(region="ap-southeast-2")
    (_, logs) = json.loads(cap.named("platform-key").inputs["policy"])["Statement"]
    assert logs["Principal"] == {"Service": "logs.ap-southeast-2.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:ap-southeast-2:123456789012:log-group:*")


def test_protect_retains_the_key_but_not_the_alias() -> None:
    cap, _ = run(protect=True)
    key, alias = cap.named("platform-key"), cap.named("platform-alias")
    assert (key.protect, key.retain_on_delete) == (True, True)
    assert (alias.protect, alias.retain_on_delete) == (False, False)


def test_unprotected_by_default() -> None:
    cap, _ = run()
    assert cap.named("platform-key").protect is False


def test_tags_are_layered_under_the_name() -> None:
    cap, _ = run(tags={"owner": "platform-team", "Name": "ignored"})
    assert cap.named("platform-key").inputs["tags"] == {"owner": "platform-team",
                                                        "Name": "platform"}


@pytest.mark.parametrize(("principals", "message"), [
    (["sns"], "'sns' is not an AWS service principal (e.g. sns.amazonaws.com)"),
    (["arn:aws:iam::123456789012:root"],
     "'arn:aws:iam::123456789012:root' is not an AWS service principal "
     "(e.g. sns.amazonaws.com)"),
    (["logs.eu-west-1.amazonaws.com"],
     "'logs.eu-west-1.amazonaws.com' is always allowed (scoped to this account's log groups); "
     "remove it"),
    (["sns.amazonaws.com", "sns.amazonaws.com"], "lists 'sns.amazonaws.com' more than once"),
])
def test_service_principal_messages(principals: list[str], message: str) -> None:
    assert [p.message for p in check_encryption_key({"service_principals": principals})] == [
        message]


def test_retention_check() -> None:
    assert check_log_retention(None) == []
    assert check_log_retention(365) == []
    assert [p.message for p in check_log_retention(366)] == [
        "366 is not a CloudWatch Logs retention; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, "
        "150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"]


def test_component_rejects_bad_name_and_principal_before_children() -> None:
    created: list[str] = []
    with pytest.raises(ArgsError) as err:
        capture(lambda: EncryptionKey("Platform_Key", {"service_principals": ["sns"]}),
                on_register=lambda r: created.append(r.type))
    assert str(err.value) == (
        "EncryptionKey 'Platform_Key': name: 'Platform_Key' is not a valid name: use 2-32 "
        "lowercase letters, digits and single hyphens, starting with a letter\n"
        "EncryptionKey 'Platform_Key': servicePrincipals[0]: 'sns' is not an AWS service "
        "principal (e.g. sns.amazonaws.com)")
    assert created == ["microservices:index:EncryptionKey"]
