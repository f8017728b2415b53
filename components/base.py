"""What every component shares: the type-token prefix, child options, tag layering and
IAM policy documents."""


from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

PACKAGE = "microservices"
"""Pulumi package name; component type tokens are ``microservices:index:<Class>``."""


def type_token(cls_name: str) -> str:
    return f"{PACKAGE}:index:{cls_name}"


def child_opts(parent: pulumi.Resource, *, protect: bool = False,
               **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child. ``protect`` also retains the resource on delete, so
    neither ``pulumi destroy`` nor a replacement can remove data without an explicit change."""
    if protect:
        kwargs.setdefault("protect", True)
        kwargs.setdefault("retain_on_delete", True)
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def merge_tags(*layers: Mapping[str, str] | None) -> dict[str, str]:
    """Tags layered left to right: global (provider default tags) -> component -> child."""
    out: dict[str, str] = {}
    for layer in layers:
        out.update(layer or {})
    return out


Statement = dict[str, Any]
"""One IAM statement: ``Sid``, ``Effect``, ``Action``, ``Resource`` and optional
``Condition``/``Principal``; values may be Pulumi inputs."""


def allow(sid: str, actions: Sequence[str], resources: Sequence[pulumi.Input[str]],
          condition: Mapping[str, Any] | None = None) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions),
                            "Resource": list(resources)}
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """A JSON IAM policy; known at preview whenever every ARN in it is."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust(service: str, account_id: pulumi.Input[str],
                  source_arn: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
    """Trust policy for an AWS service principal, scoped to this account (confused deputy)."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return policy_document([{"Sid": "AssumeRole", "Effect": "Allow",
                             "Principal": {"Service": service}, "Action": "sts:AssumeRole",
                             "Condition": condition}])


def invoke_opts(parent: pulumi.Resource) -> pulumi.InvokeOutputOptions:
    """Data-source lookups go through the parent's provider (the Platform's explicit one),
    never the ambient default provider."""
    return pulumi.InvokeOutputOptions(parent=parent)


def allow_client(parent: pulumi.Resource, name: str, security_group_id: pulumi.Input[str],
                 port: int, what: str, client: str,
                 client_security_group_id: pulumi.Input[str]) -> pulumi.Resource:
    """One ingress rule on a data store's security group: ``port`` from exactly one client
    service's security group. Named by the client's key, so the rule's URN is the same
    whether it is created with the store or granted later."""
    import pulumi_aws as aws

    return aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-{client}",
        aws.vpc.SecurityGroupIngressRuleArgs(
            security_group_id=security_group_id,
            referenced_security_group_id=client_security_group_id,
            ip_protocol="tcp", from_port=port, to_port=port,
            description=f"{what} from service {client}"),
        opts=child_opts(parent))


def key_statement(sid: str, actions: Sequence[str], key_arn: pulumi.Input[str], *,
                  alias: str | None = None, region: pulumi.Input[str] = "",
                  account: pulumi.Input[str] = "",
                  condition: Mapping[str, Any] | None = None) -> Statement:
    """Use of a KMS key. A key's ARN holds an id AWS picks at creation, so a document that
    names it is unknown until then; given the key's ``alias``, the statement instead names
    this account's keys in this region that carry that alias (``kms:ResourceAliases``),
    which is the one key, and is known at preview."""
    if alias is None:
        return allow(sid, actions, [key_arn], condition)
    keys: pulumi.Input[str]
    if isinstance(region, str) and isinstance(account, str):
        keys = f"arn:aws:kms:{region}:{account}:key/*"
    else:
        keys = pulumi.Output.concat("arn:aws:kms:", region, ":", account, ":key/*")
    return allow(sid, actions, [keys], {
        **(condition or {}), "ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}})


def publish_parameter(parent: pulumi.Resource, name: str, path: str,
                      value: pulumi.Input[str], region: pulumi.Input[str],
                      account: pulumi.Input[str]) -> pulumi.Output[str]:
    """Publish a non-secret value a store learns only at creation (an endpoint) as an SSM
    String parameter at ``/<path>``; return the parameter's ARN, which is known at preview.
    Services receive the ARN (ECS injects the value at start), so their task definitions
    and roles are known before the store exists."""
    import pulumi_aws as aws

    aws.ssm.Parameter(name, aws.ssm.ParameterArgs(
        name=f"/{path}", type="String", value=value,
        description=f"Published for the clients of {path.split('/')[0]}"),
        opts=child_opts(parent))
    return pulumi.Output.concat("arn:aws:ssm:", region, ":", account, ":parameter/", path)
