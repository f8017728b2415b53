"""ElastiCache (Redis/Valkey): encryption, failover, authentication and snapshots."""

from __future__ import annotations

from collections.abc import Iterator

from .core import (
    Param,
    Resource,
    Settings,
    Stack,
    as_list,
    is_unknown,
    num,
    resource_policy,
    stack_policy,
    unknown,
)

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
USER = "aws:elasticache/user:User"
USER_GROUP = "aws:elasticache/userGroup:UserGroup"
BUILT_IN_DEFAULT = "default"
"""The user id of ElastiCache's own default user: no password, every command, every key."""


def _flag(r: Resource, key: str, claim: str) -> Iterator[str]:
    value = r.get(key)
    if is_unknown(value):
        yield unknown(key, claim)
    elif value is not True:
        yield f"{key} is not true"


@resource_policy(
    "elasticache-at-rest-encryption",
    types=(REPLICATION_GROUP,),
    description="Caches encrypt data at rest with a customer-managed key.",
    severity="medium", fsbp=("ElastiCache.4",), refs=("cdk-nag AS-AEC3", "checkov CKV_AWS_29"),
    remediation="Set atRestEncryptionEnabled: true and kmsKeyId.",
)
def at_rest(r: Resource, s: Settings) -> Iterator[str]:
    yield from _flag(r, "atRestEncryptionEnabled", "data at rest is encrypted")
    if r.get("kmsKeyId") is None:
        yield "kmsKeyId is not set"


@resource_policy(
    "elasticache-in-transit-encryption",
    types=(REPLICATION_GROUP, CACHE_CLUSTER),
    description="Caches require TLS from clients.",
    severity="high", guardrail="tls", fsbp=("ElastiCache.5",), refs=("checkov CKV_AWS_30",),
    remediation="Set transitEncryptionEnabled: true (and transitEncryptionMode required, the "
                "default).",
)
def in_transit(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == CACHE_CLUSTER and r.get("replicationGroupId") is not None:
        return  # a member of a replication group inherits its settings
    yield from _flag(r, "transitEncryptionEnabled", "clients must use TLS")
    if r.get("transitEncryptionMode") == "preferred":
        yield "transitEncryptionMode is preferred; plaintext clients are still accepted"


@resource_policy(
    "elasticache-automatic-failover",
    types=(REPLICATION_GROUP,),
    description="Replication groups fail over automatically to a replica in another "
                "availability zone.",
    severity="high", guardrail="multi-az", fsbp=("ElastiCache.3",),
    refs=("cdk-nag AS-AEC4", "checkov CKV2_AWS_50"),
    remediation="Set automaticFailoverEnabled: true, multiAzEnabled: true and at least two "
                "cache clusters (numCacheClusters >= 2 or replicasPerNodeGroup >= 1).",
)
def failover(r: Resource, s: Settings) -> Iterator[str]:
    yield from _flag(r, "automaticFailoverEnabled", "the cache fails over")
    yield from _flag(r, "multiAzEnabled", "the cache spans availability zones")


@resource_policy(
    "elasticache-auth",
    types=(REPLICATION_GROUP,),
    description="Caches authenticate clients (RBAC user groups or an AUTH token).",
    severity="high", fsbp=("ElastiCache.6",), refs=("cdk-nag AS-AEC6", "checkov CKV_AWS_31"),
    remediation="Attach an RBAC user group (userGroupIds) with IAM-authenticated users.",
)
def auth(r: Resource, s: Settings) -> Iterator[str]:
    groups = r.get("userGroupIds")
    if is_unknown(groups) or groups:
        return
    if r.get("authToken") is None and r.get("authTokenWo") is None:
        yield "no userGroupIds and no authToken; any client in the network may connect"


@resource_policy(
    "elasticache-snapshot-retention",
    types=(REPLICATION_GROUP,),
    description="Caches keep automatic snapshots at least minSnapshotRetentionDays days.",
    severity="low", fsbp=("ElastiCache.1",), refs=("checkov CKV_AWS_134",),
    params={"minSnapshotRetentionDays": Param("integer", 1, "Fewest days of snapshots.",
                                              minimum=1)},
    remediation="Set snapshotRetentionLimit to at least minSnapshotRetentionDays.",
)
def snapshots(r: Resource, s: Settings) -> Iterator[str]:
    need = s["minSnapshotRetentionDays"]
    days = r.get("snapshotRetentionLimit")
    if is_unknown(days):
        yield unknown("snapshotRetentionLimit", f"snapshots are kept {need} days")
    elif days is None or days < need:
        shown = "not set" if days is None else f"{num(days)} day(s)"
        yield f"snapshotRetentionLimit is {shown}; at least {need} days required"


@resource_policy(
    "elasticache-user-authenticated",
    types=(USER,),
    description="Cache users authenticate (IAM or password); a user that needs no password is "
                "switched off.",
    severity="high", refs=("checkov CKV_AWS_31",),
    remediation="Use authenticationMode type iam (or password); keep the replaced default user "
                "with no-password-required only with an access string that starts with off.",
)
def user_authenticated(r: Resource, s: Settings) -> Iterator[str]:
    mode = r.get("authenticationMode")
    kind = mode.get("type") if isinstance(mode, dict) else None
    access = r.get("accessString")
    if is_unknown(mode) or is_unknown(kind) or is_unknown(access):
        yield unknown("authenticationMode/accessString", "the user authenticates")
    elif kind == "no-password-required" and str(access).split()[:1] != ["off"]:
        yield (f"the user needs no password and is enabled (accessString '{access}'); "
               "anyone who reaches the cache may use it")


@stack_policy(
    "elasticache-user-group-no-open-user",
    types=(USER_GROUP, USER),
    description="Cache user groups do not hold ElastiCache's built-in default user (no "
                "password, every command); each member is a user of this stack, so the pack "
                "judges how it authenticates (elasticache-user-authenticated).",
    severity="high", refs=("AWS ElastiCache RBAC: replace the default user",),
    remediation="Create a replacement default user (userName default, accessString 'off "
                "-@all', IAM or password authentication) and list it, with the service users, "
                "in userIds instead of 'default'.",
)
def user_group_no_open_user(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for group in stack.of_type(USER_GROUP):
        ids = group.get("userIds")
        if is_unknown(ids):
            yield group, unknown("userIds", "no member lets anyone in")
            continue
        members = group.deps("userIds", (USER,))
        member_ids = [m.get("userId") for m in members]
        for user_id in as_list(ids):
            if user_id == BUILT_IN_DEFAULT:
                yield group, ("userIds includes 'default', ElastiCache's built-in user that "
                              "needs no password and may run every command")
            elif is_unknown(user_id) and not members:
                yield group, unknown("userIds", "every member is a user of this stack")
            elif not is_unknown(user_id) and user_id not in member_ids:
                yield group, (f"userIds names user {user_id}, which is not a user of this "
                              "stack; cannot prove it authenticates")
