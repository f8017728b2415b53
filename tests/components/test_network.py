"""Network under recording mocks: child counts, subnet layout, routing, flow logs, checks."""

import json
from collections import Counter
from typing import Any

import pulumi_aws
import pytest

from components.network import Network, NetworkArgs, check_network, subnet_cidrs
from components.validation import ArgsError
from preflight.capture import Capture, capture

REGION = "eu-west-1"
SIX_ZONES = "us-east-1"  # eu-west-1 has three Availability Zones; us-east-1 has six
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OUTPUTS = ("vpc_id", "vpc_cidr", "availability_zones", "public_subnet_ids",
           "private_subnet_ids", "isolated_subnet_ids", "private_route_table_ids",
           "endpoint_security_group_id", "nat_gateway_ids")


def run(preview: bool = True, name: str = "net", region: str = REGION,
        **spec: Any) -> tuple[Capture, dict[str, Any]]:
    args: NetworkArgs = {"cidr": "10.0.0.0/16", "kms_key_arn": KEY, **spec}  # type: ignore[typeddict-item]
    out: dict[str, Any] = {}

    def program() -> None:
        net = Network(name, args)
        for attr in OUTPUTS:
            getattr(net, attr).apply(lambda v, a=attr: out.__setitem__(a, v))

    return capture(program, config={"aws:region": region}, preview=preview), out


def zones(n: int) -> list[str]:
    return [f"{REGION}{c}" for c in "abcdef"[:n]]


def counts(cap: Capture) -> Counter[str]:
    return Counter(r.type for r in cap.registrations)


def expected(n: int, nats: int, private_routes: int, endpoints: int = 0) -> Counter[str]:
    c = Counter({
        "microservices:index:Network": 1,
        "aws:ec2/vpc:Vpc": 1,
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
        "aws:ec2/internetGateway:InternetGateway": 1,
        "aws:ec2/subnet:Subnet": 3 * n,
        "aws:ec2/routeTable:RouteTable": n + 2,
        "aws:ec2/route:Route": 1 + private_routes,
        "aws:ec2/routeTableAssociation:RouteTableAssociation": 3 * n,
        "aws:ec2/eip:Eip": nats,
        "aws:ec2/natGateway:NatGateway": nats,
        "aws:ec2/vpcEndpoint:VpcEndpoint": 1 + endpoints,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:iam/role:Role": 1,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:ec2/flowLog:FlowLog": 1,
    })
    if endpoints:
        c["aws:ec2/securityGroup:SecurityGroup"] = 1
        c["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"] = 1
    return +c


# --- child counts --------------------------------------------------------------------------

@pytest.mark.parametrize(("az_count", "strategy", "nats", "routes"), [
    (2, "per-az", 2, 2), (3, "per-az", 3, 3), (6, "per-az", 6, 6),
    (2, "single", 1, 2), (3, "single", 1, 3), (6, "single", 1, 6),
    (2, "none", 0, 0), (3, "none", 0, 0), (6, "none", 0, 0),
])
def test_child_counts(az_count: int, strategy: str, nats: int, routes: int) -> None:
    cap, _ = run(az_count=az_count, nat_strategy=strategy,
                 region=SIX_ZONES if az_count > 3 else REGION)
    assert counts(cap) == expected(az_count, nats, routes)


def test_child_counts_with_interface_endpoints() -> None:
    cap, _ = run(az_count=3, endpoints=["ecr.api", "ecr.dkr", "logs"])
    assert counts(cap) == expected(3, 3, 3, endpoints=3)


def test_all_children_are_parented_by_the_component() -> None:
    cap, _ = run(az_count=2)
    component = cap.named("net").urn
    assert {r.parent for r in cap.registrations if r.custom} == {component}


# --- subnet layout ---------------------------------------------------------------------------

