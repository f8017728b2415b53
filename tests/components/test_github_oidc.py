"""GitHubOidc component: provider, exact trust per target, scoped permissions, validation."""

import json
from collections import Counter
from typing import Any

import pytest

from components.github_oidc import (
    CONNECTION_ACTIONS,
    IAM_DEPLOY_ACTIONS,
    MANAGED_SERVICES,
    GitHubOidc,
    GitHubOidcArgs,
    subject,
)
from components.validation import ArgsError
from preflight.capture import Capture, capture

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/platform-boundary"
DENY = {"Sid": "DenyLongLivedCredentialsAndOrganizations", "Effect": "Deny",
        "Action": ["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateUser",
                   "organizations:*"], "Resource": "*"}
READ_ACCOUNT = {"Sid": "ReadAccount", "Effect": "Allow",
                "Action": ["ec2:DescribeAvailabilityZones", "ec2:DescribeRegions",
                           "iam:ListAccountAliases", "sts:GetCallerIdentity"],
                "Resource": ["*"]}


def args(**overrides: Any) -> GitHubOidcArgs:
    base: dict[str, Any] = {
        "repository": "acme/platform",
        "environments": {
            "dev": {"environment": "dev"},
            "prod": {"environment": "prod", "region": "us-east-2"},
            "main": {"branch": "main"},
            "preview-prod": {"environment": "preview-prod", "access": "preview"},
        },
        "tags": {"team": "platform"},
    }
    base.update(overrides)
    return base  # type: ignore[return-value]


def run(oidc_args: GitHubOidcArgs) -> Capture:
    return capture(lambda: GitHubOidc("github", oidc_args), config={"aws:region": REGION})


def doc(cap: Capture, name: str, key: str = "policy") -> Any:
    value = cap.named(name).inputs[key]
    assert isinstance(value, str), f"{name}.{key} is not known at preview"
    return json.loads(value)


@pytest.fixture(scope="module")
def cap() -> Capture:
    return run(args())


def test_exact_children(cap: Capture) -> None:
    assert Counter(r.type for r in cap.registrations) == Counter({
        "microservices:index:GitHubOidc": 1,
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 1,
        "aws:iam/role:Role": 4,
        "aws:iam/rolePolicy:RolePolicy": 4,
    })
    assert sorted(r.name for r in cap.of_type("aws:iam/role:Role")) == [
        "github-dev", "github-main", "github-preview-prod", "github-prod"]


def test_provider_without_thumbprints(cap: Capture) -> None:
    assert cap.named("github-provider").inputs == {
        "url": "https://token.actions.githubusercontent.com",
        "clientIdLists": ["sts.amazonaws.com"], "tags": {"team": "platform"}}


@pytest.mark.parametrize(("role", "sub"), [
    ("github-dev", "repo:acme/platform:environment:dev"),
    ("github-prod", "repo:acme/platform:environment:prod"),
    ("github-main", "repo:acme/platform:ref:refs/heads/main"),
    ("github-preview-prod", "repo:acme/platform:environment:preview-prod"),
])
def test_trust_is_exact_audience_and_subject(cap: Capture, role: str, sub: str) -> None:
    assert doc(cap, role, "assumeRolePolicy") == {"Version": "2012-10-17", "Statement": [{
        "Sid": "GitHubActions", "Effect": "Allow", "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": sub}}}]}
    inputs = cap.named(role).inputs
    assert inputs["maxSessionDuration"] == 3600
    assert inputs["name"] == role
    assert "permissionsBoundary" not in inputs
    assert cap.named("github-provider").urn in cap.named(role).dependencies


def test_pull_request_subject() -> None:
    assert subject("acme/platform", {"pull_request": True, "access": "preview"}) == (
        "repo:acme/platform:pull_request")


def test_deploy_policy_exact(cap: Capture) -> None:
    statements = doc(cap, "github-prod-policy")["Statement"]
    assert statements == [
        {"Sid": "ManagePlatformServices", "Effect": "Allow",
         "Action": sorted(f"{svc}:*" for svc in MANAGED_SERVICES), "Resource": ["*"],
         "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-2"}}},
        {"Sid": "PassGitHubConnection", "Effect": "Allow", "Action": list(CONNECTION_ACTIONS),
         "Resource": [f"arn:aws:codestar-connections:us-east-2:{ACCOUNT}:connection/*",
                      f"arn:aws:codeconnections:us-east-2:{ACCOUNT}:connection/*"]},
        {"Sid": "ManageWorkloadRoles", "Effect": "Allow", "Action": list(IAM_DEPLOY_ACTIONS),
         "Resource": [f"arn:aws:iam::{ACCOUNT}:role/*", f"arn:aws:iam::{ACCOUNT}:policy/*",
                      f"arn:aws:iam::{ACCOUNT}:instance-profile/*"]},
        READ_ACCOUNT,
        DENY,
    ]
    # No IAM wildcard, nothing about users, and IAM is never region-conditioned (it is global).
    assert not any(a.startswith("iam:") and "*" in a for a in IAM_DEPLOY_ACTIONS)
    assert not any("User" in a or "AccessKey" in a for a in IAM_DEPLOY_ACTIONS)
    assert "iam" not in MANAGED_SERVICES and "organizations" not in MANAGED_SERVICES


