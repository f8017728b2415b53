"""GitHubOidc: short-lived AWS credentials for this repository's GitHub Actions workflows.

GitHub's OIDC provider is trusted once per account; each target (a stack's deploy, or a pull
request's preview) gets its own role whose trust names the repository and exactly one subject
(`environment:<name>`, `ref:refs/heads/<branch>` or `pull_request`), compared with
``StringEquals``: no wildcards, so no other repository, branch or environment can assume it.

Scope, honestly: a role that runs ``pulumi up`` for the platform creates IAM roles, KMS keys,
load balancers and databases, so its permissions are broad by nature. They are narrowed as
far as the work allows: only the services the platform manages, only the stack's region
(``aws:RequestedRegion``), IAM only on roles, policies and instance profiles of this account,
hard denies on creating users, access keys and touching AWS Organizations, and an optional
permissions boundary. Preview roles (pull requests) get read-only, list and describe actions.
"""


import json
import re
from collections.abc import Callable
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import Statement, allow, child_opts, invoke_opts, type_token
from .validation import Problem, check_arn, check_choice, check_key, raise_for

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
ACCESS_LEVELS = ("deploy", "preview")
MAX_SESSION_SECONDS = 3600

MANAGED_SERVICES = ("acm", "apigateway", "application-autoscaling", "backup", "cloudwatch",
                    "codebuild", "codepipeline", "dynamodb", "ec2", "ecr", "ecs", "eks",
                    "elasticache", "elasticloadbalancing", "events", "kms", "lambda", "logs",
                    "rds", "s3", "schemas", "secretsmanager", "servicediscovery", "signer",
                    "sns", "sqs", "ssm", "states", "wafv2", "xray")
"""Services whose resources the platform's stacks create; a deploy role may manage them."""

CONNECTION_ACTIONS = ("codeconnections:GetConnection", "codeconnections:PassConnection",
                      "codeconnections:UseConnection", "codestar-connections:GetConnection",
                      "codestar-connections:PassConnection",
                      "codestar-connections:UseConnection")
"""Pipelines reference an existing GitHub connection; deploys pass it, never create one."""

IAM_DEPLOY_ACTIONS = ("iam:AttachRolePolicy", "iam:CreatePolicy", "iam:CreatePolicyVersion",
                      "iam:CreateRole", "iam:CreateServiceLinkedRole", "iam:DeletePolicy",
                      "iam:DeletePolicyVersion", "iam:DeleteRole", "iam:DeleteRolePolicy",
                      "iam:DetachRolePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
                      "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                      "iam:ListInstanceProfilesForRole", "iam:ListPolicyVersions",
                      "iam:ListRolePolicies", "iam:ListRoleTags", "iam:PassRole",
                      "iam:PutRolePolicy", "iam:TagPolicy", "iam:TagRole", "iam:UntagPolicy",
                      "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
                      "iam:UpdateRoleDescription")
"""IAM a deploy needs: roles and customer managed policies, nothing about users."""

DENIED_ACTIONS = ("iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateUser",
                  "organizations:*")
"""Never, whatever else a policy or boundary allows: no long-lived credentials, no
organisation changes."""

_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_REF_RE = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


class GitHubTargetSpec(TypedDict):
    """Which workflow runs may assume one target's role: set exactly one of ``environment``,
    ``branch`` or ``pull_request``."""

    environment: NotRequired[str]
    """GitHub environment the job declares (``environment: prod``); deploys should use one,
    so the environment's required reviewers gate the credentials."""
    branch: NotRequired[str]
    """Branch whose pushes may assume the role (subject ``ref:refs/heads/<branch>``)."""
    pull_request: NotRequired[bool]
    """Pull request runs (subject ``pull_request``); allowed only with ``access: preview``."""
    access: NotRequired[str]
    """``deploy`` (default: what ``pulumi up`` needs) or ``preview`` (read-only)."""
    region: NotRequired[str]
    """Region the role may act in (default: the provider's region)."""


class GitHubOidcSpec(TypedDict):
    """GitHub Actions' access to AWS: which repository, and a role per target."""

    repository: str
    """GitHub repository as ``owner/name``."""
    environments: dict[str, GitHubTargetSpec]
    """Role per target, keyed by a short name: the workflows expect ``dev``, ``staging`` and
    ``prod`` (GitHub environments of those names, deploy) and ``preview-<stack>`` (GitHub
    environments ``preview-<stack>``, ``access: preview``)."""
    create_provider: NotRequired[bool]
    """Create the account's GitHub OIDC provider (default true); an account has at most one,
    so set false and give ``provider_arn`` when it exists already."""
    provider_arn: NotRequired[str]
    """Existing GitHub OIDC provider ARN, with ``create_provider: false``."""


