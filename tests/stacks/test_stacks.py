"""The stack files: the three real ones validate and build; a table of broken copies each
fails with its exact one-line messages and registers nothing."""

import copy
import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.spec import (
    NAMESPACE,
    SpecError,
    namespace_values,
    parse_platform_spec,
    store_variables,
)
from preflight.capture import Registration, capture

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")
DELETE = object()


def stack_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def engine_config(config: dict[str, Any]) -> dict[str, str]:
    """As the CLI hands config to a program: objects as JSON text, scalars as strings."""
    return {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v)
            for k, v in config.items()}


def run_program(stack: str, config: dict[str, Any],
                seen: list[Registration] | None = None) -> Any:
    return capture(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"),
                   project=NAMESPACE, stack=stack, config=engine_config(config),
                   on_register=None if seen is None else seen.append)


def mutate(config: dict[str, Any], path: str, value: Any) -> None:
    top, *rest = path.split(".")
    node = config.setdefault(f"{NAMESPACE}:{top}", {})
    parent, leaf = config, f"{NAMESPACE}:{top}"
    for part in rest:
        parent, leaf = node, part
        node = node.setdefault(part, {}) if part != rest[-1] else node
    if value is DELETE:
        del parent[leaf]
    else:
        parent[leaf] = value


@pytest.mark.parametrize("stack", STACKS)
def test_stack_file_validates(stack: str) -> None:
    spec = parse_platform_spec(namespace_values(stack_config(stack)))
    assert spec["environment"] == stack


