"""Pipeline component, the services/web buildspec and the image scan gate."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.pipeline import (
    BUILD_IMAGE,
    PRIVILEGED_BUILD_EXCEPTION,
    Pipeline,
    PipelineArgs,
    artifact_bucket_name,
    check_pipeline,
)
from components.scan_gate import evaluate, main, parse_severities
from components.validation import ArgsError
from preflight.capture import Capture, capture

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
ACCOUNT = "123456789012"
CONNECTION = f"arn:aws:codestar-connections:{REGION}:{ACCOUNT}:connection/0a1b2c3d"
REPO_ARN = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/web"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1111-2222"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-task"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-execution"
BUCKET = f"web-artifacts-{ACCOUNT}-{REGION}"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/microservices/pipelines/web"


def args(**overrides: Any) -> PipelineArgs:
    base: dict[str, Any] = {
        "connection_arn": CONNECTION, "repository": "acme/platform",
        "repository_name": "web", "repository_arn": REPO_ARN,
        "repository_url": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web",
        "cluster_name": "main", "service_name": "web", "container_name": "app",
        "task_role_arn": TASK_ROLE, "execution_role_arn": EXEC_ROLE, "kms_key_arn": KEY,
        "tags": {"team": "web"},
    }
    base.update(overrides)
    return base  # type: ignore[return-value]


def run(pipeline_args: PipelineArgs, preview: bool = True) -> Capture:
    return capture(lambda: Pipeline("web", pipeline_args), config={"aws:region": REGION},
                   preview=preview)


def doc(cap: Capture, name: str, key: str = "policy") -> Any:
    value = cap.named(name).inputs[key]
    assert isinstance(value, str), f"{name}.{key} is not known at preview"
    return json.loads(value)


@pytest.fixture(scope="module")
def cap() -> Capture:
    return run(args())


@pytest.fixture(scope="module")
def prod_cap() -> Capture:
    return run(args(approval_before=True, fail_on_severities=["CRITICAL"],
                    build_timeout_minutes=45, compute_type="BUILD_GENERAL1_MEDIUM",
                    log_retention_days=731))


# --- children ---------------------------------------------------------------------------

def test_exact_children(cap: Capture) -> None:
    assert Counter(r.type for r in cap.registrations) == Counter({
        "microservices:index:Pipeline": 1,
        "aws:s3/bucket:Bucket": 1,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
        "aws:s3/bucketVersioning:BucketVersioning": 1,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
        "aws:s3/bucketPolicy:BucketPolicy": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:iam/role:Role": 2,
        "aws:iam/rolePolicy:RolePolicy": 2,
        "aws:codebuild/project:Project": 1,
        "aws:codepipeline/pipeline:Pipeline": 1,
    })
    component = cap.named("web").urn
    assert all(r.parent == component for r in cap.registrations if r.name != "web")


# --- artifact bucket --------------------------------------------------------------------

def test_artifact_bucket_is_private_versioned_and_kms_encrypted(cap: Capture) -> None:
    assert cap.named("web-artifacts").inputs["bucket"] == BUCKET
    assert cap.named("web-artifacts").inputs["forceDestroy"] is False
    assert cap.named("web-artifacts-sse").inputs["rules"] == [{
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                               "kmsMasterKeyId": KEY},
        "bucketKeyEnabled": True}]
    assert cap.named("web-artifacts-versioning").inputs["versioningConfiguration"] == {
        "status": "Enabled"}
    block = cap.named("web-artifacts-public-access").inputs
    assert {k: block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                  "restrictPublicBuckets")} == dict.fromkeys(
        ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"),
        True)
    assert cap.named("web-artifacts-ownership").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    assert cap.named("web-artifacts-lifecycle").inputs["rules"] == [{
        "id": "expire-superseded-artifacts", "status": "Enabled", "filter": {"prefix": ""},
        "noncurrentVersionExpiration": {"noncurrentDays": 30},
        "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]


def test_artifact_bucket_policy_exact(cap: Capture) -> None:
    assert doc(cap, "web-artifacts-policy") == {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyNonKmsUploads", "Effect": "Deny", "Principal": "*",
         "Action": "s3:PutObject", "Resource": f"{BUCKET_ARN}/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                       "Null": {"s3:x-amz-server-side-encryption": "false"}}},
    ]}
    policy = cap.named("web-artifacts-policy")
    assert cap.named("web-artifacts-public-access").urn in policy.dependencies


def test_artifact_bucket_logs_its_access_to_the_log_bucket() -> None:
    logged = run(args(log_bucket="prod-logs-bucket"), preview=False)
    assert logged.named("web-artifacts-access-logging").inputs == {
        "bucket": "web-artifacts-id", "targetBucket": "prod-logs-bucket",
        "targetPrefix": f"s3/{BUCKET}/"}
    assert run(args()).of_type("aws:s3/bucketLogging:BucketLogging") == []


def test_bucket_name_fits_s3_limit() -> None:
    long = artifact_bucket_name("a-very-long-pipeline-name-for-the-orders-service",
                                ACCOUNT, "ap-southeast-2")
    assert long == f"a-very-long-pipeline-name-artifacts-{ACCOUNT}-ap-southeast-2"
    assert len(long) == 63


# --- build ------------------------------------------------------------------------------

def test_build_log_group_encrypted_with_retention(cap: Capture, prod_cap: Capture) -> None:
    logs = cap.named("web-build-logs").inputs
    assert (logs["name"], logs["kmsKeyId"], logs["retentionInDays"]) == (
        "/microservices/pipelines/web", KEY, 365)
    assert prod_cap.named("web-build-logs").inputs["retentionInDays"] == 731


def test_build_project(cap: Capture) -> None:
    project = cap.named("web-build").inputs
    assert project["name"] == "web-build"
    assert project["serviceRole"] == f"arn:aws:iam::{ACCOUNT}:role/web-build"
    assert project["encryptionKey"] == KEY
    assert project["buildTimeout"] == 20
    assert project["source"] == {"type": "CODEPIPELINE", "buildspec": "services/web/buildspec.yml"}
    assert project["artifacts"] == {"type": "CODEPIPELINE"}
    assert project["logsConfig"] == {
        "cloudwatchLogs": {"status": "ENABLED", "groupName": "/microservices/pipelines/web"},
        "s3Logs": {"status": "DISABLED"}}
    env = project["environment"]
    assert (env["image"], env["type"], env["computeType"], env["privilegedMode"],
            env["imagePullCredentialsType"]) == (
        BUILD_IMAGE, "LINUX_CONTAINER", "BUILD_GENERAL1_SMALL", True, "CODEBUILD")
    assert env["environmentVariables"] == [
        {"name": "REPOSITORY_URI", "value": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web",
         "type": "PLAINTEXT"},
        {"name": "REPOSITORY_NAME", "value": "web", "type": "PLAINTEXT"},
        {"name": "CONTAINER_NAME", "value": "app", "type": "PLAINTEXT"},
        {"name": "SERVICE_PATH", "value": "services/web", "type": "PLAINTEXT"},
        {"name": "FAIL_ON_SEVERITIES", "value": "CRITICAL,HIGH", "type": "PLAINTEXT"},
    ]


def test_build_settings_follow_spec(prod_cap: Capture) -> None:
    project = prod_cap.named("web-build").inputs
    assert project["buildTimeout"] == 45
    assert project["environment"]["computeType"] == "BUILD_GENERAL1_MEDIUM"
    assert project["environment"]["environmentVariables"][-1] == {
        "name": "FAIL_ON_SEVERITIES", "value": "CRITICAL", "type": "PLAINTEXT"}


def test_privileged_mode_is_the_recorded_exception(cap: Capture) -> None:
    privileged = [r.name for r in cap.of_type("aws:codebuild/project:Project")
                  if r.inputs["environment"].get("privilegedMode")]
    assert privileged == [f"web{PRIVILEGED_BUILD_EXCEPTION['resource_suffix']}"]
    assert PRIVILEGED_BUILD_EXCEPTION["policy"] == "codebuild-privileged-mode"
    assert len(PRIVILEGED_BUILD_EXCEPTION["reason"]) >= 10


def test_build_role_trust_exact(cap: Capture) -> None:
    assert doc(cap, "web-build-role", "assumeRolePolicy") == {
        "Version": "2012-10-17", "Statement": [{
            "Sid": "AssumeRole", "Effect": "Allow",
            "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                          "ArnLike": {"aws:SourceArn":
                                      f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/web-build"}},
        }]}
    assert cap.named("web-build-role").inputs["name"] == "web-build"


def test_build_role_statements_exact(cap: Capture) -> None:
    assert doc(cap, "web-build-policy")["Statement"] == [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"],
         "Resource": ["*"]},
        {"Sid": "EcrPushOwnRepository", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                    "ecr:CompleteLayerUpload", "ecr:DescribeImageScanFindings",
                    "ecr:DescribeImages", "ecr:InitiateLayerUpload", "ecr:PutImage",
                    "ecr:UploadLayerPart"],
         "Resource": [REPO_ARN]},
        {"Sid": "WriteBuildLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [LOG_GROUP_ARN, f"{LOG_GROUP_ARN}:*"]},
        {"Sid": "ArtifactObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
         "Resource": [f"{BUCKET_ARN}/*"]},
        {"Sid": "ArtifactBucket", "Effect": "Allow", "Action": ["s3:GetBucketLocation"],
         "Resource": [BUCKET_ARN]},
        {"Sid": "UseKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": [KEY]},
    ]


# --- pipeline ---------------------------------------------------------------------------

def test_pipeline_role_trust_exact(cap: Capture) -> None:
    assert doc(cap, "web-pipeline-role", "assumeRolePolicy") == {
        "Version": "2012-10-17", "Statement": [{
            "Sid": "AssumeRole", "Effect": "Allow",
            "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}


def test_pipeline_role_statements_exact(cap: Capture) -> None:
    assert doc(cap, "web-pipeline-policy")["Statement"] == [
        {"Sid": "UseConnection", "Effect": "Allow",
         "Action": ["codestar-connections:UseConnection"], "Resource": [CONNECTION]},
        {"Sid": "RunBuild", "Effect": "Allow",
         "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
         "Resource": [f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/web-build"]},
        {"Sid": "DeployService", "Effect": "Allow",
         "Action": ["ecs:DescribeServices", "ecs:UpdateService"],
         "Resource": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/main/web"]},
        {"Sid": "DescribeTaskDefinition", "Effect": "Allow",
         "Action": ["ecs:DescribeTaskDefinition"], "Resource": ["*"]},
        {"Sid": "RegisterTaskDefinition", "Effect": "Allow",
         "Action": ["ecs:RegisterTaskDefinition"],
         "Resource": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:*"]},
        {"Sid": "TagTaskDefinition", "Effect": "Allow", "Action": ["ecs:TagResource"],
         "Resource": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/*"],
         "Condition": {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}},
        {"Sid": "PassServiceRoles", "Effect": "Allow", "Action": ["iam:PassRole"],
         "Resource": [TASK_ROLE, EXEC_ROLE],
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        {"Sid": "ArtifactObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
         "Resource": [f"{BUCKET_ARN}/*"]},
        {"Sid": "ArtifactBucket", "Effect": "Allow",
         "Action": ["s3:GetBucketLocation", "s3:GetBucketVersioning"], "Resource": [BUCKET_ARN]},
        {"Sid": "UseKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": [KEY]},
    ]


def test_codeconnections_arn_uses_its_own_action() -> None:
    arn = f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/0a1b2c3d"
    statement = doc(run(args(connection_arn=arn)), "web-pipeline-policy")["Statement"][0]
    assert statement == {"Sid": "UseConnection", "Effect": "Allow",
                         "Action": ["codeconnections:UseConnection"], "Resource": [arn]}


def stage_names(cap: Capture) -> list[str]:
    return [s["name"] for s in cap.named("web-pipeline").inputs["stages"]]


def test_stage_order_without_and_with_approval(cap: Capture, prod_cap: Capture) -> None:
    assert stage_names(cap) == ["Source", "Build", "Deploy"]
    assert stage_names(prod_cap) == ["Source", "Build", "Approval", "Deploy"]
    approval = prod_cap.named("web-pipeline").inputs["stages"][2]["actions"][0]
    assert (approval["category"], approval["owner"], approval["provider"]) == (
        "Approval", "AWS", "Manual")


def test_pipeline_actions(cap: Capture) -> None:
    pipeline = cap.named("web-pipeline").inputs
    assert pipeline["name"] == "web"
    assert pipeline["pipelineType"] == "V2"
    assert pipeline["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/web-pipeline"
    assert pipeline["artifactStores"] == [{"type": "S3", "location": BUCKET,
                                           "encryptionKey": {"id": KEY, "type": "KMS"}}]
    source, build, deploy = (s["actions"][0] for s in pipeline["stages"])
    assert (source["provider"], source["outputArtifacts"]) == (
        "CodeStarSourceConnection", ["source"])
    assert source["configuration"] == {
        "ConnectionArn": CONNECTION, "FullRepositoryId": "acme/platform",
        "BranchName": "main", "DetectChanges": "true", "OutputArtifactFormat": "CODE_ZIP"}
    assert (build["provider"], build["inputArtifacts"], build["outputArtifacts"],
            build["configuration"]) == ("CodeBuild", ["source"], ["image"],
                                        {"ProjectName": "web-build"})
    assert (deploy["provider"], deploy["inputArtifacts"], deploy["configuration"]) == (
        "ECS", ["image"], {"ClusterName": "main", "ServiceName": "web",
                           "FileName": "imagedefinitions.json"})


def test_outputs_resolve() -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        pipeline = Pipeline("web", args())
        for attr in ("pipeline_name", "artifact_bucket_name", "build_project_name",
                     "build_role_arn", "pipeline_role_arn"):
            getattr(pipeline, attr).apply(lambda v, a=attr: seen.__setitem__(a, v))

    capture(program, config={"aws:region": REGION}, preview=False)
    assert seen == {"pipeline_name": "web", "artifact_bucket_name": BUCKET,
                    "build_project_name": "web-build",
                    # The roles' own (mocked) ARN outputs.
                    "build_role_arn": f"arn:aws:iam:{REGION}:{ACCOUNT}:web-build-role",
                    "pipeline_role_arn": f"arn:aws:iam:{REGION}:{ACCOUNT}:web-pipeline-role"}


# --- validation -------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "message"), [
    ({"connection_arn": "ghp_" + "a" * 36},
     "Pipeline 'web': connectionArn: 'ghp_" + "a" * 36 + "' is not a CodeConnections "
     "connection ARN (arn:aws:codestar-connections:<region>:<account>:connection/<id> or "
     "arn:aws:codeconnections:...)"),
    ({"connection_arn": f"arn:aws:codestar-connections:{REGION}:{ACCOUNT}:host/abc"},
     "Pipeline 'web': connectionArn: 'arn:aws:codestar-connections:eu-west-1:123456789012:"
     "host/abc' is not a CodeConnections connection ARN "
     "(arn:aws:codestar-connections:<region>:<account>:connection/<id> or "
     "arn:aws:codeconnections:...)"),
    ({"repository": "https://github.com/acme/platform"},
     "Pipeline 'web': repository: 'https://github.com/acme/platform' is not a GitHub "
     "repository: use owner/name"),
    ({"branch": "feature/../main"},
     "Pipeline 'web': branch: 'feature/../main' is not a branch name"),
    ({"service_path": "/abs/web"},
     "Pipeline 'web': servicePath: '/abs/web' must be a relative path inside the repository "
     "(no leading / and no ..)"),
    ({"buildspec": "services/web/buildspec.json"},
     "Pipeline 'web': buildspec: 'services/web/buildspec.json' must be a .yml or .yaml file"),
    ({"build_timeout_minutes": 481},
     "Pipeline 'web': buildTimeoutMinutes: buildTimeoutMinutes must be between 5 and 480 "
     "(got 481)"),
    ({"compute_type": "BUILD_GENERAL1_HUGE"},
     "Pipeline 'web': computeType: 'BUILD_GENERAL1_HUGE' is not allowed: use one of "
     "BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM, BUILD_GENERAL1_LARGE, "
     "BUILD_GENERAL1_XLARGE, BUILD_GENERAL1_2XLARGE (did you mean 'BUILD_GENERAL1_LARGE'?)"),
    ({"fail_on_severities": []},
     "Pipeline 'web': failOnSeverities: must name at least one severity: the scan gate "
     "cannot be switched off (use some of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, "
     "UNDEFINED)"),
    ({"fail_on_severities": ["CRITICAL", "critical"]},
     "Pipeline 'web': failOnSeverities[1]: 'critical' is not allowed: use one of CRITICAL, "
     "HIGH, MEDIUM, LOW, INFORMATIONAL, UNDEFINED"),
    ({"fail_on_severities": ["HIGH", "HIGH"]},
     "Pipeline 'web': failOnSeverities: lists a severity twice"),
    ({"log_retention_days": 10},
     "Pipeline 'web': logRetentionDays: 10 is not a CloudWatch Logs retention; use one of 1, "
     "3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
     "2922, 3288, 3653"),
])
def test_rejected_before_any_child(overrides: dict[str, Any], message: str) -> None:
    registered: list[str] = []
    with pytest.raises(ArgsError) as err:
        capture(lambda: Pipeline("web", args(**overrides)), config={"aws:region": REGION},
                on_register=lambda r: registered.append(r.type))
    assert str(err.value) == message
    assert registered == ["microservices:index:Pipeline"]


def test_check_accepts_valid_spec() -> None:
    assert check_pipeline({"connection_arn": CONNECTION, "repository": "acme/platform",
                           "branch": "release/2026.1", "service_path": "services/web",
                           "buildspec": "services/web/buildspec.yml",
                           "fail_on_severities": ["CRITICAL", "HIGH", "MEDIUM"]}) == []


# --- buildspec ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def buildspec() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "services/web/buildspec.yml").read_text())


def test_buildspec_shape(buildspec: dict[str, Any]) -> None:
    assert buildspec["version"] == 0.2
    assert list(buildspec["phases"]) == ["install", "pre_build", "build", "post_build"]
    assert buildspec["artifacts"] == {"files": ["imagedefinitions.json"]}
    pre_build = buildspec["phases"]["pre_build"]["commands"]
    assert any("aws ecr get-login-password" in c and "docker login" in c for c in pre_build)
    assert 'IMAGE_TAG="${CODEBUILD_RESOLVED_SOURCE_VERSION}"' in pre_build
    build = buildspec["phases"]["build"]["commands"]
    assert [c.split()[:3] for c in build] == [["docker", "build", "--target"],
                                             ["docker", "build", "--tag"]]


def test_buildspec_gates_release_on_scan(buildspec: dict[str, Any]) -> None:
    post = buildspec["phases"]["post_build"]["commands"]
    order = ["CODEBUILD_BUILD_SUCCEEDING", "docker push", "aws ecr wait image-scan-complete",
             "aws ecr describe-image-scan-findings", "components/scan_gate.py",
             "imagedefinitions.json"]
    positions = [next(i for i, c in enumerate(post) if marker in c) for marker in order]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    gate = post[positions[4]]
    assert '--fail-on "${FAIL_ON_SEVERITIES}"' in gate


# --- scan gate ----------------------------------------------------------------------------

def findings(counts: dict[str, int], status: str = "COMPLETE") -> dict[str, Any]:
    return {"imageScanStatus": {"status": status, "description": "done"},
            "imageScanFindings": {"findingSeverityCounts": counts, "findings": []},
            "registryId": ACCOUNT, "repositoryName": "web"}


def test_gate_fails_on_configured_severities() -> None:
    assert evaluate(findings({"HIGH": 2, "LOW": 7}), ["CRITICAL", "HIGH"]) == (
        False, "scan gate: FAILED with 2 HIGH finding(s) (blocking: CRITICAL, HIGH; "
               "all findings: HIGH=2, LOW=7)")


def test_gate_passes_below_threshold() -> None:
    assert evaluate(findings({"HIGH": 2, "LOW": 7}), ["CRITICAL"]) == (
        True, "scan gate: passed (blocking: CRITICAL; all findings: HIGH=2, LOW=7)")
    assert evaluate(findings({}), ["CRITICAL", "HIGH"]) == (
        True, "scan gate: passed (blocking: CRITICAL, HIGH; all findings: none)")


def test_gate_fails_closed_when_scan_incomplete() -> None:
    assert evaluate(findings({}, status="FAILED"), ["CRITICAL"]) == (
        False, "scan gate: image scan status is FAILED, not complete (done); refusing to "
               "release it")
    assert evaluate({}, ["CRITICAL"])[0] is False


def test_gate_enhanced_scanning_active_counts() -> None:
    assert evaluate(findings({"CRITICAL": 1}, status="ACTIVE"), ["CRITICAL"])[0] is False


def test_parse_severities() -> None:
    assert parse_severities(" critical, HIGH ,") == ["CRITICAL", "HIGH"]
    with pytest.raises(ValueError, match="--fail-on must list one or more of CRITICAL"):
        parse_severities("SEVERE")
    with pytest.raises(ValueError):
        parse_severities(" , ")


def test_gate_cli_exit_codes(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked.json"
    blocked.write_text(json.dumps(findings({"CRITICAL": 1})))
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(findings({"MEDIUM": 3})))
    assert main(["--fail-on", "CRITICAL,HIGH", str(blocked)]) == 1
    assert main(["--fail-on", "CRITICAL,HIGH", str(clean)]) == 0
    assert main(["--fail-on", "CRITICAL,HIGH,MEDIUM", str(clean)]) == 1
    assert main(["--fail-on", "BOGUS", str(clean)]) == 1
    assert main([str(tmp_path / "missing.json")]) == 1


def test_gate_runs_as_a_plain_script_as_in_codebuild(tmp_path: Path) -> None:
    """The buildspec runs the file with the build image's python3, outside the package."""
    blocked = tmp_path / "scan-findings.json"
    blocked.write_text(json.dumps(findings({"HIGH": 1})))
    result = subprocess.run([sys.executable, "-I", str(ROOT / "components/scan_gate.py"),
                             "--fail-on", "CRITICAL,HIGH", str(blocked)],
                            capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == ("scan gate: FAILED with 1 HIGH finding(s) (blocking: "
                                     "CRITICAL, HIGH; all findings: HIGH=1)")


def test_key_named_by_alias_keeps_role_policies_known_at_preview() -> None:
    """With the key's alias, the documents need not wait for the key's ARN (unknown at a
    first preview) and still name only that key."""
    import pulumi_aws as aws

    def program() -> None:
        key = aws.kms.Key("platform-key")  # its ARN is unknown at a first preview
        Pipeline("web", args(kms_key_arn=key.arn, kms_key_alias="alias/platform"))

    cap = capture(program, config={"aws:region": REGION}, preview=True)
    for policy in ("web-build-policy", "web-pipeline-policy"):
        use_key = [s for s in doc(cap, policy)["Statement"] if s["Sid"] == "UseKey"]
        assert use_key == [{
            "Sid": "UseKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"],
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/platform"}}}]