def test_default_region_is_the_providers(cap: Capture) -> None:
    first = doc(cap, "github-dev-policy")["Statement"][0]
    assert first["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}


def test_preview_policy_is_read_only(cap: Capture) -> None:
    statements = doc(cap, "github-preview-prod-policy")["Statement"]
    assert [s["Sid"] for s in statements] == [
        "DescribePlatformServices", "ReadWorkloadRoles", "ReadAccount",
        "DenyLongLivedCredentialsAndOrganizations"]
    actions = statements[0]["Action"]
    assert len(actions) == 2 * len(MANAGED_SERVICES)
    assert all(a.split(":")[1] in ("Describe*", "List*") for a in actions)
    assert statements[0]["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}
    assert statements[1]["Action"] == ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole",
                                       "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                                       "iam:ListRolePolicies"]
    assert statements[2:] == [READ_ACCOUNT, DENY]


def test_bring_your_own_provider_and_boundary() -> None:
    cap = run(args(create_provider=False, provider_arn=PROVIDER,
                   environments={"prod": {"environment": "prod"}},
                   permissions_boundary_arn=BOUNDARY))
    assert Counter(r.type for r in cap.registrations) == Counter({
        "microservices:index:GitHubOidc": 1, "aws:iam/role:Role": 1,
        "aws:iam/rolePolicy:RolePolicy": 1})
    assert doc(cap, "github-prod", "assumeRolePolicy")["Statement"][0]["Principal"] == {
        "Federated": PROVIDER}
    assert cap.named("github-prod").inputs["permissionsBoundary"] == BOUNDARY


def test_outputs() -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        oidc = GitHubOidc("github", args(environments={"dev": {"environment": "dev"}}))
        oidc.provider_arn.apply(lambda v: seen.__setitem__("provider_arn", v))
        oidc.role_arns.apply(lambda v: seen.__setitem__("role_arns", v))

    capture(program, config={"aws:region": REGION}, preview=False)
    assert seen == {"provider_arn": PROVIDER,
                    "role_arns": {"dev": f"arn:aws:iam:{REGION}:{ACCOUNT}:github-dev"}}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"repository": "acme"},
     "GitHubOidc 'github': repository: 'acme' is not a GitHub repository: use owner/name"),
    ({"environments": {}}, "GitHubOidc 'github': environments: must name at least one target"),
    ({"environments": {"prod": {}}},
     "GitHubOidc 'github': environments.prod: set exactly one of environment, branch or "
     "pull_request (got none)"),
    ({"environments": {"prod": {"environment": "prod", "branch": "main"}}},
     "GitHubOidc 'github': environments.prod: set exactly one of environment, branch or "
     "pull_request (got environment, branch)"),
    ({"environments": {"prod": {"branch": "release/*"}}},
     "GitHubOidc 'github': environments.prod.branch: 'release/*' is not a valid branch name "
     "(letters, digits, . _ / -; no wildcards)"),
    ({"environments": {"pr": {"pull_request": True}}},
     "GitHubOidc 'github': environments.pr.access: pull request runs may only preview: set "
     "access: preview"),
    ({"environments": {"prod": {"environment": "prod", "access": "admin"}}},
     "GitHubOidc 'github': environments.prod.access: 'admin' is not allowed: use one of "
     "deploy, preview"),
    ({"environments": {"prod": {"environment": "prod", "region": "Europe"}}},
     "GitHubOidc 'github': environments.prod.region: 'Europe' is not an AWS region name "
     "(e.g. eu-west-1)"),
    ({"environments": {"Prod": {"environment": "prod"}}},
     "GitHubOidc 'github': environments.Prod: 'Prod' is not a valid name: use 2-32 "
     "lowercase letters, digits and single hyphens, starting with a letter"),
    ({"create_provider": False},
     "GitHubOidc 'github': providerArn: required when createProvider is false"),
    ({"provider_arn": PROVIDER},
     "GitHubOidc 'github': providerArn: give providerArn only with createProvider: false"),
    ({"create_provider": False,
      "provider_arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"},
     "GitHubOidc 'github': providerArn: 'arn:aws:iam::123456789012:oidc-provider/gitlab.com' "
     "is not the GitHub OIDC provider's ARN "
     "(arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)"),
])
def test_rejected_before_any_child(overrides: dict[str, Any], message: str) -> None:
    registered: list[str] = []
    with pytest.raises(ArgsError) as err:
        capture(lambda: GitHubOidc("github", args(**overrides)), config={"aws:region": REGION},
                on_register=lambda r: registered.append(r.type))
    assert str(err.value) == message
    assert registered == ["microservices:index:GitHubOidc"]
