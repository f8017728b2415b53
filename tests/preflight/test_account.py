"""The stand-in account, the exact policy document, the invokes file and resolved identities."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from google.protobuf import struct_pb2

from preflight.account import StandInAccount, regions
from preflight.iam_document import render
from preflight.invokes import Answers, Lookup, load_invokes
from preflight.project import UsageError
from preflight.resolve import identity

# --- Availability Zones ------------------------------------------------------------------


def zones(region: str, **args: object) -> tuple[list[str], list[str]]:
    found = StandInAccount(region).answer("aws:index/getAvailabilityZones:getAvailabilityZones",
                                          args)
    assert found is not None and found.source == "exact"
    return found.value["names"], found.value["zoneIds"]


def test_regions_have_their_real_zones() -> None:
    assert zones("us-east-1") == (
        ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"],
        ["use1-az4", "use1-az6", "use1-az1", "use1-az2", "use1-az3", "use1-az5"])
    assert zones("eu-west-1") == (["eu-west-1a", "eu-west-1b", "eu-west-1c"],
                                  ["euw1-az2", "euw1-az3", "euw1-az1"])
    assert zones("ca-central-1")[0] == ["ca-central-1a", "ca-central-1b", "ca-central-1d"]
    assert zones("us-west-1")[1] == ["usw1-az1", "usw1-az3"]
    assert zones("eu-west-1", excludeNames=["eu-west-1b"])[0] == ["eu-west-1a", "eu-west-1c"]
    # Most commercial Regions have three zones; none has fewer than two.
    counts = [len(entry["zones"]) for entry in regions().values()]
    assert counts.count(3) >= 25 and min(counts) == 2 and max(counts) == 6


def test_a_region_missing_from_the_table_gets_no_answer() -> None:
    account = StandInAccount("ap-east-2")
    assert account.answer("aws:index/getAvailabilityZones:getAvailabilityZones", {}) is None
    assert account.answer("aws:index/getRegion:getRegion", {}) is None


def test_elb_log_account_is_the_regions() -> None:
    answer = StandInAccount("eu-west-1").answer("aws:elb/getServiceAccount:getServiceAccount", {})
    assert answer is not None and answer.value["arn"] == "arn:aws:iam::156460612806:root"
    assert StandInAccount("eu-central-2").answer(
        "aws:elb/getServiceAccount:getServiceAccount", {}) is None


def test_subnet_ids_round_trip_to_their_zone() -> None:
    account = StandInAccount("eu-west-1")
    listed = account.answer("aws:ec2/getSubnets:getSubnets",
                            {"filters": [{"name": "vpc-id", "values": ["vpc-1"]}]})
    assert listed is not None and len(listed.value["ids"]) == 3
    found = [account.answer("aws:ec2/getSubnet:getSubnet", {"id": i}) for i in listed.value["ids"]]
    assert [(f.value["availabilityZone"], f.value["availabilityZoneId"], f.value["vpcId"])
            for f in found if f] == [("eu-west-1a", "euw1-az2", "vpc-1"),
                                     ("eu-west-1b", "euw1-az3", "vpc-1"),
                                     ("eu-west-1c", "euw1-az1", "vpc-1")]
    again = account.answer("aws:ec2/getSubnets:getSubnets",
                           {"filters": [{"name": "vpc-id", "values": ["vpc-1"]}]})
    assert again is not None and again.value["ids"] == listed.value["ids"]


# --- iam.get_policy_document, as the provider renders it ----------------------------------

def test_policy_document_is_rendered_as_the_provider_renders_it() -> None:
    result = render({"statements": [
        {"sid": "1", "actions": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"],
         "resources": ["arn:aws:s3:::*"]},
        {"actions": ["s3:ListBucket"], "resources": ["arn:aws:s3:::shared"],
         "conditions": [{"test": "StringLike", "variable": "s3:prefix",
                         "values": ["", "home/", "home/&{aws:username}/"]}]},
        {"actions": ["s3:*"], "resources": ["arn:aws:s3:::shared/home/&{aws:username}",
                                            "arn:aws:s3:::shared/home/&{aws:username}/*"]},
    ]})
    expected = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "1",
      "Effect": "Allow",
      "Action": [
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation"
      ],
      "Resource": "arn:aws:s3:::*"
    },
    {
      "Effect": "Allow",
      "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::shared",
      "Condition": {
        "StringLike": {
          "s3:prefix": [
            "",
            "home/",
            "home/${aws:username}/"
          ]
        }
      }
    },
    {
      "Effect": "Allow",
      "Action": "s3:*",
      "Resource": [
        "arn:aws:s3:::shared/home/${aws:username}/*",
        "arn:aws:s3:::shared/home/${aws:username}"
      ]
    }
  ]
}"""
    assert result["json"] == expected
    assert result["minifiedJson"] == json.dumps(json.loads(expected), separators=(",", ":"))
    assert result["id"] == str(zlib.crc32(expected.encode()))