class GitHubOidcArgs(GitHubOidcSpec):
    """The spec plus optional guard rails from outside."""

    permissions_boundary_arn: NotRequired[pulumi.Input[str]]
    """Managed policy set as every role's permissions boundary."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child resource."""


def check_github_oidc(spec: GitHubOidcSpec) -> list[Problem]:
    problems: list[Problem] = []
    if not _REPO_RE.match(spec["repository"]):
        problems.append(Problem(("repository",), f"'{spec['repository']}' is not a GitHub "
                                                 "repository: use owner/name"))
    create = spec.get("create_provider", True)
    provider_arn = spec.get("provider_arn")
    if create and provider_arn is not None:
        problems.append(Problem(("provider_arn",), "give providerArn only with "
                                                   "createProvider: false"))
    if not create:
        if provider_arn is None:
            problems.append(Problem(("provider_arn",), "required when createProvider is "
                                                       "false"))
        elif not provider_arn.endswith(f":oidc-provider/{GITHUB_OIDC_HOST}"):
            problems.append(Problem(("provider_arn",),
                                    f"'{provider_arn}' is not the GitHub OIDC provider's ARN "
                                    f"(arn:aws:iam::<account>:oidc-provider/{GITHUB_OIDC_HOST})"))
        else:
            problems += check_arn(("provider_arn",), provider_arn, "iam", "an IAM")
    if not spec["environments"]:
        problems.append(Problem(("environments",), "must name at least one target"))
    for key, target in sorted(spec["environments"].items()):
        problems += [p.under("environments") for p in check_key((key,), key)]
        problems += [p.under("environments", key) for p in _check_target(target)]
    return problems


def _check_target(target: GitHubTargetSpec) -> list[Problem]:
    problems: list[Problem] = []
    chosen: list[str] = [f for f in ("environment", "branch") if f in target]
    if target.get("pull_request", False):
        chosen.append("pull_request")
    if len(chosen) != 1:
        problems.append(Problem((), "set exactly one of environment, branch or pull_request "
                                    f"(got {', '.join(chosen) or 'none'})"))
    refs = {"environment": target.get("environment"), "branch": target.get("branch")}
    for field, value in refs.items():
        if value is not None and (not _REF_RE.match(value) or ".." in value):
            problems.append(Problem((field,), f"'{value}' is not a valid {field} name (letters, "
                                              "digits, . _ / -; no wildcards)"))
    access = target.get("access", "deploy")
    problems += check_choice(("access",), access, ACCESS_LEVELS)
    if target.get("pull_request", False) and access != "preview":
        problems.append(Problem(("access",), "pull request runs may only preview: set "
                                             "access: preview"))
    region = target.get("region")
    if region is not None and not _REGION_RE.match(region):
        problems.append(Problem(("region",), f"'{region}' is not an AWS region name "
                                             "(e.g. eu-west-1)"))
    return problems


def subject(repository: str, target: GitHubTargetSpec) -> str:
    """The exact ``sub`` claim GitHub puts in the job's token for this target."""
    if "environment" in target:
        return f"repo:{repository}:environment:{target['environment']}"
    if "branch" in target:
        return f"repo:{repository}:ref:refs/heads/{target['branch']}"
    return f"repo:{repository}:pull_request"


