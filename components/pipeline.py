"""Pipeline: commit to running service. Source (a CodeConnections connection to GitHub) ->
Build (tests, image build, push, ECR scan gate) -> optional manual approval -> ECS deploy.

The build project is the one place in the platform that runs Docker in privileged mode
(docker-in-docker needs it). That is a deliberate, reasoned exception to the
``codebuild-privileged-mode`` policy: :data:`PRIVILEGED_BUILD_EXCEPTION` carries it so the
stack's policy configuration can list it, reported as exempted rather than hidden.

Every ARN in the roles' policies is built from known parts (account, region, names), so the
documents are known at preview and the policy pack judges them before anything exists.
"""


import json
import re
from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import (
    Statement,
    allow,
    child_opts,
    invoke_opts,
    key_statement,
    service_trust,
    type_token,
)
from .buckets import kms_only_policy, private_bucket
from .environment import LOG_RETENTION_DAYS
from .scan_gate import SEVERITIES
from .validation import Problem, check_arn, check_choice, check_range, raise_for

BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
"""AWS managed build image (Amazon Linux 2023, Docker and the AWS CLI included)."""

COMPUTE_TYPES = ("BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE",
                 "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE")
DEFAULT_FAIL_ON = ["CRITICAL", "HIGH"]
DEFAULT_LOG_RETENTION_DAYS = 365
CONNECTION_SERVICES = ("codestar-connections", "codeconnections")

PRIVILEGED_BUILD_EXCEPTION: dict[str, str] = {
    "policy": "codebuild-privileged-mode",
    "resource_suffix": "-build",
    "reason": "The build project runs docker build and push for the service image, which "
              "needs the Docker daemon that only privileged mode provides; it builds only "
              "this repository's code from the pipeline source.",
}
"""Policy exception for each Pipeline's build project (resource ``<pipeline name>-build``)."""

ECR_PUSH_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                    "ecr:CompleteLayerUpload", "ecr:DescribeImageScanFindings",
                    "ecr:DescribeImages", "ecr:InitiateLayerUpload", "ecr:PutImage",
                    "ecr:UploadLayerPart")

_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_BRANCH_RE = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
_PATH_RE = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
_CONNECTION_RE = re.compile(r":connection/[A-Za-z0-9-]+\Z")
"""A connection ARN ends in the connection's id (a UUID)."""


class PipelineSpec(TypedDict):
    """How a service is delivered: where its source lives and what its build must prove."""

    connection_arn: str
    """CodeConnections (CodeStar Connections) connection to GitHub, e.g.
    ``arn:aws:codestar-connections:eu-west-1:123456789012:connection/<uuid>``. The connection
    holds the authorisation; no token ever appears in configuration."""
    repository: str
    """GitHub repository as ``owner/name``."""
    branch: NotRequired[str]
    """Branch whose commits are released (default ``main``)."""
    service_path: NotRequired[str]
    """Directory of the service in the repository, holding its Dockerfile (default
    ``services/<service key>`` in a stack file, ``services/<pipeline name>`` otherwise)."""
    buildspec: NotRequired[str]
    """Buildspec path from the repository root (default ``<service_path>/buildspec.yml``)."""
    approval_before: NotRequired[bool]
    """Insert a manual approval stage before deploy (the Platform sets it for prod)."""
    build_timeout_minutes: NotRequired[int]
    """Build timeout in minutes, 5-480 (default 20)."""
    compute_type: NotRequired[str]
    """CodeBuild compute type (default ``BUILD_GENERAL1_SMALL``)."""
    fail_on_severities: NotRequired[list[str]]
    """Image scan severities that stop the release (default ``["CRITICAL", "HIGH"]``)."""