INVALID = [
    ('prod', [('environment', 'qa')],
     ["environment: 'qa' is not allowed: use one of dev, staging, prod"]),
    ('prod', [('region', 'europe')],
     ["region: 'europe' is not an AWS region name (e.g. eu-west-1)"]),
    ('prod', [('tags.costCentre', DELETE)],
     ['tags.costCentre: required key is missing']),
    ('prod', [('tags.dataClassification', 'secret')],
     ["tags.dataClassification: 'secret' is not allowed: use one of public, internal, confidential, restricted"]),
    ('prod', [('network.azCount', 2)],
     ['network.azCount: prod needs at least 3 availability zones (got 2)']),
    ('dev', [('network.azCount', 7)],
     ['network.azCount: azCount must be between 2 and 6 (got 7)']),
    ('prod', [('network.cidr', '10.0.0.0/33')],
     ["network.cidr: '10.0.0.0/33' is not an IPv4 CIDR block ('33' is not a valid netmask)"]),
    ('prod', [('network.cidr', '8.8.0.0/16')],
     ['network.cidr: 8.8.0.0/16 is not a private (RFC 1918) range']),
    ('prod', [('network.natStrategy', 'single')],
     ['network.natStrategy: prod needs a NAT gateway per availability zone: use per-az (got single)']),
    ('prod', [('network.natStratgy', 'single')],
     ["network.natStratgy: unknown key (did you mean 'natStrategy'?); allowed keys: cidr, azCount, availabilityZones, natStrategy, endpoints"]),
    ('prod', [('servics', {})],
     ["servics: unknown key (did you mean 'services'?); allowed keys: environment, region, tags, network, logRetentionDays, encryption, cluster, eks, loadBalancer, internalLoadBalancer, services, functions, apis, tables, databases, caches, secrets, pipelines, github, observability, events, workflows"]),
    ('prod', [('logRetentionDays', 30)],
     ['logRetentionDays: prod keeps logs at least 365 days (got 30)']),
    ('dev', [('logRetentionDays', 13)],
     ['logRetentionDays: 13 is not a CloudWatch Logs retention; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653',
      'logRetentionDays: dev keeps logs at least 14 days (got 13)']),
    ('prod', [('loadBalancer.certificateArn', 'not-an-arn')],
     ["loadBalancer.certificateArn: 'not-an-arn' is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"]),
    ('prod', [('loadBalancer.sslPolicy', 'ELBSecurityPolicy-2016-08')],
     ["loadBalancer.sslPolicy: 'ELBSecurityPolicy-2016-08' accepts TLS versions older than 1.2: use one of ELBSecurityPolicy-TLS13-1-2-2021-06, ELBSecurityPolicy-TLS13-1-2-Res-2021-06, ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06, ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06, ELBSecurityPolicy-TLS13-1-3-2021-06, ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04, ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04, ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04, ELBSecurityPolicy-TLS-1-2-2017-01, ELBSecurityPolicy-TLS-1-2-Ext-2018-06, ELBSecurityPolicy-FS-1-2-2019-08, ELBSecurityPolicy-FS-1-2-Res-2019-08, ELBSecurityPolicy-FS-1-2-Res-2020-10"]),
    ('prod', [('services.web.memory', 4096)],
     ['services.web.memory: memory 4096 is not allowed with cpu 256: use one of 512, 1024, 2048']),
    ('prod', [('services.web.port', 80)],
     ['services.web.port: port must be between 1024 and 65535 (got 80)']),
    ('prod', [('services.orders.desiredCount', 2)],
     ['services.orders.desiredCount: desiredCount must be at least 3, one task per availability zone (got 2)',
      'services.orders.minCount: minCount (3) must not be greater than desiredCount (2)']),
    ('prod', [('services.orders.environment', {'DB_PASSWORD': 'hunter2'})],
     ['services.orders.environment: DB_PASSWORD: plaintext credential rejected: the name says it holds a secret; put it in Secrets Manager or SSM and list it under secrets']),
    ('prod', [('services.orders.environment', {'UPSTREAM_KEY_ID': 'AKIAIOSFODNN7EXAMPLE'})],
     ['services.orders.environment: UPSTREAM_KEY_ID: plaintext credential rejected: the value looks like an AWS access key id; put it in Secrets Manager or SSM and list it under secrets']),
    ('prod', [('services.orders.database', 'orders-database')],
     ["services.orders.database: 'orders-database' is not defined under databases (defined: orders-db) (did you mean 'orders-db'?)"]),
    ('prod', [('services.orders.tables', {'catalog': 'admin'})],
     ["services.orders.tables.catalog: 'admin' is not allowed: use one of read, write, read_write"]),
    ('prod', [('services.orders.spot', True)],
     ['services.orders.spot: prod does not run on Fargate Spot: remove spot or set it to false']),
    ('prod', [('services.orders.secrets', {'API_KEY': 'secret:missing'})],
     ["services.orders.secrets.API_KEY: 'missing' is not defined under secrets (defined: payments-api-key)"]),
    ('prod', [('services.web.readOnlyRootFilesystem', False)],
     ['services.web.writableRootReason: required (at least 10 characters) when readOnlyRootFilesystem is false: say why the container must write outside /tmp']),
    ('prod', [('services.orders.image', 'nginx:latest')],
     ["services.orders.image: 'nginx:latest' must be pinned by digest (name@sha256:<64 hex digits>)"]),
    ('prod', [('services.web.cpu', 'lots')],
     ['services.web.cpu: must be a whole number (got "lots")']),
    ('prod', [('services.Web_Service', {'cpu': 256, 'memory': 512})],
     ["services.Web_Service: 'Web_Service' is not a valid name: use 2-32 lowercase letters, digits and single hyphens, starting with a letter",
      'services.Web_Service.desiredCount: desiredCount must be at least 3, one task per availability zone (got 2)',
      'services.Web_Service.minCount: minCount must be at least 3, one task per availability zone (got 2)']),
    ('prod', [('functions.catalog.runtime', 'python2.7')],
     ["functions.catalog.runtime: 'python2.7' is not a supported runtime: use one of python3.12, python3.13, nodejs20.x, nodejs22.x, java21, provided.al2023"]),
    ('prod', [('functions.catalog.timeoutSeconds', 60)],
     ['functions.catalog.triggers.api: timeoutSeconds is 60 but API Gateway waits at most 29 seconds for an integration: lower timeoutSeconds or use an asynchronous trigger']),
    ('prod', [('apis.edge.routes.GET /health.publicReason', DELETE)],
     ['apis.edge.routes.GET /health.publicReason: a public route needs publicReason (at least 10 characters) saying why anyone may call it; otherwise use authorization jwt or iam']),
    ('prod', [('apis.edge.routes.GET /catalog.function', 'catalogue')],
     ["apis.edge.routes.GET /catalog.function: 'catalogue' is not defined under functions (defined: billing, catalog) (did you mean 'catalog'?)"]),
    ('prod', [('databases.orders-db.instances', 1)],
     ['databases.orders-db.instances: prod needs at least 2 instances in different availability zones (got 1)']),
    ('prod', [('databases.orders-db.backupRetentionDays', 7)],
     ['databases.orders-db.backupRetentionDays: backupRetentionDays must be at least 14 in prod (got 7)']),
    ('staging', [('databases.orders-db.monitoringInterval', 0)],
     ['databases.orders-db.monitoringInterval: staging needs Enhanced Monitoring: use one of 1, 5, 10, 15, 30, 60 (got 0)']),
    ('prod', [('databases.orders-db.masterPassword', 'hunter2hunter2')],
     ['databases.orders-db.masterPassword: unknown key: credentials never go in a stack file; the platform keeps them in Secrets Manager (databases manage their own master password) and services reference them']),
    ('prod', [('caches.sessions.replicasPerShard', 0)],
     ['caches.sessions.replicasPerShard: needs at least 1 replica for automatic failover (got 0)']),
    ('prod', [('pipelines.payments', {'connectionArn': 'arn:aws:codeconnections:eu-west-1:123456789012:connection/6c1f6a2e-3a8e-4d0b-9b52-0f4f2b6d1c11', 'repository': 'example-org/payments'})],
     ["pipelines.payments: delivers no service: 'payments' is not defined under services (defined: orders, web)"]),
    ('prod', [('observability.alarms', {'web': {'latencyy': {'threshold': 500}}})],
     ["observability.alarms.web.latencyy: unknown service alarm 'latencyy' (did you mean 'latency-p99'?); known alarms: 5xx-rate, unhealthy-hosts, latency-p99, cpu-high, memory-high, running-tasks"]),
    ('prod', [('caches.sessions.allowedServices', ['orders', 'billing'])],
     ["caches.sessions.allowedServices[1]: 'billing' is not defined under services (defined: orders, web)"]),
    ('dev', [('functions.catalog.triggers.sqs', {'visibilityTimeoutSeconds': 30})],
     ['functions.catalog.triggers.sqs.visibilityTimeoutSeconds: must be at least 6 x timeoutSeconds = 60 (got 30), or a message is delivered again while its batch still runs']),
    # --- events and workflows
    ('prod', [('events.topics.order-events.subscribers.billing.function', 'biling')],
     ["events.topics.order-events.subscribers.billing.function: 'biling' is not defined under functions (defined: billing, catalog) (did you mean 'billing'?)"]),
    ('prod', [('events.topics.order-events.publishers', [{'service': 'web'}, {'service': 'payments'}])],
     ["events.topics.order-events.publishers[1].service: 'payments' is not defined under services (defined: orders, web)"]),
    ('prod', [('events.topics.order-events.publishers', [{'function': 'billing'}])],
     ["events.topics.order-events: events cycle: function billing -> topic order-events -> function billing: an event could circulate forever; break the loop (publish elsewhere or narrow a rule's source)"]),
    ('prod', [('events.bus.publishers', [{'service': 'orders'}, {'function': 'billing'}]),
              ('events.bus.rules.order-paid.eventPattern.source', ['orders', 'billing'])],
     ["events.bus.rules.order-paid: events cycle: function billing -> rule order-paid -> workflow fulfilment -> topic order-events -> function billing: an event could circulate forever; break the loop (publish elsewhere or narrow a rule's source)"]),
    ('prod', [('events.topics.order-events.subscribers.billing.visibilityTimeoutSeconds', 60)],
     ["events.topics.order-events.subscribers.billing.visibilityTimeoutSeconds: must be at least 6 x function billing's timeoutSeconds = 120 (got 60), or a message is delivered again while its batch still runs"]),
    ('prod', [('events.topics.order-events.subscribers.orders.deadLetter', False)],
     ['events.topics.order-events.subscribers.orders.deadLetter: fan-out without a dead-letter queue: the topic has 2 subscribers, and a message this subscriber fails would be lost while the others got it; remove deadLetter: false']),
    ('prod', [('events.topics.order-events.fifo', True),
              ('events.topics.order-events.subscribers.audit', {'function': 'catalog', 'delivery': 'direct'})],
     ['events.topics.order-events.subscribers.audit.delivery: FIFO topics deliver only to FIFO queues: use delivery queue']),
    ('prod', [('events.bus.rules.order-paid.targets.fulfilment.workflow', 'fulfillment')],
     ["events.bus.rules.order-paid.targets.fulfilment.workflow: 'fulfillment' is not defined under workflows (defined: fulfilment) (did you mean 'fulfilment'?)"]),
    ('prod', [('events.bus.rules.order-paid.targets.fulfilment.maxRetryAttempts', 500)],
     ['events.bus.rules.order-paid.targets.fulfilment.maxRetryAttempts: maxRetryAttempts must be between 0 and 185 (got 500)']),
    ('prod', [('events.topocs', {})],
     ["events.topocs: unknown key (did you mean 'topics'?); allowed keys: topics, bus"]),
    ('prod', [('workflows.fulfilment.definition', 'workflows/missing.asl.yaml')],
     ['workflows.fulfilment.definition: workflows/missing.asl.yaml does not exist (paths are relative to the project directory)']),
    ('prod', [('workflows.fulfilment.starters', [{'service': 'billing'}])],
     ["workflows.fulfilment.starters[0].service: 'billing' is not defined under services (defined: orders, web)"]),
    ('prod', [('workflows.fulfilment.type', 'express')],
     ['workflows.fulfilment.definition.States.Pack.Resource: workflows/fulfilment.asl.yaml: express workflows cannot wait (.sync): use type standard or drop the suffix',
      'workflows.fulfilment.definition.TimeoutSeconds: workflows/fulfilment.asl.yaml: express workflows run at most 300 seconds (got 3600)']),
    # Accepted before, then rejected by AWS at deploy.
    ('prod', [('tags.owner', 'team#1')],
     ['tags.owner: is not a tag value: use letters, digits, spaces and _ . : / = + - @']),
    ('prod', [('tags.extra', {'aws:team': 'platform'})],
     ['tags.extra.aws:team: keys starting with aws: are reserved for AWS: choose another key']),
    ('prod', [('tags.extra', {'k' * 129: 'x'})],
     [f'tags.extra.{"k" * 129}: is not a tag key: use 1-128 letters, digits, spaces and _ . : / = + - @']),
    ('prod', [('tags.extra', {'team': 'v' * 257})],
     ['tags.extra.team: is 257 characters long: a tag value has at most 256']),
    ('prod', [('tags.extra', {f't{i}': 'x' for i in range(41)})],
     ['tags.extra: 41 tags: at most 40 (AWS allows 50 per resource and the platform sets up to 10 of its own)']),
    ('prod', [('loadBalancer.certificateArn', 'arn:aws:acm:us-east-1:123456789012:certificate/5e8f0a1b-2c3d-4e5f-9a6b-7c8d9e0f1a2b')],
     ['loadBalancer.certificateArn: is in us-east-1, but the load balancer is in eu-west-1: a load balancer uses certificates of its own region; request or import one in eu-west-1']),
    ('prod', [('internalLoadBalancer.certificateArn', 'arn:aws:acm:eu-west-1:210987654321:certificate/1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f')],
     ["internalLoadBalancer.certificateArn: is in account 210987654321, the public load balancer's in 123456789012: both load balancers are in the stack's one account, and ACM certificates cannot be shared across accounts"]),
    ('prod', [('loadBalancer.certificateArn', 'arn:aws-cn:acm:eu-west-1:123456789012:certificate/5e8f0a1b-2c3d-4e5f-9a6b-7c8d9e0f1a2b')],
     ['loadBalancer.certificateArn: is in partition aws-cn, but eu-west-1 is in aws: use a certificate of eu-west-1']),
    ('prod', [('region', 'eu-west-1\n')],
     [r'region: "eu-west-1\n" contains a line break or another control character: remove it']),
    ('prod', [('databases.orders-db.engineVersion', '9.6')],
     ["databases.orders-db.engineVersion: '9.6' is not a version RDS offers for aurora-postgresql: use <major>.<minor> with major 13 to 17 (e.g. 16.6)"]),
    ('prod', [('databases.orders-db.instanceClass', 'db.t3.micro')],
     ["databases.orders-db.instanceClass: 'db.t3.micro' is not a DB instance class for aurora-postgresql: use db.<family>.<size> with family t3, t4g, r5, r6g, r6gd, r6i, r7g, r7i, r8g, x2g (t3/t4g: medium or large), or db.serverless (e.g. db.r7g.large)"]),
    ('prod', [('caches.sessions.nodeType', 'cache.r7g.huge')],
     ["caches.sessions.nodeType: 'cache.r7g.huge' is not an ElastiCache node type: use cache.<family>.<size> with family t3, t4g, m5, m6g, m7g, r5, r6g, r7g, r6gd, c7gn (e.g. cache.r7g.large)"]),
    ('prod', [('caches.sessions.engineVersion', '6.0')],
     ["caches.sessions.engineVersion: '6.0' is not a version ElastiCache offers for valkey: use one of 7.2, 8.0, 8.1"]),
    ('prod', [('pipelines.web.connectionArn', 'arn:aws:codeconnections:eu-west-1:123456789012:connection/')],
     ["pipelines.web.connectionArn: 'arn:aws:codeconnections:eu-west-1:123456789012:connection/' is not a CodeConnections connection ARN (arn:aws:codestar-connections:<region>:<account>:connection/<id> or arn:aws:codeconnections:...)"]),
    ('prod', [('tables.catalog.ttlAttribute', '')],
     ['tables.catalog.ttlAttribute: must name the attribute holding the expiry time (1-255 characters)']),
    ('dev', [('network.azCount', 4)],
     ['network.azCount: eu-west-1 has 3 availability zones (eu-west-1a, eu-west-1b, eu-west-1c); use azCount 3 or fewer']),
    # Accepted before, then broken at runtime.
    ('prod', [('services.web.database', 'orders-db')],
     ["services.web.database: 'orders-db' does not admit 'web': add 'web' to databases.orders-db.allowedServices"]),
    ('prod', [('databases.orders-db.allowedServices', [])],
     ["services.orders.database: 'orders-db' does not admit 'orders': add 'orders' to databases.orders-db.allowedServices"]),
    ('prod', [('caches.sessions.allowedServices', ['orders', 'web'])],
     ["caches.sessions.allowedServices[1]: admits 'web', which does not use it: set services.web.cache: sessions, or remove 'web'"]),
    ('prod', [('services.web.healthCheckCommand', ['CMD', ''])],
     ['services.web.healthCheckCommand: names no program: give CMD and the program with its arguments, or CMD-SHELL and one shell command line']),
    ('prod', [('services.web.user', '-1')],
     ["services.web.user: '-1' is not uid[:gid]: use numbers from 1 to 2147483647 or names, such as 1000:1000"]),
    # Silently reinterpreted before: a variable the platform sets for a store.
    ('prod', [('services.orders.secrets.DATABASE_HOST', 'secret:payments-api-key'),
              ('services.orders.environment', {'CACHE_PORT': '6380', 'TABLE_CATALOG': 'x'})],
     ["services.orders.environment.CACHE_PORT: is set by the platform from the cache 'sessions': choose another name",
      "services.orders.environment.TABLE_CATALOG: is set by the platform from the table 'catalog': choose another name",
      "services.orders.secrets.DATABASE_HOST: is set by the platform from the database 'orders-db': choose another name"]),
    ('prod', [('functions.catalog.environment', {'TABLE_CATALOG': 'prod-other'})],
     ["functions.catalog.environment.TABLE_CATALOG: is set by the platform from the table 'catalog': choose another name"]),
    # Silently reinterpreted before.
    ('prod', [('tags.extra', {'environment': 'production'})],
     ["tags.extra.environment: the platform sets 'environment' itself: choose another key"]),
    ('prod', [('loadBalancer.internal', True)],
     ['loadBalancer.internal: the public load balancer is internet-facing; services are internal unless visibility: public: remove internal']),
    ('prod', [('services.web.priority', True)],
     ['services.web.priority: must be a whole number (got true)']),
    # Crashed inside a component before.
    ('prod', [('network.availabilityZones', ['us-east-1a', 'us-east-1b', 'us-east-1c'])],
     ["network.availabilityZones[0]: 'us-east-1a' is in another region than eu-west-1: use zones of eu-west-1 (eu-west-1a, eu-west-1b, eu-west-1c)",
      "network.availabilityZones[1]: 'us-east-1b' is in another region than eu-west-1: use zones of eu-west-1 (eu-west-1a, eu-west-1b, eu-west-1c)",
      "network.availabilityZones[2]: 'us-east-1c' is in another region than eu-west-1: use zones of eu-west-1 (eu-west-1a, eu-west-1b, eu-west-1c)"]),
    ('prod', [('caches.sessions.auth', 'token')],
     ['caches.sessions.auth: token needs authTokenSecretArn, the Secrets Manager secret holding the token, which a stack file cannot give: use rbac (IAM authentication)']),
    ('prod', [('services.web.image', 'public.ecr.aws/nginx/nginx@sha256:' + 'a' * 64)],
     ["pipelines.web: service 'web' runs an external image (services.web.image): a pipeline builds the service's own image; remove one of them"]),
    ("prod", [("services.orders.visibility", "public"), ("services.orders.paths", ["/*"])],
     ["apis.edge.routes.ANY /orders/{proxy+}.service: 'orders' is not an internal service; "
      "APIs reach services through the internal load balancer (internal services: none)",
      "services.web.paths: path /* on the public load balancer is already routed to service "
      "'orders'"]),
]


