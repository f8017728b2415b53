"""FunctionService under recording mocks: children per trigger, IAM, permissions, checks."""

import json
from typing import Any

import pytest

from components.function import FunctionArgs, FunctionService, check_function
from components.validation import ArgsError
from preflight.capture import ACCOUNT_ID, Capture, capture

KEY = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/fn-key"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:order-events"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:orders/db-AbCdEf"
PARAM = f"arn:aws:ssm:us-east-1:{ACCOUNT_ID}:parameter/orders/api-key"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/orders"
DIGEST = "sha256:" + "a" * 64
IMAGE = f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/orders@{DIGEST}"


def base(**extra: Any) -> FunctionArgs:
    args: dict[str, Any] = {"source": "functions/orders-api", "runtime": "python3.12",
                            "handler": "handler.handle", "memory_mb": 256,
                            "timeout_seconds": 10, "kms_key_arn": KEY,
                            "log_retention_days": 30}
    args.update(extra)
    return args  # type: ignore[return-value]


def run(args: FunctionArgs, preview: bool = False) -> Capture:
    return capture(lambda: FunctionService("orders", args), preview=preview)


def types(cap: Capture) -> list[str]:
    return sorted(r.type for r in cap.registrations)


def policy(cap: Capture) -> list[dict[str, Any]]:
    return json.loads(cap.named("orders-policy").inputs["policy"])["Statement"]


CORE = ["aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
        "aws:lambda/function:Function",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "aws:sqs/queue:Queue", "microservices:index:FunctionService"]

BASE_STATEMENTS = [
    {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": [f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:/aws/lambda/orders:*"]},
    {"Sid": "Tracing", "Effect": "Allow",
     "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": ["*"]},
    {"Sid": "DeadLetterQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"],
     "Resource": [f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:orders-dlq"]},
    {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
     "Resource": [KEY]},
]


# --- children and core settings ------------------------------------------------------------

def test_minimal_function_children_and_settings() -> None:
    cap = run(base())
    assert types(cap) == CORE
    fn = cap.named("orders-function").inputs
    assert fn["name"] == "orders"
    assert fn["runtime"] == "python3.12"
    assert fn["handler"] == "handler.handle"
    assert fn["packageType"] == "Zip"
    assert fn["architectures"] == ["arm64"]
    assert fn["memorySize"] == 256
    assert fn["timeout"] == 10
    assert fn["kmsKeyArn"] == KEY
    assert fn["loggingConfig"] == {"logFormat": "JSON", "logGroup": "/aws/lambda/orders"}
    assert fn["tracingConfig"] == {"mode": "Active"}
    assert "vpcConfig" not in fn
    assert "reservedConcurrentExecutions" not in fn
    logs = cap.named("orders-logs").inputs
    assert logs == {"name": "/aws/lambda/orders", "retentionInDays": 30, "kmsKeyId": KEY}
    dlq = cap.named("orders-dlq").inputs
    assert dlq["name"] == "orders-dlq"
    assert dlq["kmsMasterKeyId"] == KEY


def test_code_is_the_source_directory_archive() -> None:
    cap = run(base())
    code = cap.named("orders-function").inputs["code"]
    assert code.path == "functions/orders-api"


SIGNING = {"config_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:code-signing-config:csc-1",
           "profile_name": "prod_signing", "bucket": "prod-signing-code-bucket"}


def test_unsigned_by_default() -> None:
    fn = run(base()).named("orders-function").inputs
    assert "codeSigningConfigArn" not in fn and "s3Key" not in fn