class PipelineArgs(PipelineSpec):
    """The spec plus the service and shared resources the pipeline delivers to and uses."""

    protect: NotRequired[bool]
    """Protect the artifact bucket (and retain it on delete): it holds what was released."""
    repository_name: pulumi.Input[str]
    """Name of the service's ECR repository."""
    repository_arn: pulumi.Input[str]
    """ARN of the service's ECR repository (the only repository the build may push to)."""
    repository_url: pulumi.Input[str]
    """URI of the service's ECR repository (``<registry>/<name>``)."""
    cluster_name: pulumi.Input[str]
    """ECS cluster running the service."""
    service_name: pulumi.Input[str]
    """ECS service the deploy stage updates."""
    container_name: pulumi.Input[str]
    """Container in the task definition whose image the deploy replaces."""
    task_role_arn: pulumi.Input[str]
    """The service's task role (the pipeline may pass it to ECS tasks, nothing else)."""
    execution_role_arn: pulumi.Input[str]
    """The service's task execution role (passed to ECS tasks only)."""
    kms_key_arn: pulumi.Input[str]
    """KMS key for artifacts, build output and build logs."""
    kms_key_alias: NotRequired[str]
    """That key's alias (``alias/<name>``): the roles' policies name the key through it, so
    they are known before the key exists."""
    log_retention_days: NotRequired[int]
    """Build log retention in days (default 365); one of CloudWatch Logs' values."""
    log_bucket: NotRequired[pulumi.Input[str]]
    """The platform's log bucket: the artifact bucket's S3 access logs go there."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child resource."""


def check_pipeline(spec: PipelineSpec) -> list[Problem]:
    problems: list[Problem] = []
    arn = spec["connection_arn"]
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    if service not in CONNECTION_SERVICES or not _CONNECTION_RE.search(arn):
        problems += [Problem(("connection_arn",),
                             f"'{arn}' is not a CodeConnections connection ARN "
                             "(arn:aws:codestar-connections:<region>:<account>:connection/<id> "
                             "or arn:aws:codeconnections:...)")]
    else:
        problems += check_arn(("connection_arn",), arn, service, "a connection")
    if not _REPO_RE.match(spec["repository"]):
        problems.append(Problem(("repository",),
                                f"'{spec['repository']}' is not a GitHub repository: use "
                                "owner/name"))
    branch = spec.get("branch", "main")
    if not _BRANCH_RE.match(branch) or ".." in branch or branch.startswith(("-", "/")):
        problems.append(Problem(("branch",), f"'{branch}' is not a branch name"))
    paths = {"service_path": spec.get("service_path"), "buildspec": spec.get("buildspec")}
    for field, value in paths.items():
        if value is not None and (not _PATH_RE.match(value) or value.startswith("/")
                                  or ".." in value.split("/")):
            problems.append(Problem((field,), f"'{value}' must be a relative path inside the "
                                              "repository (no leading / and no ..)"))
    buildspec = spec.get("buildspec")
    if buildspec is not None and not buildspec.endswith((".yml", ".yaml")):
        problems.append(Problem(("buildspec",), f"'{buildspec}' must be a .yml or .yaml file"))
    problems += check_range(("build_timeout_minutes",), spec.get("build_timeout_minutes", 20),
                            5, 480, "buildTimeoutMinutes")
    problems += check_choice(("compute_type",), spec.get("compute_type", COMPUTE_TYPES[0]),
                             COMPUTE_TYPES)
    severities = spec.get("fail_on_severities", DEFAULT_FAIL_ON)
    if not severities:
        problems.append(Problem(("fail_on_severities",),
                                "must name at least one severity: the scan gate cannot be "
                                f"switched off (use some of {', '.join(SEVERITIES)})"))
    for i, severity in enumerate(severities):
        problems += check_choice(("fail_on_severities", i), severity, SEVERITIES)
    if len(set(severities)) != len(severities):
        problems.append(Problem(("fail_on_severities",), "lists a severity twice"))
    return problems


def _check_wiring(args: PipelineArgs) -> list[Problem]:
    days = args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
    if days in LOG_RETENTION_DAYS:
        return []
    return [Problem(("log_retention_days",),
                    f"{days} is not a CloudWatch Logs retention; use one of "
                    f"{', '.join(map(str, LOG_RETENTION_DAYS))}")]


def artifact_bucket_name(name: str, account: str, region: str) -> str:
    """Globally unique, deterministic: ``<name>-artifacts-<account>-<region>`` (<= 63)."""
    suffix = f"-artifacts-{account}-{region}"
    prefix = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[: 63 - len(suffix)]
    return f"{prefix.rstrip('-')}{suffix}"