@pytest.mark.parametrize(("stack", "mutations", "expected"), INVALID,
                         ids=[" + ".join(p for p, _ in m) for _, m, _ in INVALID])
def test_invalid_config_is_reported_exactly_and_registers_nothing(
        stack: str, mutations: list[tuple[str, Any]], expected: list[str]) -> None:
    assert_rejected(stack, mutations, expected)


def assert_rejected(stack: str, mutations: list[tuple[str, Any]],
                    expected: list[str]) -> None:
    """The mutated stack file fails with exactly ``expected`` (one line per problem), both
    when parsed and through the program, and registers nothing."""
    config = copy.deepcopy(stack_config(stack))
    for path, value in mutations:
        mutate(config, path, value)
    source = f"stacks/Pulumi.{stack}.yaml"
    lines = [f"{source}: {NAMESPACE}:{line}" for line in expected]
    with pytest.raises(SpecError) as err:
        parse_platform_spec(namespace_values(config))
    assert err.value.lines(source) == lines

    # Through the program, as `pulumi up` runs it: a clean error, nothing registered.
    seen: list[Registration] = []
    with pytest.raises(pulumi.RunError) as run_err:
        run_program(stack, config, seen)
    assert str(run_err.value) == "\n".join(lines)
    assert seen == []


def test_table_is_large_enough() -> None:
    assert len(INVALID) >= 30