def subnets_by_name(cap: Capture) -> dict[str, tuple[str, str]]:
    return {r.name: (r.inputs["availabilityZone"], r.inputs["cidrBlock"])
            for r in cap.of_type("aws:ec2/subnet:Subnet")}


def test_exact_subnet_cidrs_for_a_16() -> None:
    cap, _ = run(az_count=3)
    assert subnets_by_name(cap) == {
        "net-private-eu-west-1a": ("eu-west-1a", "10.0.0.0/19"),
        "net-private-eu-west-1b": ("eu-west-1b", "10.0.32.0/19"),
        "net-private-eu-west-1c": ("eu-west-1c", "10.0.64.0/19"),
        "net-public-eu-west-1a": ("eu-west-1a", "10.0.192.0/22"),
        "net-public-eu-west-1b": ("eu-west-1b", "10.0.196.0/22"),
        "net-public-eu-west-1c": ("eu-west-1c", "10.0.200.0/22"),
        "net-isolated-eu-west-1a": ("eu-west-1a", "10.0.224.0/22"),
        "net-isolated-eu-west-1b": ("eu-west-1b", "10.0.228.0/22"),
        "net-isolated-eu-west-1c": ("eu-west-1c", "10.0.232.0/22"),
    }


def test_exact_subnet_cidrs_for_the_smallest_block_and_six_zones() -> None:
    cap, _ = run(cidr="10.1.0.0/22", az_count=6, region=SIX_ZONES)
    got = subnets_by_name(cap)
    assert {n: c for n, (_, c) in got.items() if "-private-" in n} == {
        "net-private-us-east-1a": "10.1.0.0/25", "net-private-us-east-1b": "10.1.0.128/25",
        "net-private-us-east-1c": "10.1.1.0/25", "net-private-us-east-1d": "10.1.1.128/25",
        "net-private-us-east-1e": "10.1.2.0/25", "net-private-us-east-1f": "10.1.2.128/25"}
    assert {n: c for n, (_, c) in got.items() if "-public-" in n} == {
        "net-public-us-east-1a": "10.1.3.0/28", "net-public-us-east-1b": "10.1.3.16/28",
        "net-public-us-east-1c": "10.1.3.32/28", "net-public-us-east-1d": "10.1.3.48/28",
        "net-public-us-east-1e": "10.1.3.64/28", "net-public-us-east-1f": "10.1.3.80/28"}
    assert {n: c for n, (_, c) in got.items() if "-isolated-" in n} == {
        "net-isolated-us-east-1a": "10.1.3.128/28", "net-isolated-us-east-1b": "10.1.3.144/28",
        "net-isolated-us-east-1c": "10.1.3.160/28", "net-isolated-us-east-1d": "10.1.3.176/28",
        "net-isolated-us-east-1e": "10.1.3.192/28", "net-isolated-us-east-1f": "10.1.3.208/28"}


def test_subnet_cidrs_function_matches_the_documented_example() -> None:
    assert subnet_cidrs("10.0.0.0/16", 1) == {"public": "10.0.196.0/22",
                                             "private": "10.0.32.0/19",
                                             "isolated": "10.0.228.0/22"}
    with pytest.raises(ValueError, match=r"^AZ slot 6 is outside 0-5$"):
        subnet_cidrs("10.0.0.0/16", 6)


def test_adding_a_zone_moves_no_existing_subnet_or_urn() -> None:
    two, _ = run(az_count=2)
    three, _ = run(az_count=3)
    before = {r.urn: r.inputs["cidrBlock"] for r in two.of_type("aws:ec2/subnet:Subnet")}
    after = {r.urn: r.inputs["cidrBlock"] for r in three.of_type("aws:ec2/subnet:Subnet")}
    assert {u: after[u] for u in before} == before
    assert set(after) - set(before) == {
        f"urn:pulumi:test::project::microservices:index:Network$aws:ec2/subnet:Subnet::"
        f"net-{tier}-eu-west-1c" for tier in ("public", "private", "isolated")}
    assert {r.urn for r in two.registrations} <= {r.urn for r in three.registrations}