def test_policy_document_principals_and_merging() -> None:
    source = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Keep", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
         "Principal": {"AWS": ["arn:aws:iam::111111111111:root",
                               "arn:aws:iam::222222222222:root"]}},
        {"Sid": "Replace", "Effect": "Allow", "Action": "*", "Resource": "*"}]})
    override = json.dumps({"Statement": [{"Sid": "Keep", "Effect": "Deny", "Action": "sqs:*",
                                          "Resource": "*", "Principal": "*",
                                          "Condition": {"Bool": {"aws:SecureTransport": False}}}]})
    doc = json.loads(render({
        "sourcePolicyDocuments": [source], "overridePolicyDocuments": [override],
        "policyId": "queue", "statements": [
            {"sid": "Replace", "actions": ["sqs:ReceiveMessage"], "resources": ["*"],
             "principals": [{"type": "Service",
                             "identifiers": ["sns.amazonaws.com", "events.amazonaws.com"]}]},
            {"actions": ["sqs:GetQueueUrl"], "resources": ["*"],
             "principals": [{"type": "*", "identifiers": ["*"]}]}]})["json"])
    assert doc == {"Version": "2012-10-17", "Id": "queue", "Statement": [
        {"Sid": "Keep", "Effect": "Deny", "Action": "sqs:*", "Resource": "*", "Principal": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "Replace", "Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*",
         "Principal": {"Service": ["sns.amazonaws.com", "events.amazonaws.com"]}},
        {"Effect": "Allow", "Action": "sqs:GetQueueUrl", "Resource": "*", "Principal": "*"}]}


def test_a_document_the_provider_rejects_is_left_unanswered() -> None:
    account = StandInAccount("eu-west-1")
    assert account.answer("aws:iam/getPolicyDocument:getPolicyDocument", {"statements": [
        {"sid": "a", "actions": ["s3:GetObject"]},
        {"sid": "a", "actions": ["s3:PutObject"]}]}) is None


# --- the invokes file ----------------------------------------------------------------------

def test_invokes_file_answers_before_the_stand_in(tmp_path: Path) -> None:
    path = tmp_path / "preflight.invokes.yaml"
    path.write_text(
        "invokes:\n"
        "  - token: aws:ec2/getVpc:getVpc\n"
        "    result: {id: vpc-any}\n"
        "  - token: aws:ec2/getVpc:getVpc\n"
        "    args: {tags: {Name: shared}}\n"
        "    result: {id: vpc-shared}\n"
        "  - token: aws:ec2/getVpc:getVpc\n"
        "    args: {tags: {Name: shared}}\n"
        "    stacks: [prod]\n"
        "    result: {id: vpc-prod}\n")
    answers = Answers("dev", StandInAccount("eu-west-1"), load_invokes(path), path)
    assert answers.answer("aws:ec2/getVpc:getVpc", {"tags": {"Name": "shared", "Tier": "x"}}) \
        == {"id": "vpc-shared"}
    assert answers.answer("aws:ec2/getVpc:getVpc", {"default": True}) == {"id": "vpc-any"}
    prod = Answers("prod", StandInAccount("eu-west-1"), load_invokes(path), path)
    assert prod.answer("aws:ec2/getVpc:getVpc", {"tags": {"Name": "shared"}}) == {"id": "vpc-prod"}
    assert answers.answer("aws:ec2/getInstance:getInstance", {"instanceId": "i-1"}) is None
    assert [(item.token, item.source) for item in answers.lookups] == [
        ("aws:ec2/getVpc:getVpc", "invokes file"), ("aws:ec2/getVpc:getVpc", "invokes file"),
        ("aws:ec2/getInstance:getInstance", "")]
    assert answers.hint() == (
        "data source without an offline answer: aws:ec2/getInstance:getInstance "
        "(aws.ec2.get_instance) with {\"instanceId\": \"i-1\"}; answer it in "
        f"{path}")