@pytest.mark.parametrize("stack", STACKS)
def test_stack_builds_the_reference_estate(stack: str) -> None:
    """The whole program runs as a first preview; the estate's parts are all there."""
    registered = run_program(stack, stack_config(stack)).registrations
    components = sorted(r.name for r in registered if r.type.startswith("microservices:"))
    assert f"{stack}-web" in components and f"{stack}-orders" in components
    assert {f"{stack}-catalog", f"{stack}-edge", f"{stack}-orders-db",
            f"{stack}-sessions", f"{stack}-payments-api-key"} <= set(components)
    providers = [r for r in registered if r.type == "pulumi:providers:aws"]
    assert [(p.name, p.inputs["region"]) for p in providers] == [(f"{stack}-aws", "eu-west-1")]
    assert "accessKey" not in providers[0].inputs and "secretKey" not in providers[0].inputs
    # Every other resource uses that provider, never the ambient default one.
    custom = [r for r in registered if r.custom and r.type != "pulumi:providers:aws"]
    assert {r.provider.rsplit("::", 1)[0] for r in custom} == {providers[0].urn}
    stateful = [r for r in registered if r.type in (
        "aws:rds/cluster:Cluster", "aws:dynamodb/table:Table",
        "aws:elasticache/replicationGroup:ReplicationGroup", "aws:kms/key:Key")]
    assert len(stateful) == 5  # key, database, cache, catalog and processed-events tables
    protected = stack == "prod"
    assert {(r.type, r.protect, r.retain_on_delete) for r in stateful} == {
        (r.type, protected, protected) for r in stateful}