def trust_policy(provider_arn: str, sub: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "GitHubActions", "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                                       f"{GITHUB_OIDC_HOST}:sub": sub}}}]}


def _deny() -> Statement:
    return {"Sid": "DenyLongLivedCredentialsAndOrganizations", "Effect": "Deny",
            "Action": list(DENIED_ACTIONS), "Resource": "*"}


def deploy_statements(account: str, region: str) -> list[Statement]:
    """What ``pulumi up`` of one platform stack needs, in one region of one account."""
    in_region = {"StringEquals": {"aws:RequestedRegion": region}}
    iam_resources = [f"arn:aws:iam::{account}:role/*", f"arn:aws:iam::{account}:policy/*",
                     f"arn:aws:iam::{account}:instance-profile/*"]
    return [
        # Broad by nature: a platform deploy creates and deletes these services' resources.
        allow("ManagePlatformServices", [f"{svc}:*" for svc in MANAGED_SERVICES], ["*"],
              in_region),
        allow("PassGitHubConnection", CONNECTION_ACTIONS,
              [f"arn:aws:codestar-connections:{region}:{account}:connection/*",
               f"arn:aws:codeconnections:{region}:{account}:connection/*"]),
        # IAM is global (its calls are not in the stack's region); scope by resource instead.
        allow("ManageWorkloadRoles", IAM_DEPLOY_ACTIONS, iam_resources),
        allow("ReadAccount", ["sts:GetCallerIdentity", "ec2:DescribeAvailabilityZones",
                              "ec2:DescribeRegions", "iam:ListAccountAliases"], ["*"]),
        _deny(),
    ]


def preview_statements(account: str, region: str) -> list[Statement]:
    """What ``pulumi preview`` (and a refresh) reads: describe and list, no data reads."""
    in_region = {"StringEquals": {"aws:RequestedRegion": region}}
    read = sorted(f"{svc}:{verb}*" for svc in MANAGED_SERVICES for verb in ("Describe", "List"))
    return [
        allow("DescribePlatformServices", read, ["*"], in_region),
        allow("ReadWorkloadRoles", ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole",
                                    "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                                    "iam:ListRolePolicies"],
              [f"arn:aws:iam::{account}:role/*", f"arn:aws:iam::{account}:policy/*"]),
        allow("ReadAccount", ["sts:GetCallerIdentity", "ec2:DescribeAvailabilityZones",
                              "ec2:DescribeRegions", "iam:ListAccountAliases"], ["*"]),
        _deny(),
    ]


def _trust_json(sub: str) -> Callable[[str], str]:
    return lambda arn: json.dumps(trust_policy(arn, sub))


def _policy_json(statements: Callable[[str, str], list[Statement]]
                 ) -> Callable[[list[Any]], str]:
    return lambda ar: json.dumps({"Version": "2012-10-17",
                                  "Statement": statements(ar[0], ar[1])})


class GitHubOidc(pulumi.ComponentResource):
    """GitHub's OIDC provider (or an existing one) and a narrowly trusted role per target."""

    provider_arn: pulumi.Output[str]
    """ARN of the GitHub OIDC provider the roles trust."""
    role_arns: pulumi.Output[dict[str, str]]
    """Role ARN per target key (set it as the workflow's ``role-to-assume``)."""

    def __init__(self, name: str, args: GitHubOidcArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("GitHubOidc"), name, None, opts)
        raise_for("GitHubOidc", name, check_github_oidc(args))

        repository = args["repository"]
        tags = args.get("tags")
        boundary = args.get("permissions_boundary_arn")
        account = aws.get_caller_identity_output(opts=invoke_opts(self)).account_id
        current_region = aws.get_region_output(opts=invoke_opts(self)).region

        depends: list[pulumi.Resource] = []
        if args.get("create_provider", True):
            # GitHub's certificate chain is validated by IAM against its own trusted CAs, so
            # no thumbprint is configured (the v7 provider makes the list optional).
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-provider", url=GITHUB_OIDC_URL, client_id_lists=[AUDIENCE],
                tags=tags, opts=child_opts(self))
            depends.append(provider)
            provider_arn: pulumi.Output[str] = account.apply(
                lambda a: f"arn:aws:iam::{a}:oidc-provider/{GITHUB_OIDC_HOST}")
        else:
            provider_arn = pulumi.Output.from_input(args["provider_arn"])

        role_arns: dict[str, pulumi.Output[str]] = {}
        for key, target in sorted(args["environments"].items()):
            sub = subject(repository, target)
            access = target.get("access", "deploy")
            region: pulumi.Output[str] = (pulumi.Output.from_input(target["region"])
                                          if "region" in target else current_region)
            trust = provider_arn.apply(_trust_json(sub))
            role = aws.iam.Role(
                f"{name}-{key}", name=f"{name}-{key}",
                description=f"GitHub Actions {access} for {repository} ({sub})",
                assume_role_policy=trust,
                max_session_duration=MAX_SESSION_SECONDS, permissions_boundary=boundary,
                tags=tags, opts=child_opts(self, depends_on=depends))
            statements = deploy_statements if access == "deploy" else preview_statements
            document = pulumi.Output.all(account, region).apply(_policy_json(statements))
            aws.iam.RolePolicy(f"{name}-{key}-policy", role=role.name, policy=document,
                               opts=child_opts(self))
            role_arns[key] = role.arn

        self.provider_arn = provider_arn
        self.role_arns = pulumi.Output.from_input(role_arns)  # type: ignore[arg-type]
        self.register_outputs({"provider_arn": self.provider_arn,
                               "role_arns": self.role_arns})