def test_signed_package_is_uploaded_signed_and_deployed_from_the_signed_copy() -> None:
    cap = run(base(code_signing=SIGNING))
    assert types(cap) == sorted([*CORE, "aws:s3/bucketObjectv2:BucketObjectv2",
                                 "aws:signer/signingJob:SigningJob"])
    upload = cap.named("orders-package")
    assert (upload.inputs["bucket"], upload.inputs["key"]) == (
        "prod-signing-code-bucket", "unsigned/orders.zip")
    assert upload.inputs["source"].path == "functions/orders-api"
    job = cap.named("orders-signing").inputs
    assert job == {
        "profileName": "prod_signing",
        # Signer signs exactly the version uploaded by this deployment.
        "source": {"s3": {"bucket": "prod-signing-code-bucket", "key": "unsigned/orders.zip",
                          "version": "orders-package-v1"}},
        "destination": {"s3": {"bucket": "prod-signing-code-bucket",
                               "prefix": "signed/orders/"}}}
    fn = cap.named("orders-function")
    assert fn.inputs["codeSigningConfigArn"] == SIGNING["config_arn"]
    assert "code" not in fn.inputs, "Lambda must never receive the unsigned zip"
    assert (fn.inputs["s3Bucket"], fn.inputs["s3Key"]) == (
        "prod-signing-code-bucket", "signed/orders/orders-signing-job.zip")
    assert cap.named("orders-signing").urn in fn.property_dependencies["s3Key"]
    assert fn.inputs["packageType"] == "Zip"


def test_code_signing_does_not_apply_to_images() -> None:
    args = base(image_uri=IMAGE, code_signing=SIGNING)
    for field in ("source", "runtime", "handler"):
        del args[field]  # type: ignore[misc]
    assert error(args) == (
        "FunctionService 'orders': codeSigning: applies to zip packages (source) only: Lambda "
        "does not verify container images; those pass the ECR scan gate")


def test_image_function_has_no_runtime_or_handler() -> None:
    args = base(image_uri=IMAGE, reserved_concurrency=5, architecture="x86_64")
    for field in ("source", "runtime", "handler"):
        del args[field]  # type: ignore[misc]
    fn = run(args).named("orders-function").inputs
    assert fn["packageType"] == "Image"
    assert fn["imageUri"] == IMAGE
    assert "runtime" not in fn and "handler" not in fn
    assert fn["reservedConcurrentExecutions"] == 5
    assert fn["architectures"] == ["x86_64"]