def test_no_subnet_assigns_public_ips() -> None:
    cap, _ = run(az_count=6, region=SIX_ZONES)
    values = [r.inputs["mapPublicIpOnLaunch"] for r in cap.of_type("aws:ec2/subnet:Subnet")]
    assert values == [False] * 18


def test_vpc_has_dns_support_and_hostnames() -> None:
    cap, _ = run(az_count=2)
    vpc = cap.named("net-vpc").inputs
    assert (vpc["cidrBlock"], vpc["enableDnsSupport"], vpc["enableDnsHostnames"]) == (
        "10.0.0.0/16", True, True)


def test_default_security_group_is_stripped_of_rules() -> None:
    cap, _ = run(az_count=2, preview=False)
    (sg,) = cap.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sg.inputs["ingress"] == []
    assert sg.inputs["egress"] == []
    assert sg.inputs["vpcId"] == "net-vpc-id"


# --- routing -----------------------------------------------------------------------------------

def routes(cap: Capture) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in cap.of_type("aws:ec2/route:Route")}


def test_each_private_table_routes_through_its_own_zone_nat() -> None:
    cap, _ = run(az_count=3, preview=False)
    got = {name: (r["routeTableId"], r["destinationCidrBlock"], r.get("natGatewayId"))
           for name, r in routes(cap).items() if "private" in name}
    assert got == {f"net-private-default-{az}": (f"net-private-rt-{az}-id", "0.0.0.0/0",
                                                 f"net-nat-{az}-id") for az in zones(3)}
    nats = {r.name: r.inputs["subnetId"] for r in cap.of_type("aws:ec2/natGateway:NatGateway")}
    assert nats == {f"net-nat-{az}": f"net-public-{az}-id" for az in zones(3)}


def test_private_route_dependencies_name_the_zone_nat_at_preview() -> None:
    cap, _ = run(az_count=3)
    urn = "urn:pulumi:test::project::microservices:index:Network$aws:ec2/natGateway:NatGateway::"
    for az in zones(3):
        route = cap.named(f"net-private-default-{az}")
        assert route.property_dependencies["natGatewayId"] == [f"{urn}net-nat-{az}"]
        # The mocks give an EIP no allocation id, so this link is checked here, by dependency.
        nat = cap.named(f"net-nat-{az}")
        assert nat.property_dependencies["allocationId"] == [
            f"urn:pulumi:test::project::microservices:index:Network$aws:ec2/eip:Eip::"
            f"net-eip-{az}"]


def test_single_nat_serves_every_zone_from_the_first() -> None:
    cap, out = run(az_count=3, nat_strategy="single", preview=False)
    got = {name: r["natGatewayId"] for name, r in routes(cap).items() if "private" in name}
    assert got == {f"net-private-default-{az}": "net-nat-eu-west-1a-id" for az in zones(3)}
    assert out["nat_gateway_ids"] == ["net-nat-eu-west-1a-id"]


def test_no_nat_means_no_internet_route_from_private_subnets() -> None:
    cap, out = run(az_count=3, nat_strategy="none", preview=False)
    assert list(routes(cap)) == ["net-public-default"]
    assert cap.of_type("aws:ec2/natGateway:NatGateway") == []
    assert out["nat_gateway_ids"] == []


def test_public_table_routes_to_the_internet_gateway_only() -> None:
    cap, _ = run(az_count=2, preview=False)
    assert routes(cap)["net-public-default"] == {
        "routeTableId": "net-public-rt-id", "destinationCidrBlock": "0.0.0.0/0",
        "gatewayId": "net-igw-id"}


