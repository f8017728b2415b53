"""Pulumi-level rules: provider credentials and protection of stateful resources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from .core import Resource, Settings, is_unknown, resource_policy, unknown

AWS_PROVIDER = "pulumi:providers:aws"
K8S_PROVIDER = "pulumi:providers:kubernetes"
KUBECONFIG_SECRETS = ("token", "client-key-data", "password")
"""kubeconfig user fields that hold a credential itself (not a file path or a command)."""
AUTH_PROVIDER_SECRETS = ("id-token", "refresh-token", "access-token", "client-secret")
STATEFUL = (
    "aws:rds/cluster:Cluster", "aws:rds/instance:Instance", "aws:dynamodb/table:Table",
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
    "aws:elasticache/replicationGroup:ReplicationGroup", "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret", "aws:ecr/repository:Repository",
    "aws:efs/fileSystem:FileSystem",
)


def _kubeconfig(text: Any) -> Any:
    """A kubeconfig given inline, parsed; None when the value is a file path (its
    credentials stay on the machine running the deployment)."""
    if isinstance(text, dict):
        return text
    if not isinstance(text, str) or ("\n" not in text and not text.lstrip().startswith("{")):
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _kubeconfig_credentials(config: Any) -> Iterator[str]:
    users = config.get("users") if isinstance(config, dict) else None
    for entry in users if isinstance(users, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("user"), dict):
            continue
        user, name = entry["user"], entry.get("name") or "?"
        for key in KUBECONFIG_SECRETS:
            if user.get(key) not in (None, ""):
                yield (f"kubeconfig user {name} carries {key}: a static credential stored in "
                       "the provider's configuration and state; authenticate with exec (aws "
                       "eks get-token)")
        auth = user.get("auth-provider")
        settings = auth.get("config") if isinstance(auth, dict) else None
        if isinstance(settings, dict) and any(settings.get(k) for k in AUTH_PROVIDER_SECRETS):
            yield (f"kubeconfig user {name} carries auth-provider tokens: static credentials "
                   "stored in the provider's configuration and state")


@resource_policy(
    "provider-no-static-credentials",
    types=(AWS_PROVIDER, K8S_PROVIDER),
    description="Providers take credentials from the environment, never from their "
                "configuration: AWS from an OIDC role, SSO or an instance role (no "
                "accessKey/secretKey/token); Kubernetes from an exec plugin such as aws eks "
                "get-token (no token, client key or password in the kubeconfig).",
    severity="critical", guardrail="no-static-credentials",
    remediation="Remove aws:accessKey/aws:secretKey/aws:token from stack config and provider "
                "arguments and let CI assume a role through GitHub OIDC; give the Kubernetes "
                "provider a kubeconfig whose user runs aws eks get-token (the EksCluster "
                "component's).",
)
def provider_credentials(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == K8S_PROVIDER:
        text = r.get("kubeconfig")
        if is_unknown(text):
            yield unknown("kubeconfig", "it holds no static credential")
        else:
            yield from _kubeconfig_credentials(_kubeconfig(text))
        return
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
