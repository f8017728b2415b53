"""LoadBalancer under recording mocks: listeners, security group, access-log bucket, WAF."""

import json
from collections import Counter
from typing import Any

import pytest

from components.load_balancer import (
    LoadBalancer,
    LoadBalancerArgs,
    access_log_bucket_name,
    check_load_balancer,
)
from components.validation import ArgsError
from preflight.capture import Capture, capture

REGION = "eu-west-1"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0f2c3e4d-1a2b-4c5d-8e9f-0a1b2c3d4e5f"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "edge-access-logs-123456789012-eu-west-1"
OUTPUTS = ("arn", "arn_suffix", "dns_name", "zone_id", "security_group_id",
           "https_listener_arn", "access_log_bucket_name")
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def run(preview: bool = True, name: str = "edge", **spec: Any) -> tuple[Capture, dict[str, Any]]:
    args: LoadBalancerArgs = {  # type: ignore[typeddict-item]
        "certificate_arn": CERT, "vpc_id": "vpc-0abc", "vpc_cidr": "10.0.0.0/16",
        "subnet_ids": ["subnet-a", "subnet-b", "subnet-c"], "kms_key_arn": KEY, **spec}
    out: dict[str, Any] = {}

    def program() -> None:
        lb = LoadBalancer(name, args)
        for attr in OUTPUTS:
            getattr(lb, attr).apply(lambda v, a=attr: out.__setitem__(a, v))

    return capture(program, config={"aws:region": REGION}, preview=preview), out


BASE = Counter({
    "microservices:index:LoadBalancer": 1,
    "aws:s3/bucket:Bucket": 1,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
    "aws:s3/bucketVersioning:BucketVersioning": 1,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
    "aws:s3/bucketPolicy:BucketPolicy": 1,
    "aws:ec2/securityGroup:SecurityGroup": 1,
    SG_EGRESS: 1,
    "aws:lb/loadBalancer:LoadBalancer": 1,
})
WAF = Counter({
    "aws:wafv2/webAcl:WebAcl": 1,
    "aws:cloudwatch/logGroup:LogGroup": 1,
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": 1,
    "aws:wafv2/webAclAssociation:WebAclAssociation": 1,
})


@pytest.mark.parametrize(("spec", "extra"), [
    ({}, Counter({SG_RULE: 2, "aws:lb/listener:Listener": 2})),
    ({"internal": True}, Counter({SG_RULE: 1, "aws:lb/listener:Listener": 1})),
    ({"waf": True}, Counter({SG_RULE: 2, "aws:lb/listener:Listener": 2}) + WAF),
    ({"internal": True, "waf": True},
     Counter({SG_RULE: 1, "aws:lb/listener:Listener": 1}) + WAF),
])
def test_child_counts(spec: dict[str, Any], extra: Counter[str]) -> None:
    cap, _ = run(**spec)
    assert Counter(r.type for r in cap.registrations) == BASE + extra


def test_outputs() -> None:
    _, out = run(preview=False)
    assert out["arn"] == "arn:aws:lb:eu-west-1:123456789012:edge-alb"
    assert out["security_group_id"] == "edge-sg-id"
    assert out["https_listener_arn"] == "arn:aws:lb:eu-west-1:123456789012:edge-https"
    assert out["access_log_bucket_name"] == BUCKET


# --- load balancer and listeners ---------------------------------------------------------

def test_public_alb_settings() -> None:
    cap, _ = run(preview=False)
    alb = cap.named("edge-alb")
    assert alb.inputs == {
        "loadBalancerType": "application", "internal": False,
        "subnets": ["subnet-a", "subnet-b", "subnet-c"], "securityGroups": ["edge-sg-id"],
        "dropInvalidHeaderFields": True, "desyncMitigationMode": "defensive",
        "enableDeletionProtection": True, "enableHttp2": True, "enableWafFailOpen": False,
        "idleTimeout": 60,
        "accessLogs": {"bucket": BUCKET, "prefix": "alb", "enabled": True},
        "tags": {"Name": "edge"}}
    (policy,) = cap.of_type("aws:s3/bucketPolicy:BucketPolicy")
    assert policy.urn in alb.dependencies


def test_internal_alb_settings_from_spec() -> None:
    cap, _ = run(internal=True, deletion_protection=False, idle_timeout=120,
                 desync_mitigation_mode="strictest")
    alb = cap.named("edge-alb").inputs
    assert (alb["internal"], alb["enableDeletionProtection"], alb["idleTimeout"],
            alb["desyncMitigationMode"]) == (True, False, 120, "strictest")