def test_async_failures_go_to_the_dead_letter_queue() -> None:
    cap = run(base(async_retry_attempts=1))
    config = cap.named("orders-async").inputs
    assert config == {
        "functionName": "orders", "maximumRetryAttempts": 1,
        "destinationConfig": {"onFailure": {
            "destination": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:orders-dlq"}}}


def test_role_trusts_lambda_from_this_account_only_and_has_no_managed_policies() -> None:
    cap = run(base())
    role = cap.named("orders-role").inputs
    assert json.loads(role["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AssumeRole", "Effect": "Allow",
                       "Principal": {"Service": "lambda.amazonaws.com"},
                       "Action": "sts:AssumeRole",
                       "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}}]}
    assert "managedPolicyArns" not in role
    assert not cap.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")


def test_policy_is_known_at_preview() -> None:
    cap = run(base(), preview=True)
    assert policy(cap) == BASE_STATEMENTS


def test_environment_secrets_and_grants_statements() -> None:
    cap = run(base(environment={"LOG_LEVEL": "INFO"},
                   secrets={"DB_PASSWORD": SECRET, "API_KEY": PARAM},
                   grants=[{"kind": "table", "arn": TABLE, "access": "read"}]))
    variables = cap.named("orders-function").inputs["environment"]["variables"]
    assert variables == {"LOG_LEVEL": "INFO", "DB_PASSWORD_ARN": SECRET, "API_KEY_ARN": PARAM}
    assert policy(cap) == [*BASE_STATEMENTS,
        {"Sid": "Secret0Parameter", "Effect": "Allow",
         "Action": ["ssm:GetParameter", "ssm:GetParameters"], "Resource": [PARAM]},
        {"Sid": "Secret1Secret", "Effect": "Allow",
         "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
         "Resource": [SECRET]},
        {"Sid": "Grant0Table", "Effect": "Allow",
         "Action": ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem",
                    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query",
                    "dynamodb:Scan"],
         "Resource": [TABLE, f"{TABLE}/index/*"]}]


def test_vpc_function_own_security_group_https_egress_only() -> None:
    cap = run(base(vpc=True, subnet_ids=["subnet-a", "subnet-b"], vpc_id="vpc-1"))
    assert types(cap) == sorted([*CORE, "aws:ec2/securityGroup:SecurityGroup",
                                 "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"])
    sg = cap.named("orders-sg").inputs
    assert "ingress" not in sg and "egress" not in sg
    egress = cap.named("orders-sg-egress-https").inputs
    assert egress == {"securityGroupId": "orders-sg-id", "ipProtocol": "tcp", "fromPort": 443,
                      "toPort": 443, "cidrIpv4": "0.0.0.0/0",
                      "description": "HTTPS to AWS APIs and dependencies"}
    assert not cap.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    vpc = cap.named("orders-function").inputs["vpcConfig"]
    assert vpc == {"subnetIds": ["subnet-a", "subnet-b"], "securityGroupIds": ["orders-sg-id"]}
    assert policy(cap)[4:] == [
        {"Sid": "NetworkInterfaces", "Effect": "Allow",
         "Action": ["ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"],
         "Resource": ["*"],
         "Condition": {"ArnEquals": {
             "ec2:Vpc": f"arn:aws:ec2:us-east-1:{ACCOUNT_ID}:vpc/vpc-1"}}},
        {"Sid": "DescribeNetwork", "Effect": "Allow",
         "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
         "Resource": ["*"]}]


# --- triggers ------------------------------------------------------------------------------

def test_sqs_trigger_queue_redrive_and_mapping() -> None:
    cap = run(base(triggers={"sqs": {"batch_size": 5, "max_receive_count": 3,
                                     "max_concurrency": 20}}))
    assert types(cap) == sorted([*CORE, "aws:sqs/queue:Queue",
                                 "aws:lambda/eventSourceMapping:EventSourceMapping"])
    queue = cap.named("orders-queue").inputs
    assert queue["name"] == "orders-queue"
    assert queue["kmsMasterKeyId"] == KEY
    assert queue["visibilityTimeoutSeconds"] == 60  # 6 x 10 s
    assert json.loads(queue["redrivePolicy"]) == {
        "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:orders-dlq",
        "maxReceiveCount": 3}
    mapping = cap.named("orders-queue-source").inputs
    assert mapping["eventSourceArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:orders-queue"
    assert mapping["batchSize"] == 5
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["scalingConfig"] == {"maximumConcurrency": 20}
    assert policy(cap)[4:] == [
        {"Sid": "ConsumeQueue", "Effect": "Allow",
         "Action": ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
         "Resource": [f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:orders-queue"]}]


def test_sns_trigger_subscription_permission_and_dlq_policy() -> None:
    cap = run(base(triggers={"sns": {"events": {"topic_arn": TOPIC}}}))
    assert types(cap) == sorted([*CORE, "aws:lambda/permission:Permission",
                                 "aws:sns/topicSubscription:TopicSubscription",
                                 "aws:sqs/queuePolicy:QueuePolicy"])
    permission = cap.of_type("aws:lambda/permission:Permission")[0].inputs
    assert permission == {"action": "lambda:InvokeFunction", "function": "orders",
                          "principal": "sns.amazonaws.com", "sourceArn": TOPIC,
                          "statementId": "sns-events"}
    sub = cap.of_type("aws:sns/topicSubscription:TopicSubscription")[0].inputs
    assert sub["topic"] == TOPIC
    assert sub["protocol"] == "lambda"
    assert sub["endpoint"] == f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:orders-function"
    assert json.loads(sub["redrivePolicy"]) == {
        "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:orders-dlq"}
    queue_policy = json.loads(cap.named("orders-dlq-policy").inputs["policy"])
    assert queue_policy["Statement"] == [
        {"Sid": "SnsEvents", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
         "Action": "sqs:SendMessage",
         "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:orders-dlq",
         "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}}]


def test_s3_trigger_permission_scoped_by_bucket_and_account() -> None:
    cap = run(base(triggers={"s3": {"uploads": {"bucket": "orders-uploads",
                                                "events": ["s3:ObjectCreated:*"],
                                                "filter_prefix": "incoming/"}}}))
    assert types(cap) == sorted([*CORE, "aws:lambda/permission:Permission",
                                 "aws:s3/bucketNotification:BucketNotification"])
    permission = cap.of_type("aws:lambda/permission:Permission")[0].inputs
    assert permission == {"action": "lambda:InvokeFunction", "function": "orders",
                          "principal": "s3.amazonaws.com",
                          "sourceArn": "arn:aws:s3:::orders-uploads",
                          "sourceAccount": ACCOUNT_ID, "statementId": "s3-uploads"}
    notification = cap.of_type("aws:s3/bucketNotification:BucketNotification")[0]
    assert notification.inputs == {"bucket": "orders-uploads", "lambdaFunctions": [{
        "id": "orders-uploads", "events": ["s3:ObjectCreated:*"], "filterPrefix": "incoming/",
        "lambdaFunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:orders-function"}]}
    assert permission_urn(cap, "s3") in notification.dependencies


def permission_urn(cap: Capture, kind: str) -> str:
    return next(r.urn for r in cap.of_type("aws:lambda/permission:Permission")
                if r.inputs["statementId"].startswith(kind))


def test_schedule_trigger_rule_target_dlq_and_permission() -> None:
    cap = run(base(triggers={"schedule": {"nightly": {"expression": "cron(0 3 * * ? *)",
                                                      "input": '{"job": "reconcile"}'}}}))
    assert types(cap) == sorted([*CORE, "aws:cloudwatch/eventRule:EventRule",
                                 "aws:cloudwatch/eventTarget:EventTarget",
                                 "aws:lambda/permission:Permission",
                                 "aws:sqs/queuePolicy:QueuePolicy"])
    rule_arn = f"arn:aws:events:us-east-1:{ACCOUNT_ID}:rule/orders-nightly"
    rule = cap.of_type("aws:cloudwatch/eventRule:EventRule")[0].inputs
    assert rule["name"] == "orders-nightly"
    assert rule["scheduleExpression"] == "cron(0 3 * * ? *)"
    permission = cap.of_type("aws:lambda/permission:Permission")[0].inputs
    assert permission == {"action": "lambda:InvokeFunction", "function": "orders",
                          "principal": "events.amazonaws.com", "sourceArn": rule_arn,
                          "sourceAccount": ACCOUNT_ID, "statementId": "schedule-nightly"}
    target = cap.of_type("aws:cloudwatch/eventTarget:EventTarget")[0].inputs
    assert target["deadLetterConfig"] == {
        "arn": f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:orders-dlq"}
    assert target["retryPolicy"] == {"maximumRetryAttempts": 2,
                                     "maximumEventAgeInSeconds": 3600}
    assert target["input"] == '{"job": "reconcile"}'
    statements = json.loads(cap.named("orders-dlq-policy").inputs["policy"])["Statement"]
    assert [s["Condition"] for s in statements] == [
        {"ArnEquals": {"aws:SourceArn": rule_arn}}]
    assert statements[0]["Principal"] == {"Service": "events.amazonaws.com"}


# --- validation ----------------------------------------------------------------------------

def error(args: FunctionArgs) -> str:
    with pytest.raises(ArgsError) as info:
        run(args, preview=True)
    return str(info.value)


def test_unsupported_runtime() -> None:
    assert error(base(runtime="python3.8")) == (
        "FunctionService 'orders': runtime: 'python3.8' is not a supported runtime: use one "
        "of python3.12, python3.13, nodejs20.x, nodejs22.x, java21, provided.al2023")


def test_source_and_image_both_and_neither() -> None:
    both = "FunctionService 'orders': (args): set exactly one of source (a code directory) " \
           "or imageUri (an ECR image pinned by digest)"
    assert error(base(image_uri=IMAGE)).splitlines()[0] == both
    neither = base()
    del neither["source"]  # type: ignore[misc]
    assert error(neither) == both


def test_image_must_be_pinned_by_digest() -> None:
    args = base(image_uri=f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/orders:latest")
    for field in ("source", "runtime", "handler"):
        del args[field]  # type: ignore[misc]
    assert error(args) == (
        f"FunctionService 'orders': imageUri: '{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/"
        "orders:latest' must be an ECR image pinned by digest: <account>.dkr.ecr.<region>."
        "amazonaws.com/<repo>@sha256:<64 hex>")


def test_memory_and_timeout_ranges() -> None:
    assert error(base(memory_mb=64, timeout_seconds=901)) == (
        "FunctionService 'orders': memoryMb: memoryMb must be between 128 and 10240 (got 64)\n"
        "FunctionService 'orders': timeoutSeconds: timeoutSeconds must be between 1 and 900 "
        "(got 901)")


def test_api_trigger_timeout_limit() -> None:
    assert error(base(timeout_seconds=30, triggers={"api": True})) == (
        "FunctionService 'orders': triggers.api: timeoutSeconds is 30 but API Gateway waits "
        "at most 29 seconds for an integration: lower timeoutSeconds or use an asynchronous "
        "trigger")
    assert check_function(base(timeout_seconds=29, triggers={"api": True})) == []


def test_sqs_visibility_timeout_too_short() -> None:
    assert error(base(triggers={"sqs": {"visibility_timeout_seconds": 30}})) == (
        "FunctionService 'orders': triggers.sqs.visibilityTimeoutSeconds: must be at least "
        "6 x timeoutSeconds = 60 (got 30), or a message is delivered again while its batch "
        "still runs")
    assert check_function(base(triggers={"sqs": {"visibility_timeout_seconds": 60}})) == []


def test_plaintext_credential_in_environment_rejected() -> None:
    # Checked on the Problem: config_path renders user keys holding "_" in camelCase.
    problems = check_function(base(environment={"DB_PASSWORD": "hunter22"}))
    assert [(p.path, p.message) for p in problems] == [(
        ("environment", "DB_PASSWORD"),
        "plaintext credential rejected: the name says it holds a secret; put it in Secrets "
        "Manager or SSM and list it under secrets")]
    with pytest.raises(ArgsError):
        run(base(environment={"DB_PASSWORD": "hunter22"}), preview=True)


def test_secret_must_be_a_secret_or_parameter_arn() -> None:
    assert error(base(secrets={"DB": "arn:aws:s3:::bucket"})) == (
        "FunctionService 'orders': secrets.DB: 'arn:aws:s3:::bucket' is not a Secrets Manager "
        "secret (arn:aws:secretsmanager:...:secret:...) or SSM parameter "
        "(arn:aws:ssm:...:parameter/...) ARN")


def test_vpc_needs_two_subnets() -> None:
    assert error(base(vpc=True, subnet_ids=["subnet-a"], vpc_id="vpc-1")) == (
        "FunctionService 'orders': subnetIds: a vpc function needs subnets in at least 2 "
        "availability zones (got 1)")
    assert error(base(vpc=True)) == (
        "FunctionService 'orders': vpc: a vpc function needs subnet_ids and vpc_id")


def test_trigger_formats() -> None:
    problems = check_function(base(triggers={
        "sns": {"events": {"topic_arn": "arn:aws:sqs:us-east-1:123456789012:q"}},
        "s3": {"uploads": {"bucket": "Bad_Bucket", "events": ["ObjectCreated"]}},
        "schedule": {"nightly": {"expression": "every day"}}}))
    assert [(".".join(map(str, p.path)), p.message) for p in problems] == [
        ("triggers.sns.events.topic_arn", "'arn:aws:sqs:us-east-1:123456789012:q' is not an "
                                          "SNS topic ARN (arn:aws:sns:<region>:<account>:"
                                          "<topic>)"),
        ("triggers.s3.uploads.bucket", "'Bad_Bucket' is not a bucket name (3-63 lowercase "
                                       "letters, digits, dots and hyphens)"),
        ("triggers.s3.uploads.events.0", "'ObjectCreated' is not an S3 event type, e.g. "
                                         "s3:ObjectCreated:*"),
        ("triggers.schedule.nightly.expression", "'every day' is not a schedule: use "
                                                 "rate(<n> minutes|hours|days) or "
                                                 "cron(<6 fields>)")]


def test_validation_happens_before_any_child() -> None:
    registered: list[str] = []
    with pytest.raises(ArgsError):
        capture(lambda: FunctionService("orders", base(memory_mb=1)),
                on_register=lambda r: registered.append(r.type))
    assert registered == ["microservices:index:FunctionService"]


def test_handler_answers_routes_and_reports_batch_failures() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("orders_handler",
                                                  "functions/orders-api/handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.handle({"routeKey": "GET /orders"}, None)["statusCode"] == 200
    batch = module.handle({"Records": [{"messageId": "1", "body": "{}"},
                                       {"messageId": "2", "body": "not json"}]}, None)
    assert batch == {"batchItemFailures": [{"itemIdentifier": "2"}]}
