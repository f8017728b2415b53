"""The stand-in AWS account that answers a program's data sources (invokes) offline.

A real preview runs data sources against AWS. Offline, preflight answers the common ones
from a stand-in account ``123456789012`` in the stack's region:

- *exact*: values AWS itself would return for any account in that region: the partition,
  the region, the Availability Zones (names and AZ IDs from ``data/regions.json``, a table
  kept with its sources), the regional Elastic Load Balancing log account, and
  ``iam.get_policy_document``, which is a pure function (:mod:`.iam_document`);
- *stand-in*: well-formed, deterministic values of the right shape for look-ups of things
  that exist only in a real account (VPC, subnets, security group, AMI, hosted zone, SSM
  parameter, secret, ECR repository, KMS alias, certificate, IAM role): the same arguments
  always give the same ids, and ids round-trip (``get_subnet(id=...)`` of an id that
  ``get_subnets`` returned gives its own AZ).

Anything else, and any region missing from the table, gets no answer: the invoke is
reported as unanswered (the user can answer it in the invokes file, :mod:`.invokes`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .iam_document import PolicyDocumentError, render

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DNS_SUFFIX = "amazonaws.com"
EXACT = "exact"
STAND_IN = "stand-in"


@functools.lru_cache(maxsize=1)
def regions() -> dict[str, dict[str, Any]]:
    """``{region: {"zones": {name: az_id}, "elbAccount": id?}}`` from ``data/regions.json``."""
    text = resources.files("preflight").joinpath("data/regions.json").read_text("utf-8")
    loaded: dict[str, dict[str, Any]] = json.loads(text)["regions"]
    return loaded


def digest(*parts: Any, length: int = 17) -> str:
    """Deterministic lowercase hex derived from ``parts``."""
    text = "\0".join(json.dumps(p, sort_keys=True, default=str) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Answer:
    """What a data source returned, and how preflight knew it."""

    value: dict[str, Any]
    source: str
    """``exact`` (what AWS returns for any account) or ``stand-in`` (made-up ids)."""


class NoAnswer(Exception):
    """The stand-in account cannot answer this call (reported as unanswered)."""


class StandInAccount:
    """Answers data sources for account :data:`ACCOUNT_ID` in ``region``."""

    def __init__(self, region: str):
        self.region = region
        self._subnets: dict[str, tuple[str, str]] = {}  # id -> (zone, vpc) handed out

    # --- the region -------------------------------------------------------------------

    def zones(self, region: str | None = None) -> dict[str, str]:
        """Availability Zone name -> AZ ID for ``region`` (raises NoAnswer if unknown)."""
        entry = regions().get(region or self.region)
        if entry is None:
            raise NoAnswer(f"region {region or self.region!r} is not in preflight's table")
        return dict(entry["zones"])

    def zone_id(self, name: str) -> str | None:
        region = name[:-1] if name[-1:].isalpha() else name
        entry = regions().get(region)
        return entry["zones"].get(name) if entry else None

    def arn(self, service: str, resource: str, region: str | None = None,
            account: str | None = ACCOUNT_ID) -> str:
        return (f"arn:{PARTITION}:{service}:{self.region if region is None else region}:"
                f"{account or ''}:{resource}")

    # --- answering ---------------------------------------------------------------------

    def answer(self, token: str, args: Mapping[str, Any]) -> Answer | None:
        """The stand-in's answer to invoke ``token``, or None when it has none."""
        handler = _HANDLERS.get(token)
        if handler is None:
            return None
        source, fn = handler
        try:
            value = fn(self, dict(args), str(args.get("region") or self.region))
        except NoAnswer:
            return None
        return Answer(value, source)


# --- the handlers, one per data source token --------------------------------------------

Handler = Callable[[StandInAccount, dict[str, Any], str], dict[str, Any]]
_HANDLERS: dict[str, tuple[str, Handler]] = {}