def listeners(cap: Capture) -> dict[str, dict[str, Any]]:
    return {r.name: {k: v for k, v in r.inputs.items() if k not in ("tags",)}
            for r in cap.of_type("aws:lb/listener:Listener")}


HTTPS = {
    "loadBalancerArn": "arn:aws:lb:eu-west-1:123456789012:edge-alb", "port": 443,
    "protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "certificateArn": CERT,
    "defaultActions": [{"type": "fixed-response", "fixedResponse": {
        "contentType": "text/plain", "messageBody": "Not Found", "statusCode": "404"}}]}


def test_public_listeners_https_and_redirect_only() -> None:
    cap, _ = run(preview=False)
    assert listeners(cap) == {
        "edge-https": HTTPS,
        "edge-http-redirect": {
            "loadBalancerArn": "arn:aws:lb:eu-west-1:123456789012:edge-alb", "port": 80,
            "protocol": "HTTP",
            "defaultActions": [{"type": "redirect", "redirect": {
                "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]},
    }


def test_internal_has_no_port_80_listener() -> None:
    cap, _ = run(internal=True, ssl_policy="ELBSecurityPolicy-TLS13-1-3-2021-06",
                 preview=False)
    assert listeners(cap) == {
        "edge-https": {**HTTPS, "sslPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06"}}


# --- security group ------------------------------------------------------------------------

def rules(cap: Capture, type_: str) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in cap.of_type(type_)}


EGRESS = {"edge-egress-vpc": {
    "securityGroupId": "edge-sg-id", "ipProtocol": "tcp", "fromPort": 0, "toPort": 65535,
    "cidrIpv4": "10.0.0.0/16", "description": "To targets and health checks inside the VPC"}}


def test_public_security_group_opens_only_the_listener_ports() -> None:
    cap, _ = run(preview=False)
    assert rules(cap, SG_RULE) == {
        "edge-https-ipv4": {"securityGroupId": "edge-sg-id", "ipProtocol": "tcp",
                            "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0",
                            "description": "HTTPS from the internet"},
        "edge-http-ipv4": {"securityGroupId": "edge-sg-id", "ipProtocol": "tcp",
                           "fromPort": 80, "toPort": 80, "cidrIpv4": "0.0.0.0/0",
                           "description": "HTTP from the internet, answered only with a "
                                          "redirect to HTTPS"},
    }
    assert rules(cap, SG_EGRESS) == EGRESS
    sg = cap.named("edge-sg").inputs
    assert "ingress" not in sg and "egress" not in sg
    assert sg["vpcId"] == "vpc-0abc"


def test_internal_security_group_admits_the_vpc_only() -> None:
    cap, _ = run(internal=True, preview=False)
    assert rules(cap, SG_RULE) == {
        "edge-https-vpc": {"securityGroupId": "edge-sg-id", "ipProtocol": "tcp",
                           "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/16",
                           "description": "HTTPS from inside the VPC"}}
    assert rules(cap, SG_EGRESS) == EGRESS


# --- access-log bucket ---------------------------------------------------------------------

def bucket_child(cap: Capture, type_: str) -> dict[str, Any]:
    (reg,) = cap.of_type(type_)
    return reg.inputs


def test_access_log_bucket_is_private_owner_enforced_encrypted_versioned_expiring() -> None:
    cap, _ = run(log_retention_days=90, preview=False)
    assert bucket_child(cap, "aws:s3/bucket:Bucket") == {
        "bucket": BUCKET, "forceDestroy": False, "tags": {"Name": BUCKET}}
    assert bucket_child(cap, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") == {
        "bucket": "edge-access-logs-id", "blockPublicAcls": True, "blockPublicPolicy": True,
        "ignorePublicAcls": True, "restrictPublicBuckets": True}
    assert bucket_child(cap, "aws:s3/bucketOwnershipControls:BucketOwnershipControls") == {
        "bucket": "edge-access-logs-id", "rule": {"objectOwnership": "BucketOwnerEnforced"}}
    assert bucket_child(cap, "aws:s3/bucketServerSideEncryptionConfiguration:"
                             "BucketServerSideEncryptionConfiguration") == {
        "bucket": "edge-access-logs-id",
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
    assert bucket_child(cap, "aws:s3/bucketVersioning:BucketVersioning") == {
        "bucket": "edge-access-logs-id", "versioningConfiguration": {"status": "Enabled"}}
    assert bucket_child(cap, "aws:s3/bucketLifecycleConfiguration:"
                             "BucketLifecycleConfiguration") == {
        "bucket": "edge-access-logs-id",
        "rules": [{"id": "expire-access-logs", "status": "Enabled", "filter": {"prefix": ""},
                   "expiration": {"days": 90},
                   "noncurrentVersionExpiration": {"noncurrentDays": 30},
                   "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]}


def test_access_log_bucket_logs_its_own_access_to_the_log_bucket() -> None:
    cap, _ = run(log_bucket="prod-logs-bucket", preview=False)
    assert bucket_child(cap, "aws:s3/bucketLogging:BucketLogging") == {
        "bucket": "edge-access-logs-id", "targetBucket": "prod-logs-bucket",
        "targetPrefix": f"s3/{BUCKET}/"}


def test_bucket_policy_is_exact_and_known_at_preview() -> None:
    cap, _ = run()
    policy = bucket_child(cap, "aws:s3/bucketPolicy:BucketPolicy")["policy"]
    assert isinstance(policy, str)
    arn = f"arn:aws:s3:::{BUCKET}"
    logs = f"{arn}/alb/AWSLogs/123456789012/*"
    assert json.loads(policy) == {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
         "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "ElbAccountWritesAccessLogs", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::156460612806:root"}, "Action": "s3:PutObject",
         "Resource": logs},
        {"Sid": "ElbLogDeliveryWritesAccessLogs", "Effect": "Allow",
         "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": logs},
    ]}


def test_bucket_names_fit_s3_limits_and_stay_distinct() -> None:
    assert access_log_bucket_name("edge", "123456789012", "eu-west-1") == BUCKET
    long_a = "payments-public-edge-load-balancer-primary"
    long_b = "payments-public-edge-load-balancer-secondary"
    a = access_log_bucket_name(long_a, "123456789012", "ap-southeast-2")
    b = access_log_bucket_name(long_b, "123456789012", "ap-southeast-2")
    assert a == "payments-public-edge-logs-6182e29c-123456789012-ap-southeast-2"
    assert len(a) <= 63 and len(b) <= 63
    assert b.endswith("-123456789012-ap-southeast-2")
    assert a != b
    assert access_log_bucket_name(long_a, "123456789012", "ap-southeast-2") == a
    assert access_log_bucket_name("Edge_LB", "123456789012", "eu-west-1") == (
        "edge-lb-access-logs-123456789012-eu-west-1")


# --- WAF -------------------------------------------------------------------------------------

def test_waf_uses_the_three_managed_rule_groups_and_logs_encrypted() -> None:
    cap, _ = run(waf=True, log_retention_days=30, preview=False)
    (acl,) = cap.of_type("aws:wafv2/webAcl:WebAcl")
    assert (acl.inputs["scope"], acl.inputs["defaultAction"]) == ("REGIONAL", {"allow": {}})
    assert acl.inputs["visibilityConfig"] == {"cloudwatchMetricsEnabled": True,
                                              "metricName": "edge",
                                              "sampledRequestsEnabled": True}
    assert acl.inputs["rules"] == [
        {"name": group, "priority": priority, "overrideAction": {"none": {}},
         "statement": {"managedRuleGroupStatement": {"name": group, "vendorName": "AWS"}},
         "visibilityConfig": {"cloudwatchMetricsEnabled": True,
                              "metricName": f"edge-{group}", "sampledRequestsEnabled": True}}
        for group, priority in (("AWSManagedRulesCommonRuleSet", 10),
                                ("AWSManagedRulesKnownBadInputsRuleSet", 20),
                                ("AWSManagedRulesAmazonIpReputationList", 30))]
    group = bucket_child(cap, "aws:cloudwatch/logGroup:LogGroup")
    assert (group["name"], group["kmsKeyId"], group["retentionInDays"]) == (
        "aws-waf-logs-edge", KEY, 30)
    logging = bucket_child(cap, "aws:wafv2/webAclLoggingConfiguration:"
                                "WebAclLoggingConfiguration")
    assert logging == {
        "resourceArn": "arn:aws:wafv2:eu-west-1:123456789012:edge-waf",
        "logDestinationConfigs": [
            "arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-edge"]}
    assert bucket_child(cap, "aws:wafv2/webAclAssociation:WebAclAssociation") == {
        "resourceArn": "arn:aws:lb:eu-west-1:123456789012:edge-alb",
        "webAclArn": "arn:aws:wafv2:eu-west-1:123456789012:edge-waf"}


def test_no_waf_by_default() -> None:
    cap, _ = run()
    assert cap.of_type("aws:wafv2/webAcl:WebAcl") == []


# --- validation ------------------------------------------------------------------------------

def messages(**spec: Any) -> list[str]:
    return [p.message for p in check_load_balancer({"certificate_arn": CERT, **spec})]


FORM = "arn:aws:acm:<region>:<account>:certificate/<id>"


@pytest.mark.parametrize(("cert", "message"), [
    ("", f"is required: the HTTPS listener needs an ACM certificate ({FORM})"),
    ("arn:aws:iam::123456789012:server-certificate/edge",
     f"'arn:aws:iam::123456789012:server-certificate/edge' is not an ACM certificate ARN "
     f"({FORM})"),
    ("arn:aws:acm:eu-west-1:1234:certificate/0f2c3e4d-1a2b-4c5d-8e9f-0a1b2c3d4e5f",
     "'arn:aws:acm:eu-west-1:1234:certificate/0f2c3e4d-1a2b-4c5d-8e9f-0a1b2c3d4e5f' is not "
     f"an ACM certificate ARN ({FORM})"),
])
def test_certificate_messages(cert: str, message: str) -> None:
    assert messages(certificate_arn=cert) == [message]


def test_missing_certificate_key() -> None:
    assert [p.message for p in check_load_balancer({})] == [  # type: ignore[typeddict-item]
        f"is required: the HTTPS listener needs an ACM certificate ({FORM})"]


ALLOWED = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06, ELBSecurityPolicy-TLS13-1-2-Res-2021-06, "
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06, ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06, "
    "ELBSecurityPolicy-TLS13-1-3-2021-06, ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04, "
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04, ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04, "
    "ELBSecurityPolicy-TLS-1-2-2017-01, ELBSecurityPolicy-TLS-1-2-Ext-2018-06, "
    "ELBSecurityPolicy-FS-1-2-2019-08, ELBSecurityPolicy-FS-1-2-Res-2019-08, "
    "ELBSecurityPolicy-FS-1-2-Res-2020-10")


@pytest.mark.parametrize(("policy", "message"), [
    ("ELBSecurityPolicy-2016-08",
     f"'ELBSecurityPolicy-2016-08' accepts TLS versions older than 1.2: use one of {ALLOWED}"),
    ("ELBSecurityPolicy-TLS13-1-1-2021-06",
     "'ELBSecurityPolicy-TLS13-1-1-2021-06' accepts TLS versions older than 1.2: use one of "
     f"{ALLOWED}"),
    ("my-policy", f"'my-policy' is not allowed: use one of {ALLOWED}"),
])
def test_weak_or_unknown_ssl_policy(policy: str, message: str) -> None:
    assert messages(ssl_policy=policy) == [message]


@pytest.mark.parametrize(("spec", "message"), [
    ({"desync_mitigation_mode": "monitor"},
     "'monitor' is not allowed: use one of defensive, strictest"),
    ({"idle_timeout": 0}, "idleTimeout must be between 1 and 4000 (got 0)"),
    ({"idle_timeout": 4001}, "idleTimeout must be between 1 and 4000 (got 4001)"),
])
def test_other_messages(spec: dict[str, Any], message: str) -> None:
    assert messages(**spec) == [message]


def test_valid_spec_has_no_problems() -> None:
    assert messages(ssl_policy="ELBSecurityPolicy-FS-1-2-Res-2020-10", idle_timeout=4000,
                    desync_mitigation_mode="strictest", internal=True, waf=True) == []


def test_component_rejects_bad_args_before_children() -> None:
    created: list[str] = []
    with pytest.raises(ArgsError) as err:
        capture(lambda: LoadBalancer("edge", {  # type: ignore[typeddict-item]
            "certificate_arn": "not-an-arn", "ssl_policy": "ELBSecurityPolicy-2016-08",
            "vpc_id": "vpc-0abc", "vpc_cidr": "10.0.0.0/16", "subnet_ids": [],
            "kms_key_arn": KEY}), on_register=lambda r: created.append(r.type))
    assert str(err.value) == (
        f"LoadBalancer 'edge': certificateArn: 'not-an-arn' is not an ACM certificate ARN "
        f"({FORM})\n"
        f"LoadBalancer 'edge': sslPolicy: 'ELBSecurityPolicy-2016-08' accepts TLS versions "
        f"older than 1.2: use one of {ALLOWED}")
    assert created == ["microservices:index:LoadBalancer"]