def test_store_variables_are_the_ones_the_platform_sets() -> None:
    """The names the stack-file check reserves are exactly those the orders service gets
    from its database, cache and table (besides its own stack secret and its event wiring,
    which the service component itself keeps apart)."""
    config = stack_config("prod")
    container = json.loads(run_program("prod", config).named("prod-orders-taskdef").inputs[
        "containerDefinitions"])[0]
    from_platform = {v["name"] for v in container["environment"] + container["secrets"]}
    orders = config[f"{NAMESPACE}:services"]["orders"]
    assert sorted(from_platform - set(orders.get("environment", {}))) == sorted(
        [*store_variables(orders), "PAYMENTS_API_KEY", "EVENT_BUS_NAME", "EVENT_SOURCE",
         "QUEUE_ORDER_EVENTS_URL", "WORKFLOW_FULFILMENT_ARN"])


def test_reordering_services_changes_no_urn() -> None:
    config = stack_config("dev")
    services = config[f"{NAMESPACE}:services"]
    reordered = {**config, f"{NAMESPACE}:services": dict(reversed(list(services.items())))}
    assert list(reordered[f"{NAMESPACE}:services"]) != list(services)
    first = sorted(r.urn for r in run_program("dev", config).registrations)
    second = sorted(r.urn for r in run_program("dev", reordered).registrations)
    assert first == second


