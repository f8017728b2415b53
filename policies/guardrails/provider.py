"""Pulumi-level rules: provider credentials and protection of stateful resources."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Resource, Settings, resource_policy

AWS_PROVIDER = "pulumi:providers:aws"
STATEFUL = (
    "aws:rds/cluster:Cluster", "aws:rds/instance:Instance", "aws:dynamodb/table:Table",
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
    "aws:elasticache/replicationGroup:ReplicationGroup", "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret", "aws:ecr/repository:Repository",
    "aws:efs/fileSystem:FileSystem",
)


@resource_policy(
    "provider-no-static-credentials",
    types=(AWS_PROVIDER,),
    description="AWS providers take credentials from the environment (OIDC role, SSO, "
                "instance role), never from accessKey/secretKey/token configuration.",
    severity="critical", guardrail="no-static-credentials",
    remediation="Remove aws:accessKey/aws:secretKey/aws:token from stack config and provider "
                "arguments; let CI assume a role through GitHub OIDC.",
)
def provider_credentials(r: Resource, s: Settings) -> Iterator[str]:
    for key in ("accessKey", "secretKey", "token"):
        if r.get(key) not in (None, ""):
            yield f"provider sets {key}; static credentials would be stored in configuration"


@resource_policy(
    "stateful-resources-protected",
    types=STATEFUL,
    description="Stateful resources (databases, tables, buckets, caches, keys, secrets, "
                "repositories) carry Pulumi's protect option, so no update or destroy can "
                "delete them without an explicit change.",
    severity="high",
    remediation="Create the resource with child_opts(self, protect=tier.protect) (protect and "
                "retain_on_delete).",
)
def protected(r: Resource, s: Settings) -> Iterator[str]:
    if not r.protect:
        yield "resource is not protected (protect option)"