def test_subnets_associate_with_their_tier_and_zone_tables() -> None:
    cap, _ = run(az_count=2, preview=False)
    got = {r.inputs["subnetId"]: r.inputs["routeTableId"]
           for r in cap.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    assert got == {
        "net-public-eu-west-1a-id": "net-public-rt-id",
        "net-public-eu-west-1b-id": "net-public-rt-id",
        "net-private-eu-west-1a-id": "net-private-rt-eu-west-1a-id",
        "net-private-eu-west-1b-id": "net-private-rt-eu-west-1b-id",
        "net-isolated-eu-west-1a-id": "net-isolated-rt-id",
        "net-isolated-eu-west-1b-id": "net-isolated-rt-id",
    }


def test_isolated_table_has_no_routes() -> None:
    cap, _ = run(az_count=3, preview=False)
    table = cap.named("net-isolated-rt").inputs
    assert "routes" not in table
    assert [r for r in routes(cap).values() if r["routeTableId"] == "net-isolated-rt-id"] == []


# --- endpoints -----------------------------------------------------------------------------

def test_s3_gateway_endpoint_serves_private_and_isolated_tables() -> None:
    cap, _ = run(az_count=2, preview=False)
    s3 = cap.named("net-s3").inputs
    assert (s3["serviceName"], s3["vpcEndpointType"]) == ("com.amazonaws.eu-west-1.s3",
                                                          "Gateway")
    assert s3["routeTableIds"] == ["net-private-rt-eu-west-1a-id",
                                   "net-private-rt-eu-west-1b-id", "net-isolated-rt-id"]


def test_interface_endpoints_in_private_subnets_behind_https_only_group() -> None:
    cap, out = run(az_count=2, endpoints=["ecr.dkr", "sts"], preview=False)
    got = {r.name: (r.inputs["serviceName"], r.inputs["vpcEndpointType"],
                    r.inputs["privateDnsEnabled"], r.inputs["subnetIds"],
                    r.inputs["securityGroupIds"])
           for r in cap.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if r.name != "net-s3"}
    private = ["net-private-eu-west-1a-id", "net-private-eu-west-1b-id"]
    assert got == {
        "net-ecr-dkr": ("com.amazonaws.eu-west-1.ecr.dkr", "Interface", True, private,
                        ["net-endpoints-id"]),
        "net-sts": ("com.amazonaws.eu-west-1.sts", "Interface", True, private,
                    ["net-endpoints-id"]),
    }
    (rule,) = cap.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs == {"securityGroupId": "net-endpoints-id", "ipProtocol": "tcp",
                           "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/16",
                           "description": "HTTPS to AWS APIs from inside the VPC"}
    assert cap.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") == []
    assert "ingress" not in cap.named("net-endpoints").inputs
    assert out["endpoint_security_group_id"] == "net-endpoints-id"


def test_no_endpoint_group_without_interface_endpoints() -> None:
    cap, out = run(az_count=2, preview=False)
    assert cap.of_type("aws:ec2/securityGroup:SecurityGroup") == []
    assert out["endpoint_security_group_id"] is None


# --- flow logs -----------------------------------------------------------------------------

def test_flow_logs_capture_all_traffic_to_an_encrypted_group() -> None:
    cap, _ = run(az_count=2, log_retention_days=90, name_prefix="prod", preview=False)
    (group,) = cap.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert (group.inputs["name"], group.inputs["kmsKeyId"], group.inputs["retentionInDays"]) == (
        "/prod/vpc/flow-logs", KEY, 90)
    (flow,) = cap.of_type("aws:ec2/flowLog:FlowLog")
    assert {k: flow.inputs[k] for k in ("vpcId", "trafficType", "logDestinationType",
                                        "logDestination", "iamRoleArn")} == {
        "vpcId": "net-vpc-id", "trafficType": "ALL", "logDestinationType": "cloud-watch-logs",
        "logDestination": "arn:aws:logs:eu-west-1:123456789012:log-group:/prod/vpc/flow-logs",
        "iamRoleArn": "arn:aws:iam:eu-west-1:123456789012:net-flow-logs"}
    assert group.urn in flow.dependencies


def test_flow_log_role_trust_and_permissions_are_exact_at_preview() -> None:
    cap, _ = run(az_count=2)
    (role,) = cap.of_type("aws:iam/role:Role")
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AssumeRole", "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "123456789012"},
                "ArnLike": {"aws:SourceArn":
                            "arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log/*"}}}]}
    (policy,) = cap.of_type("aws:iam/rolePolicy:RolePolicy")
    group = "arn:aws:logs:eu-west-1:123456789012:log-group:/net/vpc/flow-logs"
    assert json.loads(policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "WriteFlowLogGroup", "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams",
                       "logs:PutLogEvents"],
            "Resource": [group, f"{group}:*"]}]}