def test_readme_commands_are_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text().split("```sh\n", 1)[1].split("```", 1)[0]
    preflight_cmd, test_cmd = readme.strip().splitlines()
    assert preflight_cmd.endswith("preflight dev")
    assert test_cmd in (ROOT / ".ci" / "run").read_text().splitlines()


def depends_on(resource: Registration, prop: str, by_urn: dict[str, Registration],
               type_: str) -> list[Registration]:
    return [by_urn[u] for u in resource.property_dependencies.get(prop, [])
            if by_urn[u].type == type_]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_hardened_estate_tls_to_tasks_monitoring_logging_signing(stack: str) -> None:
    """What a reviewer checks in the staging and prod previews, resource by resource."""
    registered = run_program(stack, stack_config(stack)).registrations
    by_urn = {r.urn: r for r in registered}

    def of(type_: str) -> list[Registration]:
        return [r for r in registered if r.type == type_]

    # TLS to every task, on both load balancers: traffic and health checks over HTTPS.
    groups = of("aws:lb/targetGroup:TargetGroup")
    assert sorted(g.name for g in groups) == [f"{stack}-orders-tg", f"{stack}-web-tg"]
    for group in groups:
        assert (group.inputs["protocol"], group.inputs["healthCheck"]["protocol"]) == (
            "HTTPS", "HTTPS")
    # Enhanced Monitoring on every Aurora instance, with the role the database made.
    instances = of("aws:rds/clusterInstance:ClusterInstance")
    assert len(instances) >= 2
    for instance in instances:
        assert instance.inputs["monitoringInterval"] == 60
        [role] = depends_on(instance, "monitoringRoleArn", by_urn, "aws:iam/role:Role")
        assert role.name == f"{stack}-orders-db-monitoring"
    # Statement logging in the cluster parameter group, exported with the tier's retention.
    [params] = of("aws:rds/clusterParameterGroup:ClusterParameterGroup")
    values = {p["name"]: p["value"] for p in params.inputs["parameters"]}
    assert (values["log_statement"], values["log_min_duration_statement"]) == ("ddl", "1000")
    exported = [g for g in of("aws:cloudwatch/logGroup:LogGroup")
                if g.inputs["name"].startswith("/aws/rds/")]
    assert [(g.inputs["name"], g.inputs["retentionInDays"]) for g in exported] == [
        (f"/aws/rds/cluster/{stack}-orders-db/postgresql",
         365 if stack == "prod" else 90)]
    # Every function deploys signed code under an enforcing code-signing configuration.
    functions = of("aws:lambda/function:Function")
    assert functions
    for function in functions:
        [config] = depends_on(function, "codeSigningConfigArn", by_urn,
                              "aws:lambda/codeSigningConfig:CodeSigningConfig")
        assert config.inputs["policies"] == {"untrustedArtifactOnDeployment": "Enforce"}
        assert depends_on(function, "s3Key", by_urn, "aws:signer/signingJob:SigningJob")
    # Every bucket logs its access, except the log bucket (the recorded exception).
    logged = {u for r in of("aws:s3/bucketLogging:BucketLogging")
              for u in r.property_dependencies["bucket"]}
    unlogged = sorted(b.name for b in of("aws:s3/bucket:Bucket") if b.urn not in logged)
    assert unlogged == [f"{stack}-logs-bucket"]
    assert len(logged) == len(of("aws:s3/bucket:Bucket")) - 1 >= 4


def test_platform_secret_parameters_join_the_store_endpoints() -> None:
    """orders reads a platform SSM secret and the database and cache endpoints: all three
    reach its container, and its execution role may read exactly those parameters."""
    cap = run_program("prod", stack_config("prod"))
    container = json.loads(cap.named("prod-orders-taskdef").inputs["containerDefinitions"])[0]
    assert [s["name"] for s in container["secrets"]] == [
        "CACHE_HOST", "DATABASE_HOST", "PAYMENTS_API_KEY"]
    statements = json.loads(cap.named("prod-orders-execution-policy").inputs["policy"])[
        "Statement"]
    read = next(s for s in statements if s["Sid"] == "ReadParameters")
    assert sorted(read["Resource"]) == [
        "arn:aws:ssm:eu-west-1:123456789012:parameter/prod-orders-db/endpoint",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/prod-payments-api-key",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/prod-sessions/endpoint"]