def _handles(token: str, source: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        _HANDLERS[token] = (source, fn)
        return fn
    return deco


def _filters(args: Mapping[str, Any]) -> dict[str, list[str]]:
    return {str(f.get("name")): [str(v) for v in f.get("values") or []]
            for f in args.get("filters") or [] if isinstance(f, Mapping)}


@_handles("aws:index/getAvailabilityZones:getAvailabilityZones", EXACT)
def _availability_zones(acct: StandInAccount, args: dict[str, Any],
                        region: str) -> dict[str, Any]:
    zones = acct.zones(region)
    if args.get("state") not in (None, "available"):
        zones = {}
    excluded_names = set(args.get("excludeNames") or [])
    excluded_ids = set(args.get("excludeZoneIds") or [])
    filters = _filters(args)
    kept = {n: z for n, z in zones.items()
            if n not in excluded_names and z not in excluded_ids
            and all(n in vals for key, vals in filters.items() if key == "zone-name")
            and all(z in vals for key, vals in filters.items() if key == "zone-id")}
    return {**args, "id": region, "region": region, "names": list(kept),
            "zoneIds": list(kept.values()), "groupNames": [region]}


@_handles("aws:index/getAvailabilityZone:getAvailabilityZone", EXACT)
def _availability_zone(acct: StandInAccount, args: dict[str, Any],
                       region: str) -> dict[str, Any]:
    zones = acct.zones(region)
    name, zone_id = args.get("name"), args.get("zoneId")
    if name is None and zone_id is not None:
        name = next((n for n, z in zones.items() if z == zone_id), None)
    if name not in zones:
        raise NoAnswer(f"no zone {name or zone_id!r} in {region}")
    return {**args, "id": name, "name": name, "zoneId": zones[name], "region": region,
            "nameSuffix": name[len(region):], "groupName": f"{region}-zg-1",
            "groupLongName": region, "networkBorderGroup": region,
            "optInStatus": "opt-in-not-required", "state": "available",
            "zoneType": "availability-zone"}


@_handles("aws:index/getCallerIdentity:getCallerIdentity", STAND_IN)
def _caller_identity(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    return {"id": ACCOUNT_ID, "accountId": ACCOUNT_ID,
            "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/preflight",
            "userId": "AIDAPREFLIGHTSTANDIN"}


@_handles("aws:index/getRegion:getRegion", EXACT)
def _region(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    if region not in regions():
        raise NoAnswer(region)
    return {"id": region, "name": region, "region": region,
            "endpoint": f"ec2.{region}.{DNS_SUFFIX}", "description": region}


@_handles("aws:index/getPartition:getPartition", EXACT)
def _partition(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    return {"id": PARTITION, "partition": PARTITION, "dnsSuffix": DNS_SUFFIX,
            "reverseDnsPrefix": "com.amazonaws"}


@_handles("aws:elb/getServiceAccount:getServiceAccount", EXACT)
def _elb_account(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    account = regions().get(region, {}).get("elbAccount")
    if account is None:
        raise NoAnswer(f"no Elastic Load Balancing account in {region}")
    return {"id": account, "arn": f"arn:{PARTITION}:iam::{account}:root", "region": region}


@_handles("aws:iam/getPolicyDocument:getPolicyDocument", EXACT)
def _policy_document(acct: StandInAccount, args: dict[str, Any],
                     region: str) -> dict[str, Any]:
    try:
        return render(args)
    except PolicyDocumentError:
        raise NoAnswer("the provider would reject these arguments") from None


def _vpc_id(args: Mapping[str, Any], region: str) -> str:
    if args.get("id"):
        return str(args["id"])
    ids = _filters(args).get("vpc-id")
    if ids:
        return ids[0]
    key = "default" if args.get("default") else {k: args.get(k) for k in
                                                  ("cidrBlock", "filters", "tags", "state")}
    return f"vpc-{digest('vpc', region, key)}"


def _vpc_cidr(vpc_id: str, args: Mapping[str, Any]) -> str:
    if args.get("cidrBlock"):
        return str(args["cidrBlock"])
    if args.get("default"):
        return "172.31.0.0/16"
    return f"10.{int(digest(vpc_id, length=2), 16) % 200 + 20}.0.0/16"


@_handles("aws:ec2/getVpc:getVpc", STAND_IN)
def _vpc(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    vpc_id = _vpc_id(args, region)
    cidr = _vpc_cidr(vpc_id, args)
    return {**args, "id": vpc_id, "arn": acct.arn("ec2", f"vpc/{vpc_id}", region),
            "cidrBlock": cidr, "default": bool(args.get("default")),
            "cidrBlockAssociations": [{"associationId": f"vpc-cidr-assoc-{digest(vpc_id)}",
                                       "cidrBlock": cidr, "state": "associated"}],
            "dhcpOptionsId": f"dopt-{digest('dopt', vpc_id)}", "enableDnsHostnames": True,
            "enableDnsSupport": True, "enableNetworkAddressUsageMetrics": False,
            "instanceTenancy": "default", "ipv6CidrBlockAssociations": [],
            "mainRouteTableId": f"rtb-{digest('rtb', vpc_id)}", "ownerId": ACCOUNT_ID,
            "region": region, "state": "available", "tags": args.get("tags") or {}}


def _subnet_id(acct: StandInAccount, vpc_id: str, zone: str) -> str:
    subnet_id = f"subnet-{digest('subnet', vpc_id, zone)}"
    acct._subnets[subnet_id] = (zone, vpc_id)
    return subnet_id


@_handles("aws:ec2/getSubnets:getSubnets", STAND_IN)
def _subnets(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    filters = _filters(args)
    zones = acct.zones(region)
    wanted = filters.get("availability-zone") or filters.get("availabilityZone")
    wanted_ids = filters.get("availability-zone-id")
    vpc_id = (filters.get("vpc-id") or [f"vpc-{digest('vpc', region, 'default')}"])[0]
    ids = [_subnet_id(acct, vpc_id, name) for name, zone_id in zones.items()
           if (not wanted or name in wanted) and (not wanted_ids or zone_id in wanted_ids)]
    return {**args, "id": region, "ids": ids, "region": region}


@_handles("aws:ec2/getSubnet:getSubnet", STAND_IN)
def _subnet(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    filters = _filters(args)
    zones = acct.zones(region)
    subnet_id = args.get("id") or next(iter(filters.get("subnet-id") or []), None)
    zone = args.get("availabilityZone") or next(iter(filters.get("availability-zone") or []),
                                                 None)
    known_zone, known_vpc = acct._subnets.get(str(subnet_id), ("", ""))
    vpc_id = args.get("vpcId") or known_vpc or (
        filters.get("vpc-id") or [f"vpc-{digest('vpc', region, 'default')}"])[0]
    if subnet_id is None:
        zone = zone or next(iter(zones))
        subnet_id = _subnet_id(acct, vpc_id, zone)
    zone = zone or known_zone or list(zones)[int(digest(subnet_id, length=4), 16) % len(zones)]
    index = list(zones).index(zone) if zone in zones else 0
    return {**args, "id": subnet_id, "arn": acct.arn("ec2", f"subnet/{subnet_id}", region),
            "availabilityZone": zone, "availabilityZoneId": zones.get(zone, ""),
            "availableIpAddressCount": 4091, "cidrBlock": f"172.31.{index * 16}.0/20",
            "defaultForAz": False, "mapPublicIpOnLaunch": False, "ownerId": ACCOUNT_ID,
            "state": "available", "vpcId": vpc_id, "tags": args.get("tags") or {},
            "assignIpv6AddressOnCreation": False, "ipv6Native": False, "region": region}


@_handles("aws:ec2/getSecurityGroup:getSecurityGroup", STAND_IN)
def _security_group(acct: StandInAccount, args: dict[str, Any],
                    region: str) -> dict[str, Any]:
    filters = _filters(args)
    group_id = args.get("id") or f"sg-{digest('sg', region, args)}"
    name = args.get("name") or (filters.get("group-name") or ["default"])[0]
    vpc_id = args.get("vpcId") or (filters.get("vpc-id") or
                                   [f"vpc-{digest('vpc', region, 'default')}"])[0]
    return {**args, "id": group_id, "arn": acct.arn("ec2", f"security-group/{group_id}", region),
            "name": name, "description": f"{name} security group", "vpcId": vpc_id,
            "tags": args.get("tags") or {}, "region": region}


@_handles("aws:ec2/getAmi:getAmi", STAND_IN)
def _ami(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    image_id = f"ami-{digest('ami', region, args)}"
    owners = args.get("owners") or ["amazon"]
    name = (_filters(args).get("name") or [args.get("nameRegex") or "preflight-image"])[0]
    return {**args, "id": image_id, "imageId": image_id, "name": name.replace("*", "1"),
            "arn": acct.arn("ec2", f"image/{image_id}", region, account=""),
            "architecture": "x86_64", "creationDate": "2025-01-01T00:00:00.000Z",
            "description": name, "enaSupport": True, "hypervisor": "xen",
            "imageLocation": f"{owners[0]}/{name}", "imageType": "machine",
            "ownerId": ACCOUNT_ID if owners[0] == "self" else "137112412989",
            "platformDetails": "Linux/UNIX", "public": True, "rootDeviceName": "/dev/xvda",
            "rootDeviceType": "ebs", "rootSnapshotId": f"snap-{digest('snap', image_id)}",
            "state": "available", "virtualizationType": "hvm", "usageOperation": "RunInstances",
            "blockDeviceMappings": [], "productCodes": [], "tags": {}, "region": region}


@_handles("aws:route53/getZone:getZone", STAND_IN)
def _zone(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name") or "example.com").rstrip(".")
    zone_id = args.get("zoneId") or ("Z" + digest("zone", name, args.get("privateZone"),
                                                  length=20).upper())
    return {**args, "id": zone_id, "zoneId": zone_id, "name": name,
            "arn": f"arn:{PARTITION}:route53:::hostedzone/{zone_id}",
            "callerReference": digest(zone_id), "comment": "",
            "nameServers": [f"ns-{n}.awsdns-{n % 64:02d}.{tld}" for n, tld in
                            ((1024, "org"), (512, "net"), (256, "com"), (1536, "co.uk"))],
            "primaryNameServer": "ns-1024.awsdns-00.org",
            "privateZone": bool(args.get("privateZone")), "resourceRecordSetCount": 2,
            "tags": args.get("tags") or {}}


@_handles("aws:ssm/getParameter:getParameter", STAND_IN)
def _parameter(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name") or "")
    if not name:
        raise NoAnswer("no parameter name")
    path = name if name.startswith("/") else f"/{name}"
    value = f"preflight-stand-in-value-for-{name.strip('/').replace('/', '-')}"
    return {**args, "id": name, "name": name, "arn": acct.arn("ssm", f"parameter{path}", region),
            "type": "String", "value": value, "insecureValue": value, "version": 1,
            "withDecryption": args.get("withDecryption", True), "region": region}


@_handles("aws:secretsmanager/getSecret:getSecret", STAND_IN)
def _secret(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    ref = str(args.get("arn") or args.get("name") or "")
    if not ref:
        raise NoAnswer("no secret name")
    name = ref.split(":secret:", 1)[1].rsplit("-", 1)[0] if ":secret:" in ref else ref
    arn = ref if ref.startswith("arn:") else acct.arn(
        "secretsmanager", f"secret:{name}-{digest('secret', name, length=6)}", region)
    return {**args, "id": arn, "arn": arn, "name": name, "description": "",
            "kmsKeyId": "", "policy": "", "tags": {}, "region": region,
            "createdDate": "2025-01-01T00:00:00Z", "lastChangedDate": "2025-01-01T00:00:00Z"}


@_handles("aws:ecr/getRepository:getRepository", STAND_IN)
def _repository(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name") or "")
    if not name:
        raise NoAnswer("no repository name")
    registry = str(args.get("registryId") or ACCOUNT_ID)
    return {**args, "id": name, "name": name, "registryId": registry,
            "arn": acct.arn("ecr", f"repository/{name}", region, account=registry),
            "repositoryUrl": f"{registry}.dkr.ecr.{region}.{DNS_SUFFIX}/{name}",
            "mostRecentImageTags": [], "tags": {}, "region": region}


@_handles("aws:kms/getAlias:getAlias", STAND_IN)
def _alias(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name") or "")
    if not name.startswith("alias/"):
        raise NoAnswer("not an alias name")
    key_id = uuid_of(digest("key", region, name, length=32))
    return {**args, "id": acct.arn("kms", name, region), "arn": acct.arn("kms", name, region),
            "name": name, "targetKeyId": key_id,
            "targetKeyArn": acct.arn("kms", f"key/{key_id}", region), "region": region}


@_handles("aws:acm/getCertificate:getCertificate", STAND_IN)
def _certificate(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    domain = str(args.get("domain") or "")
    if not domain:
        raise NoAnswer("no domain")
    arn = acct.arn("acm", f"certificate/{uuid_of(digest('cert', region, domain, length=32))}",
                   region)
    return {**args, "id": arn, "arn": arn, "domain": domain, "status": "ISSUED",
            "keyTypes": args.get("keyTypes") or ["RSA_2048"], "tags": {}, "region": region}


@_handles("aws:iam/getRole:getRole", STAND_IN)
def _role(acct: StandInAccount, args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name") or "")
    if not name:
        raise NoAnswer("no role name")
    return {**args, "id": name, "name": name, "path": "/",
            "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{name}",
            "uniqueId": "AROA" + digest("role", name, length=17).upper(),
            "createDate": "2025-01-01T00:00:00Z", "description": "",
            "maxSessionDuration": 3600, "tags": {}}


def uuid_of(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:32]}"


__all__ = ["ACCOUNT_ID", "EXACT", "PARTITION", "STAND_IN", "Answer", "StandInAccount", "digest",
           "regions", "uuid_of"]