# --- zones and outputs -----------------------------------------------------------------------

def test_default_zones_are_the_first_az_count_the_region_reports() -> None:
    _, out = run(az_count=2, preview=False)
    assert out["availability_zones"] == ["eu-west-1a", "eu-west-1b"]
    assert out["private_subnet_ids"] == ["net-private-eu-west-1a-id", "net-private-eu-west-1b-id"]


def test_explicit_zones_are_used_in_the_order_given() -> None:
    cap, out = run(availability_zones=["eu-west-1c", "eu-west-1a"], preview=False)
    assert out == {
        "vpc_id": "net-vpc-id", "vpc_cidr": "10.0.0.0/16",
        "availability_zones": ["eu-west-1c", "eu-west-1a"],
        "public_subnet_ids": ["net-public-eu-west-1c-id", "net-public-eu-west-1a-id"],
        "private_subnet_ids": ["net-private-eu-west-1c-id", "net-private-eu-west-1a-id"],
        "isolated_subnet_ids": ["net-isolated-eu-west-1c-id", "net-isolated-eu-west-1a-id"],
        "private_route_table_ids": ["net-private-rt-eu-west-1c-id",
                                    "net-private-rt-eu-west-1a-id"],
        "endpoint_security_group_id": None,
        "nat_gateway_ids": ["net-nat-eu-west-1c-id", "net-nat-eu-west-1a-id"],
    }
    # Slot order follows the list: the first zone named gets slot 0.
    assert cap.named("net-private-eu-west-1c").inputs["cidrBlock"] == "10.0.0.0/19"


# --- validation ------------------------------------------------------------------------------

def messages(**spec: Any) -> list[str]:
    return [p.message for p in check_network({"cidr": "10.0.0.0/16", **spec})]  # type: ignore[typeddict-item]


@pytest.mark.parametrize(("cidr", "message"), [
    ("10.0.0.0/33", "'10.0.0.0/33' is not an IPv4 CIDR block ('33' is not a valid netmask)"),
    ("10.0.0.1/16", "'10.0.0.1/16' is not an IPv4 CIDR block (10.0.0.1/16 has host bits set)"),
    ("banana", "'banana' is not an IPv4 CIDR block (Expected 4 octets in 'banana')"),
    ("8.8.0.0/16", "8.8.0.0/16 is not a private (RFC 1918) range"),
    ("192.0.2.0/24", "192.0.2.0/24 is not a private (RFC 1918) range: use a block inside "
                     "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"),
    ("10.0.0.0/8", "use a /16 to /28 block (got /8)"),
    ("10.0.0.0/23", "10.0.0.0/23 is too small for 3 availability zones: each zone's public and "
                    "isolated subnets would be /29, smaller than the /28 AWS allows; use a /22 "
                    "or larger block"),
])
def test_cidr_messages(cidr: str, message: str) -> None:
    assert messages(cidr=cidr) == [message]