def build_role_statements(*, account: str, region: str, repository_arn: str,
                          bucket: str, log_group: str, kms_key_arn: str,
                          kms_key_alias: str | None = None) -> list[Statement]:
    """What the build project may do: push to one repository, write one log group, read and
    write pipeline artifacts, use the key."""
    log_group_arn = f"arn:aws:logs:{region}:{account}:log-group:{log_group}"
    bucket_arn = f"arn:aws:s3:::{bucket}"
    return [
        # GetAuthorizationToken has no resource-level permissions: its resource is always "*".
        allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
        allow("EcrPushOwnRepository", ECR_PUSH_ACTIONS, [repository_arn]),
        allow("WriteBuildLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
              [log_group_arn, f"{log_group_arn}:*"]),
        allow("ArtifactObjects", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
              [f"{bucket_arn}/*"]),
        allow("ArtifactBucket", ["s3:GetBucketLocation"], [bucket_arn]),
        key_statement("UseKey", ["kms:Decrypt", "kms:GenerateDataKey"], kms_key_arn,
                      alias=kms_key_alias, region=region, account=account),
    ]


def pipeline_service_path(key: str, spec: PipelineSpec) -> str:
    """Where the delivered service's source lives in the repository (``services/<key>``)."""
    return spec.get("service_path", f"services/{key}")


