"""EC2 instances, launch templates and EBS volumes: instance metadata, public addresses,
volume encryption, instance roles and what user data carries."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from .core import (
    Resource,
    Settings,
    Stack,
    as_list,
    credential_in,
    is_unknown,
    must_be_true,
    resource_policy,
    stack_policy,
    unknown,
)
from .credentials import credential_in_argument

INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
VOLUME = "aws:ebs/volume:Volume"
SUBNET = "aws:ec2/subnet:Subnet"
MACHINES = (INSTANCE, LAUNCH_TEMPLATE)


@resource_policy(
    "ec2-imdsv2-required",
    types=MACHINES,
    description="Instances and launch templates require IMDSv2 (session tokens) for the "
                "instance metadata service.",
    severity="high", fsbp=("EC2.8", "EC2.170"),
    refs=("cdk-nag EC29", "checkov CKV_AWS_79", "checkov CKV_AWS_341"),
    remediation="Set metadataOptions {httpTokens: required, httpPutResponseHopLimit: 1} (or "
                "httpEndpoint: disabled).",
)
def imdsv2(r: Resource, s: Settings) -> Iterator[str]:
    endpoint = r.get("metadataOptions.httpEndpoint")
    tokens = r.get("metadataOptions.httpTokens")
    if endpoint == "disabled":
        return
    if is_unknown(tokens) or is_unknown(endpoint):
        yield unknown("metadataOptions.httpTokens", "IMDSv2 is required")
    elif tokens != "required":
        yield (f"metadataOptions.httpTokens is {tokens or 'not set'}; IMDSv1 lets any SSRF "
               "read the instance role's credentials")


def _boolean(value: Any) -> Any:
    """Launch templates take "true"/"false" strings where instances take booleans."""
    if isinstance(value, str) and not is_unknown(value):
        return {"true": True, "false": False}.get(value.lower(), value)
    return value


def _public_ip_setting(r: Resource) -> Any:
    if r.type == INSTANCE:
        return _boolean(r.get("associatePublicIpAddress"))
    settings = [_boolean(ni.get("associatePublicIpAddress"))
                for ni in as_list(r.get("networkInterfaces")) if isinstance(ni, dict)]
    if any(is_unknown(v) for v in settings):
        return next(v for v in settings if is_unknown(v))
    return True if True in settings else (False if settings else None)


@stack_policy(
    "ec2-no-public-ip",
    types=(*MACHINES, SUBNET),
    description="Instances and launch templates do not get public IPv4 addresses, neither "
                "asked for nor assigned by their subnet (a default VPC's subnets assign them).",
    severity="high", fsbp=("EC2.9", "EC2.25"),
    refs=("checkov CKV_AWS_88", "cdk-nag EC26"),
    remediation="Launch into private subnets (subnetId of a subnet with mapPublicIpOnLaunch "
                "false), set associatePublicIpAddress false, and reach instances through a "
                "load balancer or SSM Session Manager.",
)
def no_public_ip(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for machine in stack.of_type(*MACHINES):
        asked = _public_ip_setting(machine)
        if is_unknown(asked):
            yield machine, unknown("associatePublicIpAddress", "the instance has no public IP")
            continue
        if asked is True:
            yield machine, "associatePublicIpAddress is true"
            continue
        if asked is False or machine.type == LAUNCH_TEMPLATE:
            continue  # a launch template's subnet comes from whoever launches it
        if machine.get("subnetId") is None and machine.get("networkInterfaces") is None:
            yield machine, ("no subnetId: the instance launches in the default VPC, whose "
                            "subnets assign public IPs")
            continue
        for subnet in machine.deps("subnetId", (SUBNET,)):
            mapped = subnet.get("mapPublicIpOnLaunch")
            if is_unknown(mapped):
                yield machine, unknown(f"mapPublicIpOnLaunch of subnet {subnet.name}",
                                       "the instance has no public IP")
            elif mapped is True:
                yield machine, (f"subnet {subnet.name} assigns public IPs on launch and "
                                "associatePublicIpAddress is not false")


def _ebs_encrypted(path: str, ebs: Any) -> Iterator[str]:
    value = _boolean(ebs.get("encrypted")) if isinstance(ebs, dict) else None
    yield from must_be_true(value, f"{path}.encrypted", "the volume is encrypted")


@resource_policy(
    "ec2-ebs-encrypted",
    types=(*MACHINES, VOLUME),
    description="EBS volumes (instance root and data volumes, launch template mappings, "
                "standalone volumes) are encrypted.",
    severity="high", fsbp=("EC2.3", "EC2.7"),
    refs=("cdk-nag EC23", "checkov CKV_AWS_8", "checkov CKV_AWS_3"),
    remediation="Set encrypted: true (with kmsKeyId) on rootBlockDevice, every "
                "ebsBlockDevices entry, launch template blockDeviceMappings[].ebs and "
                "aws.ebs.Volume.",
)
def ebs_encrypted(r: Resource, s: Settings) -> Iterator[str]:
    if r.type == VOLUME:
        yield from _ebs_encrypted("volume", {"encrypted": r.get("encrypted")})
    elif r.type == INSTANCE:
        yield from _ebs_encrypted("rootBlockDevice", r.get("rootBlockDevice") or {})
        for i, device in enumerate(as_list(r.get("ebsBlockDevices"))):
            yield from _ebs_encrypted(f"ebsBlockDevices[{i}]", device)
    else:
        mappings = r.get("blockDeviceMappings")
        if is_unknown(mappings):
            yield unknown("blockDeviceMappings", "volumes are encrypted")
        elif not mappings:
            yield ("blockDeviceMappings is not set; the image's volumes launch unencrypted "
                   "unless the account encrypts by default")
        for i, mapping in enumerate(as_list(mappings)):
            if isinstance(mapping, dict) and mapping.get("ebs") is not None:
                yield from _ebs_encrypted(f"blockDeviceMappings[{i}].ebs", mapping["ebs"])


@resource_policy(
    "ec2-instance-profile",
    types=MACHINES,
    description="Instances run with an instance profile (an IAM role), so software on them "
                "uses short-lived credentials and SSM can manage them.",
    severity="low", fsbp=("SSM.1",), refs=("checkov CKV2_AWS_41",),
    remediation="Set iamInstanceProfile to a profile whose role has "
                "AmazonSSMManagedInstanceCore and only what the workload needs.",
)
def instance_profile(r: Resource, s: Settings) -> Iterator[str]:
    profile = r.get("iamInstanceProfile")
    if isinstance(profile, dict):
        profile = profile.get("arn") or profile.get("name")
    if profile is None or profile == "":
        yield "iamInstanceProfile is not set; the instance has no role"


def _user_data(r: Resource) -> Any:
    if r.type == INSTANCE:
        value = r.get("userData")
        if value is None:
            encoded = r.get("userDataBase64")
            return encoded if encoded is None or is_unknown(encoded) else _decode(encoded)
        return value
    encoded = r.get("userData")
    return encoded if encoded is None or is_unknown(encoded) else _decode(encoded)


def _decode(text: str) -> str:
    try:
        return base64.b64decode(str(text), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return str(text)


@resource_policy(
    "ec2-user-data-no-secrets",
    types=MACHINES,
    description="User data holds no credentials (anyone who can describe the instance, and "
                "anything that reads instance metadata, reads it).",
    severity="critical", guardrail="no-static-credentials", fsbp=("EC2.172",),
    refs=("checkov CKV_AWS_46",),
    remediation="Fetch secrets at boot from Secrets Manager or SSM Parameter Store with the "
                "instance role; pass only their names in user data.",
)
def user_data_secrets(r: Resource, s: Settings) -> Iterator[str]:
    text = _user_data(r)
    if is_unknown(text):
        yield unknown("userData", "it holds no credential")
        return
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        for word in line.replace("export ", " ").split():
            word = word.strip("'\"")
            name, sep, value = word.partition("=")
            reason = credential_in(name, value) if sep else credential_in_argument(word)
            if reason:
                yield f"userData line {number}: {reason}"
                break