@pytest.mark.parametrize(("spec", "message"), [
    ({"az_count": 7}, "azCount must be between 2 and 6 (got 7)"),
    ({"az_count": 1}, "azCount must be between 2 and 6 (got 1)"),
    ({"availability_zones": ["eu-west-1a"]}, "azCount must be between 2 and 6 (got 1)"),
    ({"availability_zones": ["eu-west-1a", "eu-west-1a"]}, "lists eu-west-1a more than once"),
    ({"availability_zones": ["eu-west-1a", "us-east-1b"]},
     "mixes regions (eu-west-1, us-east-1); name zones of one region"),
    ({"availability_zones": ["eu-west-1a", "euw1-az2"]},
     "'euw1-az2' is not an availability zone name (e.g. eu-west-1a)"),
    ({"availability_zones": ["eu-west-1a", "eu-west-1b"], "az_count": 3},
     "names 2 zones but azCount is 3"),
    ({"nat_strategy": "per_az"},
     "'per_az' is not allowed: use one of per-az, single, none (did you mean 'per-az'?)"),
    ({"endpoints": ["ecr-api"]},
     "'ecr-api' is not allowed: use one of ecr.api, ecr.dkr, logs, secretsmanager, sts, ssm, "
     "ssmmessages, ec2messages, kms, xray, monitoring, ecs, ecs-agent, ecs-telemetry, sqs, sns, "
     "elasticloadbalancing (did you mean 'ecr.api'?)"),
    ({"endpoints": ["sts", "sts"]}, "lists 'sts' more than once"),
])
def test_spec_messages(spec: dict[str, Any], message: str) -> None:
    assert messages(**spec) == [message]


def test_valid_spec_has_no_problems() -> None:
    assert messages(az_count=6, nat_strategy="single", endpoints=["logs", "ecr.api"],
                    availability_zones=zones(6)) == []


def test_component_rejects_bad_args_before_creating_children() -> None:
    created: list[str] = []
    with pytest.raises(ArgsError) as err:
        capture(lambda: Network("net", {"cidr": "10.0.0.0/23", "az_count": 7,  # type: ignore[typeddict-item]
                                        "kms_key_arn": KEY, "log_retention_days": 10}),
                on_register=lambda r: created.append(r.type))
    assert str(err.value) == (
        "Network 'net': cidr: 10.0.0.0/23 is too small for 7 availability zones: each zone's "
        "public and isolated subnets would be /29, smaller than the /28 AWS allows; use a /22 "
        "or larger block\n"
        "Network 'net': azCount: azCount must be between 2 and 6 (got 7)\n"
        "Network 'net': logRetentionDays: 10 is not a CloudWatch Logs retention; use one of 1, "
        "3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
        "2922, 3288, 3653")
    assert created == ["microservices:index:Network"]


def test_physical_names_follow_the_prefix() -> None:
    cap, _ = run(az_count=2, name_prefix="shop-prod")
    (role,) = cap.of_type("aws:iam/role:Role")
    (group,) = cap.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert (role.inputs["name"], group.inputs["name"]) == ("shop-prod-vpc-flow-logs",
                                                           "/shop-prod/vpc/flow-logs")


def test_zones_outside_the_deployment_region_are_rejected() -> None:
    with pytest.raises(ArgsError) as err:
        run(availability_zones=["us-east-1a", "us-east-1b"])
    assert str(err.value) == ("Network 'net': availabilityZones: names us-east-1a, us-east-1b, "
                              "outside the deployment region eu-west-1")


def test_region_with_too_few_zones_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    class Zones:
        names = ["eu-west-1a", "eu-west-1b"]

    monkeypatch.setattr(pulumi_aws, "get_availability_zones", lambda **_: Zones())
    with pytest.raises(ArgsError) as err:
        run(az_count=3)
    assert str(err.value) == ("Network 'net': azCount: the region has 2 available zones, "
                              "fewer than azCount 3")


def test_invalid_name_prefix_is_rejected() -> None:
    with pytest.raises(ArgsError) as err:
        run(name_prefix="Shop/Prod")
    assert str(err.value) == (
        "Network 'net': namePrefix: 'Shop/Prod' is not a valid name: use 2-32 lowercase "
        "letters, digits and single hyphens, starting with a letter")