def pipeline_role_statements(*, account: str, region: str, connection_arn: str,
                             build_project: str, bucket: str, cluster_name: str,
                             service_name: str, task_role_arn: str, execution_role_arn: str,
                             kms_key_arn: str, kms_key_alias: str | None = None
                             ) -> list[Statement]:
    """What the pipeline may do: use one connection, run one build project, update one ECS
    service and pass only that service's two roles to ECS tasks."""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    connection_service = connection_arn.split(":")[2]
    return [
        allow("UseConnection", [f"{connection_service}:UseConnection"], [connection_arn]),
        allow("RunBuild", ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
              [f"arn:aws:codebuild:{region}:{account}:project/{build_project}"]),
        allow("DeployService", ["ecs:DescribeServices", "ecs:UpdateService"],
              [f"arn:aws:ecs:{region}:{account}:service/{cluster_name}/{service_name}"]),
        # Reading task definitions has no resource-level permissions in ECS; registering
        # is held to the service's own family (the ECS deploy action registers a revision).
        allow("DescribeTaskDefinition", ["ecs:DescribeTaskDefinition"], ["*"]),
        allow("RegisterTaskDefinition", ["ecs:RegisterTaskDefinition"],
              [f"arn:aws:ecs:{region}:{account}:task-definition/{service_name}:*"]),
        # Tags copied onto the new task definition revision, only while registering it.
        allow("TagTaskDefinition", ["ecs:TagResource"],
              [f"arn:aws:ecs:{region}:{account}:task-definition/*"],
              {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}),
        allow("PassServiceRoles", ["iam:PassRole"], [task_role_arn, execution_role_arn],
              {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
        allow("ArtifactObjects", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
              [f"{bucket_arn}/*"]),
        allow("ArtifactBucket", ["s3:GetBucketLocation", "s3:GetBucketVersioning"],
              [bucket_arn]),
        key_statement("UseKey", ["kms:Decrypt", "kms:GenerateDataKey"], kms_key_arn,
                      alias=kms_key_alias, region=region, account=account),
    ]


def pipeline_build_role_name(name: str) -> str:
    """IAM name of the build role of the pipeline called ``name``: known before the pipeline
    exists, so the image repository can admit exactly this role to push."""
    return f"{name}-build"


class Pipeline(pulumi.ComponentResource):
    """A service's delivery pipeline: CodePipeline V2 with CodeBuild, an ECR scan gate and an
    ECS deploy, on a KMS-encrypted, TLS-only artifact bucket."""

    pipeline_name: pulumi.Output[str]
    """Name of the CodePipeline pipeline."""
    artifact_bucket_name: pulumi.Output[str]
    """Name of the artifact bucket."""
    build_project_name: pulumi.Output[str]
    """Name of the CodeBuild project."""
    build_role_arn: pulumi.Output[str]
    """ARN of the build project's role."""
    pipeline_role_arn: pulumi.Output[str]
    """ARN of the pipeline's role."""

    def __init__(self, name: str, args: PipelineArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Pipeline"), name, None, opts)
        raise_for("Pipeline", name, check_pipeline(args) + _check_wiring(args))

        branch = args.get("branch", "main")
        service_path = args.get("service_path", f"services/{name}")
        buildspec = args.get("buildspec", f"{service_path}/buildspec.yml")
        fail_on = args.get("fail_on_severities", DEFAULT_FAIL_ON)
        retention = args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
        tags = args.get("tags")
        kms_key_arn = args["kms_key_arn"]
        connection_arn = args["connection_arn"]

        account = aws.get_caller_identity_output(opts=invoke_opts(self)).account_id
        region = aws.get_region_output(opts=invoke_opts(self)).region
        bucket = pulumi.Output.all(account, region).apply(
            lambda ar: artifact_bucket_name(name, ar[0], ar[1]))
        project_name = f"{name}-build"
        pipeline_name = name
        log_group_name = f"/microservices/pipelines/{name}"
        build_role_name = pipeline_build_role_name(name)
        pipeline_role_name = f"{name}-pipeline"

        # --- artifact bucket -------------------------------------------------------------
        store, _ = private_bucket(
            self, lambda kind: f"{name}-artifacts" + ("" if kind == "bucket" else f"-{kind}"),
            bucket, policy=pulumi.Output.json_dumps(bucket.apply(kms_only_policy)),
            kms_key_arn=kms_key_arn, rule_id="expire-superseded-artifacts",
            log_bucket=args.get("log_bucket"), protect=args.get("protect", False), tags=tags)

        # --- build -----------------------------------------------------------------------
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-build-logs", name=log_group_name, retention_in_days=retention,
            kms_key_id=kms_key_arn, tags=tags, opts=child_opts(self))
        project_arn = pulumi.Output.all(account, region).apply(
            lambda ar: f"arn:aws:codebuild:{ar[1]}:{ar[0]}:project/{project_name}")
        build_role = aws.iam.Role(
            f"{name}-build-role", name=build_role_name,
            assume_role_policy=service_trust("codebuild.amazonaws.com", account, project_arn),
            max_session_duration=3600, tags=tags, opts=child_opts(self))
        # With the key's alias the documents need not wait for the key's ARN.
        key_ref = kms_key_arn if args.get("kms_key_alias") is None else ""
        build_doc = pulumi.Output.all(account, region, args["repository_arn"], bucket,
                                      key_ref).apply(
            lambda v: build_role_statements(account=v[0], region=v[1], repository_arn=v[2],
                                            bucket=v[3], log_group=log_group_name,
                                            kms_key_arn=v[4],
                                            kms_key_alias=args.get("kms_key_alias")))
        build_policy = aws.iam.RolePolicy(
            f"{name}-build-policy", role=build_role.name,
            policy=policy_document_from(build_doc), opts=child_opts(self))
        env_vars = {
            "REPOSITORY_URI": args["repository_url"],
            "REPOSITORY_NAME": args["repository_name"],
            "CONTAINER_NAME": args["container_name"],
            "SERVICE_PATH": service_path,
            "FAIL_ON_SEVERITIES": ",".join(fail_on),
        }
        project = aws.codebuild.Project(
            f"{name}-build", name=project_name,
            description=f"Tests, builds, pushes and scan-gates the image for {service_path}",
            service_role=role_arn(account, build_role_name),
            build_timeout=args.get("build_timeout_minutes", 20),
            encryption_key=kms_key_arn,
            source=aws.codebuild.ProjectSourceArgs(type="CODEPIPELINE", buildspec=buildspec),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="CODEPIPELINE"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                compute_type=args.get("compute_type", COMPUTE_TYPES[0]), image=BUILD_IMAGE,
                type="LINUX_CONTAINER", image_pull_credentials_type="CODEBUILD",
                # docker build needs the Docker daemon: see PRIVILEGED_BUILD_EXCEPTION.
                privileged_mode=True,
                environment_variables=[
                    aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(
                        name=key, value=value, type="PLAINTEXT")
                    for key, value in env_vars.items()]),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=log_group.name),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED")),
            tags=tags, opts=child_opts(self, depends_on=[build_role, build_policy]))

        # --- pipeline --------------------------------------------------------------------
        pipeline_role = aws.iam.Role(
            f"{name}-pipeline-role", name=pipeline_role_name,
            assume_role_policy=service_trust("codepipeline.amazonaws.com", account),
            max_session_duration=3600, tags=tags, opts=child_opts(self))
        pipeline_doc = pulumi.Output.all(
            account, region, bucket, args["cluster_name"], args["service_name"],
            args["task_role_arn"], args["execution_role_arn"], key_ref).apply(
            lambda v: pipeline_role_statements(
                account=v[0], region=v[1], connection_arn=connection_arn,
                build_project=project_name, bucket=v[2], cluster_name=v[3], service_name=v[4],
                task_role_arn=v[5], execution_role_arn=v[6], kms_key_arn=v[7],
                kms_key_alias=args.get("kms_key_alias")))
        pipeline_policy = aws.iam.RolePolicy(
            f"{name}-pipeline-policy", role=pipeline_role.name,
            policy=policy_document_from(pipeline_doc), opts=child_opts(self))

        stages = [
            aws.codepipeline.PipelineStageArgs(name="Source", actions=[
                aws.codepipeline.PipelineStageActionArgs(
                    name="Source", category="Source", owner="AWS",
                    provider="CodeStarSourceConnection", version="1",
                    output_artifacts=["source"],
                    configuration={"ConnectionArn": connection_arn,
                                   "FullRepositoryId": args["repository"],
                                   "BranchName": branch, "DetectChanges": "true",
                                   "OutputArtifactFormat": "CODE_ZIP"})]),
            aws.codepipeline.PipelineStageArgs(name="Build", actions=[
                aws.codepipeline.PipelineStageActionArgs(
                    name="Build", category="Build", owner="AWS", provider="CodeBuild",
                    version="1", input_artifacts=["source"], output_artifacts=["image"],
                    configuration={"ProjectName": project.name})]),
        ]
        if args.get("approval_before", False):
            stages.append(aws.codepipeline.PipelineStageArgs(name="Approval", actions=[
                aws.codepipeline.PipelineStageActionArgs(
                    name="Approve", category="Approval", owner="AWS", provider="Manual",
                    version="1",
                    configuration={"CustomData": f"Release {args['repository']}@{branch} "
                                                 f"({service_path}) to this environment?"})]))
        stages.append(aws.codepipeline.PipelineStageArgs(name="Deploy", actions=[
            aws.codepipeline.PipelineStageActionArgs(
                name="Deploy", category="Deploy", owner="AWS", provider="ECS", version="1",
                input_artifacts=["image"],
                configuration={"ClusterName": args["cluster_name"],
                               "ServiceName": args["service_name"],
                               "FileName": "imagedefinitions.json"})]))
        pipeline = aws.codepipeline.Pipeline(
            f"{name}-pipeline", name=pipeline_name, pipeline_type="V2",
            role_arn=role_arn(account, pipeline_role_name),
            artifact_stores=[aws.codepipeline.PipelineArtifactStoreArgs(
                type="S3", location=store.bucket,
                encryption_key=aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgs(
                    id=kms_key_arn, type="KMS"))],
            stages=stages, tags=tags,
            opts=child_opts(self, depends_on=[pipeline_role, pipeline_policy]))

        self.pipeline_name = pipeline.name
        self.artifact_bucket_name = store.bucket
        self.build_project_name = project.name
        self.build_role_arn = build_role.arn
        self.pipeline_role_arn = pipeline_role.arn
        self.register_outputs({
            "pipeline_name": self.pipeline_name,
            "artifact_bucket_name": self.artifact_bucket_name,
            "build_project_name": self.build_project_name,
            "build_role_arn": self.build_role_arn,
            "pipeline_role_arn": self.pipeline_role_arn,
        })


def role_arn(account: pulumi.Output[str], role_name: str) -> pulumi.Output[str]:
    """A role's ARN from known parts, so it is known at preview."""
    return account.apply(lambda a: f"arn:aws:iam::{a}:role/{role_name}")


def policy_document_from(statements: pulumi.Output[list[Statement]]) -> pulumi.Output[str]:
    """A policy document from statements computed inside an ``apply``."""
    return statements.apply(
        lambda s: json.dumps({"Version": "2012-10-17", "Statement": s}))