@pytest.mark.parametrize(("text", "message"), [
    ("- token: x\n", "{f}: expected a map with an 'invokes' list"),
    ("invoke: []\n", "{f}: invoke: unknown key; the file has one key, 'invokes'"),
    ("invokes:\n  - token: getVpc\n    result: {}\n",
     "{f}: invokes[0].token: expected a data source token such as 'aws:ec2/getVpc:getVpc' "
     "(got 'getVpc')"),
    ("invokes:\n  - token: aws:ec2/getVpc:getVpc\n    result: [1]\n    arg: {}\n",
     "{f}: invokes[0].arg: unknown key (allowed: token, args, stacks, result)\n"
     "{f}: invokes[0].result: expected a map of what the data source returns"),
    ("invokes:\n  - token: aws:ec2/getVpc:getVpc\n    stacks: prod\n    result: {}\n",
     "{f}: invokes[0].stacks: expected a list of stack names"),
])
def test_invokes_file_problems_name_the_file_the_entry_and_the_key(
        tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "preflight.invokes.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        load_invokes(path)
    assert str(err.value) == message.format(f=path)


def test_python_names_of_tokens() -> None:
    assert Lookup("aws:index/getCallerIdentity:getCallerIdentity", {}, "").function == \
        "aws.get_caller_identity"
    assert Lookup("aws:ec2/getVpc:getVpc", {}, "").function == "aws.ec2.get_vpc"
    assert Lookup("aws:ec2/vpc:Vpc", {}, "").function == "aws:ec2/vpc:Vpc"


# --- resolved identities -------------------------------------------------------------------

def resolved(type_: str, logical: str, **inputs: object) -> tuple[str, dict[str, object]]:
    props = struct_pb2.Struct()
    props.update(inputs)
    found = identity(type_, logical, f"urn:pulumi:dev::p::{type_}::{logical}", props,
                     StandInAccount("eu-west-1"), "eu-west-1")
    return found.id, found.outputs


def test_resolved_identities_are_in_aws_formats() -> None:
    assert resolved("aws:dynamodb/table:Table", "orders", name="orders") == (
        "orders", {"arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
                   "name": "orders"})
    queue_id, queue = resolved("aws:sqs/queue:Queue", "events", name="events.fifo",
                               fifoQueue=True)
    assert queue_id == queue["url"] == "https://sqs.eu-west-1.amazonaws.com/123456789012/events.fifo"
    assert queue["arn"] == "arn:aws:sqs:eu-west-1:123456789012:events.fifo"
    _, role = resolved("aws:iam/role:Role", "task", name="task", path="/service/")
    assert role["arn"] == "arn:aws:iam::123456789012:role/service/task"
    _, function = resolved("aws:lambda/function:Function", "fn", name="fn")
    assert function["invokeArn"] == (
        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:eu-west-1:123456789012:function:fn/invocations")
    lb_arn, lb = resolved("aws:lb/loadBalancer:LoadBalancer", "edge", name="edge")
    assert lb_arn.startswith("arn:aws:elasticloadbalancing:eu-west-1:123456789012:"
                             "loadbalancer/app/edge/")
    assert lb["arnSuffix"] == lb_arn.split(":loadbalancer/", 1)[1]
    assert str(lb["dnsName"]).startswith("edge-") and \
        str(lb["dnsName"]).endswith(".eu-west-1.elb.amazonaws.com")
    listener, _ = resolved("aws:lb/listener:Listener", "https", loadBalancerArn=lb_arn)
    assert listener.startswith(lb_arn.replace(":loadbalancer/", ":listener/") + "/")
    subnet_id, subnet = resolved("aws:ec2/subnet:Subnet", "a", availabilityZone="eu-west-1a")
    assert subnet_id.startswith("subnet-") and len(subnet_id) == 24
    assert subnet["availabilityZoneId"] == "euw1-az2"


def test_auto_names_are_deterministic_and_unknown_names_are_not_used() -> None:
    first = resolved("aws:s3/bucket:Bucket", "Exports")
    assert first == resolved("aws:s3/bucket:Bucket", "Exports")
    assert first[0].startswith("exports-") and len(first[0]) == len("exports-") + 7
    unknown = resolved("aws:dynamodb/table:Table", "t",
                       name="04da6b54-80e4-46f7-96ec-b56ff0331ba9")[0]
    assert unknown.startswith("t-")
    # Other packages get an id only; their outputs stay unknown.
    assert resolved("random:index/randomString:RandomString", "s")[1] == {}


def test_a_finished_signing_job_names_its_signed_copy() -> None:
    job, outputs = resolved("aws:signer/signingJob:SigningJob", "fn",
                            destination={"s3": {"bucket": "code", "prefix": "signed/"}})
    assert outputs["signedObjects"] == [{"s3s": [{"bucket": "code", "key": f"signed/{job}.zip"}]}]
    _, profile = resolved("aws:signer/signingProfile:SigningProfile", "fn-signer")
    assert str(profile["arn"]).startswith(
        "arn:aws:signer:eu-west-1:123456789012:/signing-profiles/fn_signer_")
    assert profile["versionArn"] == f"{profile['arn']}/{profile['version']}"
