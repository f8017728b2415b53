# The wiring spreads validated spec sections into component Args; mypy cannot follow a
# TypedDict through ``**`` expansion, and each component checks its Args at runtime anyway.
# mypy: disable-error-code="typeddict-item"
"""Platform: one environment's whole estate, composed from a validated :class:`PlatformSpec`.

Order follows the data: the key and the provider first, then the log bucket every other
bucket logs its access to, the network, the cluster and the load balancers; stores before
the services that use them (a service needs a store's endpoint and security group),
services before the functions and APIs that route to them (in staging and prod, functions
deploy only code signed on its way), then delivery and observability, which watch all of
it. Every child is named
``<stack>-<key>`` so reordering a stack file moves no URN, and a stateful child is
protected whenever the tier says so.
"""

from typing import Any

import pulumi
import pulumi_aws as aws

from .alarms import (
    ApiAlarms,
    CacheAlarms,
    DatabaseAlarms,
    FunctionAlarms,
    KubernetesServiceAlarms,
    QueueAlarms,
    RuleAlarms,
    ServiceAlarms,
    TopicAlarms,
    WorkflowAlarms,
)
from .alerting import Alerting
from .api import Api
from .base import child_opts, invoke_opts, type_token
from .buckets import LogBucket
from .cache import Cache
from .cluster import Cluster
from .code_signing import SIGNED_TIERS, CodeSigning
from .container_service import DEFAULTS as SERVICE_DEFAULTS
from .container_service import ContainerService
from .dashboard import Dashboard
from .database import Database
from .eks_cluster import EksCluster
from .encryption import EncryptionKey, key_alias
from .environment import TIERS, global_tags
from .event_bus import EventBus
from .events import EventFlow
from .function import FunctionService
from .github_oidc import GitHubOidc
from .grants import GrantSpec
from .image_repository import ImageRepository
from .kubernetes_service import KubernetesService
from .load_balancer import LoadBalancer
from .load_balancer_controller import LoadBalancerController
from .network import Network, subnet_cidrs
from .pipeline import Pipeline, pipeline_build_role_name, pipeline_service_path
from .secret import Secret
from .spec import (
    PLATFORM_SECRET,
    PlatformSpec,
    internal_services,
    table_variable,
    without_platform_secrets,
)
from .table import Table
from .topic import Topic
from .tracing import Tracing
from .workflow import Workflow

# Services that use the platform key on the account's behalf (besides CloudWatch Logs,
# which the key always admits for the account's log groups).
KEY_SERVICES = ["cloudwatch.amazonaws.com", "delivery.logs.amazonaws.com",
                "events.amazonaws.com", "sns.amazonaws.com", "sqs.amazonaws.com"]


class Platform(pulumi.ComponentResource):
    """A whole environment: network, cluster, load balancers, stores, services, functions,
    APIs, delivery pipelines and observability, from one stack file."""

    public_url: pulumi.Output[str]
    """HTTPS URL of the public load balancer."""
    vpc_id: pulumi.Output[str]
    """The environment's VPC."""
    cluster_name: pulumi.Output[str]
    """The ECS cluster every service runs in."""

    def __init__(self, name: str, spec: PlatformSpec,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Platform"), name, None, opts)
        tier = TIERS[spec["environment"]]
        env = spec["environment"]
        retention = spec.get("log_retention_days", tier.log_retention_days)

        # The one provider every child uses: the region and the global tag layer.
        provider = aws.Provider(f"{name}-aws", aws.ProviderArgs(
            region=spec["region"],
            default_tags=aws.ProviderDefaultTagsArgs(tags=global_tags(env, spec["tags"]))),
            opts=child_opts(self))
        self._opts = lambda: child_opts(self, providers={"aws": provider})

        key = EncryptionKey(f"{name}-key", {
            **spec.get("encryption", {}),
            "service_principals": sorted({*spec.get("encryption", {})
                                          .get("service_principals", []), *KEY_SERVICES}),
            "protect": tier.protect}, opts=self._opts())
        kms = key.key_arn
        # IAM documents name the key by alias, so they are known before the key exists.
        kms_ref = {"kms_key_arn": kms, "kms_key_alias": key_alias(f"{name}-key")}

        # Every other bucket sends its S3 access logs here.
        logs = LogBucket(f"{name}-logs", {
            "source_bucket_prefix": f"{name}-", "log_retention_days": retention,
            "protect": tier.protect}, opts=self._opts())
        log_bucket = {"log_bucket": logs.bucket_name}

        network = Network(f"{name}-network", {
            **spec["network"], "kms_key_arn": kms, "log_retention_days": retention,
            "name_prefix": name}, opts=self._opts())
        cluster = Cluster(f"{name}-cluster", {
            **spec.get("cluster", {}), "kms_key_arn": kms, "log_retention_days": retention,
            "allow_spot": tier.fargate_spot, "name_prefix": name}, opts=self._opts())
        account = aws.get_caller_identity_output(opts=invoke_opts(self)).account_id

        public = LoadBalancer(f"{name}-public", {
            "deletion_protection": tier.deletion_protection, **spec["load_balancer"],
            "internal": False, "vpc_id": network.vpc_id, "vpc_cidr": network.vpc_cidr,
            "subnet_ids": network.public_subnet_ids, "kms_key_arn": kms, **log_bucket,
            "log_retention_days": retention, "protect": tier.protect}, opts=self._opts())
        internal: LoadBalancer | None = None
        if internal_services(spec):
            internal_spec = spec.get("internal_load_balancer") or {
                "certificate_arn": spec["load_balancer"]["certificate_arn"]}
            internal = LoadBalancer(f"{name}-internal", {
                "deletion_protection": tier.deletion_protection, **internal_spec,
                "internal": True, "vpc_id": network.vpc_id, "vpc_cidr": network.vpc_cidr,
                "subnet_ids": network.private_subnet_ids, "kms_key_arn": kms, **log_bucket,
                "log_retention_days": retention, "protect": tier.protect}, opts=self._opts())

        # --- stores --------------------------------------------------------------------
        store_network = {"vpc_id": network.vpc_id, "kms_key_arn": kms,
                         "isolated_subnet_ids": network.subnets_by_tier["isolated"],
                         "environment": env, "protect": tier.protect}
        secrets = {key_: Secret(f"{name}-{key_}", {
            **s, "kms_key_arn": kms, "protect": tier.protect}, opts=self._opts())
            for key_, s in sorted(spec.get("secrets", {}).items())}
        tables = {key_: Table(f"{name}-{key_}", {
            **t, "kms_key_arn": kms, "protect": tier.protect,
            "deletion_protection": tier.deletion_protection}, opts=self._opts())
            for key_, t in sorted(spec.get("tables", {}).items())}
        databases = {key_: Database(f"{name}-{key_}", {
            **{k: v for k, v in d.items() if k != "allowed_services"}, **store_network,
            "availability_zones": network.zones, "log_retention_days": retention,
            "deletion_protection": tier.deletion_protection}, opts=self._opts())
            for key_, d in sorted(spec.get("databases", {}).items())}
        caches = {key_: Cache(f"{name}-{key_}", {
            **{k: v for k, v in c.items() if k != "allowed_services"}, **store_network},
            opts=self._opts())
            for key_, c in sorted(spec.get("caches", {}).items())}

        # --- event flow names: grants and environments below are known at preview -------
        flow = EventFlow(name, spec, spec["region"], account)

        # --- the EKS cluster and its load balancer controller ---------------------------
        az_count = len(network.zones)
        eks: EksCluster | None = None
        controller: LoadBalancerController | None = None
        if "eks" in spec:
            eks = EksCluster(f"{name}-eks", {
                **spec["eks"], "vpc_id": network.vpc_id,
                "subnet_ids": network.subnets_by_tier["private"], "az_count": az_count,
                "require_node_per_az": tier.desired_at_least_az_count,
                "allow_spot": tier.fargate_spot,
                "deletion_protection": tier.deletion_protection, **kms_ref,
                "log_retention_days": retention}, opts=self._opts())
            controller = LoadBalancerController(f"{name}-lb-controller", {
                "cluster_name": f"{name}-eks", "cluster_arn": eks.cluster_arn,
                "vpc_id": network.vpc_id}, opts=self._k8s_opts(provider, eks))
        # Stores admit EKS pods through the nodes' security group; each service's network
        # policy then decides which pods may use the port.
        data_cidrs = [subnet_cidrs(spec["network"]["cidr"], slot)["isolated"]
                      for slot in range(az_count)]

        # --- services ------------------------------------------------------------------
        services: dict[str, ContainerService] = {}
        pods: dict[str, KubernetesService] = {}
        repos: dict[str, ImageRepository] = {}
        for key_, svc in sorted(spec.get("services", {}).items()):
            lb = public if svc.get("visibility", "internal") == "public" else internal
            assert lb is not None  # internal_services() made it
            pipeline_name = f"{name}-{key_}-delivery"
            pushers = ([pulumi.Output.concat("arn:aws:iam::", account, ":role/",
                                             pipeline_build_role_name(pipeline_name))]
                       if key_ in spec.get("pipelines", {}) else [])
            # A service runs its own repository's image, or an external one pinned by
            # digest (then it has no repository and no pipeline).
            image_source: dict[str, Any] = {}
            if "image" not in svc:
                repo = repos[key_] = ImageRepository(f"{name}-{key_}-images", {
                    "repository_name": f"{name}-{key_}", "kms_key_arn": kms,
                    "pusher_role_arns": pushers, "protect": tier.protect},
                    opts=self._opts())
                image_source = {"repository_url": repo.repository_url,
                                "repository_arn": repo.repository_arn}
            grants, environment, parameters, egress = self._service_access(
                name, key_, svc, tables, databases, caches)
            flow_access = flow.access("services", key_)
            grants += flow_access.grants
            environment.update(flow_access.environment)
            # The same settings and the same resolved access, whatever the runtime.
            common: dict[str, Any] = {
                **{k: v for k, v in without_platform_secrets(svc).items()
                   if k not in ("database", "cache", "tables")},
                **self._platform_secrets(svc, secrets, parameters),
                "key": key_, "vpc_id": network.vpc_id, "az_count": az_count,
                "require_task_per_az": tier.desired_at_least_az_count,
                "listener_arn": lb.https_listener_arn,
                **image_source, **kms_ref, "extra_grants": grants,
                "extra_environment": environment,
                "egress": egress, **({"key_actions": flow_access.key_actions}
                                     if flow_access.key_actions else {})}
            if svc.get("runtime") == "eks":
                assert eks is not None and controller is not None  # the spec requires eks
                admitted = eks.admit("public" if lb is public else "internal",
                                     lb.security_group_id,
                                     svc.get("port", SERVICE_DEFAULTS["port"]))
                pods[key_] = KubernetesService(f"{name}-{key_}", {
                    **common, "cluster_name": f"{name}-eks", "cluster_arn": eks.cluster_arn,
                    "vpc_cidr": network.vpc_cidr, "data_cidrs": data_cidrs},
                    opts=self._k8s_opts(provider, eks, depends_on=[controller, admitted]))
                continue
            services[key_] = ContainerService(f"{name}-{key_}", {
                **common, "cluster_arn": cluster.cluster_arn,
                "cluster_name": cluster.cluster_name,
                "subnet_ids": network.subnets_by_tier["private"],
                "load_balancer_security_group_id": lb.security_group_id,
                "load_balancer_arn_suffix": lb.arn_suffix,
                "log_retention_days": retention}, opts=self._opts())
        stores: list[tuple[Any, Any]] = [
            *((databases[k], d) for k, d in sorted(spec.get("databases", {}).items())),
            *((caches[k], c) for k, c in sorted(spec.get("caches", {}).items()))]
        for store, store_spec in stores:
            clients = sorted(store_spec.get("allowed_services", []))
            for client in clients:
                if client in services:
                    store.allow_from(client, services[client].security_group_id)
            if eks is not None and any(client in pods for client in clients):
                store.allow_from(f"{name}-eks-nodes", eks.node_security_group_id)

        # --- functions and APIs ----------------------------------------------------------
        # Staging and prod run only signed code: zips go through AWS Signer on every deploy.
        zipped = sorted(k for k, f in spec.get("functions", {}).items() if "source" in f)
        signing = (CodeSigning(f"{name}-signing", {
            "kms_key_arn": kms, **log_bucket, "protect": tier.protect}, opts=self._opts())
            if zipped and tier.name in SIGNED_TIERS else None)
        functions = {key_: FunctionService(f"{name}-{key_}", {
            **{k: v for k, v in f.items() if k != "tables"},
            "environment": {**f.get("environment", {}), **_table_environment(f, name),
                            **flow.access("functions", key_).environment},
            "extra_grants": _table_grants(f, tables) + flow.access("functions", key_).grants,
            "function_name": f"{name}-{key_}", **kms_ref,
            **({"code_signing": signing.ref()} if signing and key_ in zipped else {}),
            "log_retention_days": retention,
            **({"subnet_ids": network.private_subnet_ids, "vpc_id": network.vpc_id}
               if f.get("vpc") else {})}, opts=self._opts())
            for key_, f in sorted(spec.get("functions", {}).items())}
        apis: dict[str, Api] = {}
        for key_, api in sorted(spec.get("apis", {}).items()):
            routed = {r["function"] for r in api["routes"].values() if "function" in r}
            to_services = sorted({r["service"] for r in api["routes"].values()
                                  if "service" in r})
            apis[key_] = Api(f"{name}-{key_}", {
                **api, "api_name": f"{name}-{key_}", "kms_key_arn": kms,
                "log_retention_days": retention,
                "function_invoke_arns": {k: functions[k].invoke_arn for k in sorted(routed)},
                "function_names": {k: functions[k].function_name for k in sorted(routed)},
                "function_timeouts": {k: spec["functions"][k]["timeout_seconds"]
                                      for k in sorted(routed)},
                **({"service_listener_arns": {
                    k: internal.https_listener_arn for k in to_services},
                    "service_tls_server_name": spec["internal_load_balancer"]["domain_name"],
                    "vpc_link_subnet_ids": network.private_subnet_ids,
                    "vpc_link_security_group_ids": [internal.security_group_id]}
                   if to_services and internal is not None else {})},
                opts=self._opts())

        # --- events and workflows ------------------------------------------------------------
        topics, workflows, bus = self._event_flow(name, spec, flow, functions, services,
                                                  cluster, network, kms_ref, retention)

        # --- delivery ----------------------------------------------------------------------
        for key_, pipe in sorted(spec.get("pipelines", {}).items()):
            delivered = services[key_]
            Pipeline(f"{name}-{key_}-delivery", {
                "approval_before": tier.name == "prod",
                "service_path": pipeline_service_path(key_, pipe), **pipe,
                "repository_name": f"{name}-{key_}",
                "repository_arn": repos[key_].repository_arn,
                "repository_url": delivered.repository_url,
                "cluster_name": f"{name}-cluster",
                "service_name": f"{name}-{key_}", "container_name": key_,
                "task_role_arn": delivered.task_role_arn,
                "execution_role_arn": delivered.execution_role_arn, **kms_ref, **log_bucket,
                "log_retention_days": retention, "protect": tier.protect}, opts=self._opts())
        if "github" in spec:
            GitHubOidc(f"{name}-github", {**spec["github"]}, opts=self._opts())

        # --- observability -----------------------------------------------------------------
        obs: Any = spec.get("observability", {"alerting": {}})
        overrides = obs.get("alarms", {})
        alerting = Alerting(f"{name}-alerts", {**obs["alerting"], "environment": name,
                                               "kms_key_arn": kms}, opts=self._opts())
        notify: dict[str, Any] = {"environment": name, "tier": tier.name,
                                  "topic_arn": alerting.topic_arn,
                  "ok_notifications": alerting.ok_notifications}
        items: list[Any] = []
        for key_, svc_ in services.items():
            lb = public if spec["services"][key_].get("visibility",
                                                      "internal") == "public" else internal
            assert lb is not None
            tg_suffix = svc_.target_group_arn.apply(lambda arn: arn.split(":")[-1])
            ServiceAlarms(f"{name}-{key_}-alarms", {
                **notify, "key": key_, "overrides": overrides.get(key_, {}),
                "cluster_name": cluster.cluster_name, "service_name": svc_.service_name,
                "load_balancer_arn_suffix": lb.arn_suffix,
                "target_group_arn_suffix": tg_suffix}, opts=self._opts())
            items.append({"kind": "service", "key": key_, "dimensions": {
                "cluster_name": cluster.cluster_name, "service_name": svc_.service_name,
                "load_balancer_arn_suffix": lb.arn_suffix,
                "target_group_arn_suffix": tg_suffix}})
        for key_, workload in pods.items():
            lb = public if spec["services"][key_].get("visibility",
                                                      "internal") == "public" else internal
            assert lb is not None and eks is not None
            tg_suffix = workload.target_group_arn.apply(lambda arn: arn.split(":")[-1])
            svc_spec = spec["services"][key_]
            dimensions = {"cluster_name": eks.cluster_name, "namespace": workload.namespace,
                          "service_name": workload.service_name,
                          "load_balancer_arn_suffix": lb.arn_suffix,
                          "target_group_arn_suffix": tg_suffix}
            KubernetesServiceAlarms(f"{name}-{key_}-alarms", {
                **notify, "key": key_, "overrides": overrides.get(key_, {}),
                **dimensions, "min_replicas": svc_spec.get(
                    "min_count", svc_spec.get("desired_count", SERVICE_DEFAULTS[
                        "desired_count"]))}, opts=self._opts())
            items.append({"kind": "kubernetes-service", "key": key_,
                          "dimensions": dimensions})
        for key_, fn in functions.items():
            FunctionAlarms(f"{name}-{key_}-alarms", {
                **notify, "key": key_, "overrides": overrides.get(key_, {}),
                "function_name": fn.function_name,
                "timeout_seconds": spec["functions"][key_]["timeout_seconds"],
                "dlq_queue_name": fn.dead_letter_queue_arn.apply(
                    lambda arn: arn.split(":")[-1])}, opts=self._opts())
            items.append({"kind": "function", "key": key_,
                          "dimensions": {"function_name": fn.function_name}})
        for key_, api_ in apis.items():
            kind = spec["apis"][key_].get("kind", "http")
            ApiAlarms(f"{name}-{key_}-alarms", {
                **notify, "key": key_, "overrides": overrides.get(key_, {}),
                "api_type": kind, "api_id": api_.api_id, "api_name": f"{name}-{key_}",
                "stage": api_.stage_name}, opts=self._opts())
            items.append({"kind": "http-api", "key": key_, "dimensions": {
                "api_id": api_.api_id}} if kind == "http" else {
                "kind": "rest-api", "key": key_, "dimensions": {
                    "api_name": f"{name}-{key_}", "stage": api_.stage_name}})
        for key_ in databases:
            aurora = spec["databases"][key_].get("engine",
                                                 "aurora-postgresql").startswith("aurora")
            DatabaseAlarms(f"{name}-{key_}-alarms", {
                **notify, "key": key_, "overrides": overrides.get(key_, {}),
                "db_identifier": f"{name}-{key_}", "aurora": aurora}, opts=self._opts())
            items.append({"kind": "aurora" if aurora else "database", "key": key_,
                          "dimensions": {"db_identifier": f"{name}-{key_}"}})
        for key_ in caches:
            c = spec["caches"][key_]
            CacheAlarms(f"{name}-{key_}-alarms", {
                **notify, "key": key_, "overrides": overrides.get(key_, {}),
                "replication_group_id": f"{name}-{key_}",
                "node_count": (c.get("replicas_per_shard", 1) + 1) * c.get("shards", 1)},
                opts=self._opts())
            # The primary's node id: ElastiCache numbers a group's nodes <group>-001...
            items.append({"kind": "cache", "key": key_,
                          "dimensions": {"cache_cluster_id": f"{name}-{key_}-001"}})
        items += self._event_alarms(name, spec, flow, notify, overrides, topics, workflows,
                                    bus)
        Dashboard(f"{name}-dashboard", {
            **obs.get("dashboard", {}), "environment": name, "region": spec["region"],
            "items": items}, opts=self._opts())
        Tracing(f"{name}-tracing", {**obs.get("tracing", {}), "environment": name,
                                    "tier": tier.name},
                opts=self._opts())

        self.public_url = pulumi.Output.concat("https://", public.dns_name)
        if eks is not None:
            self._eks_exports = {"eksClusterName": eks.cluster_name,
                                 "kubernetesNamespaces": {k: p.namespace
                                                          for k, p in pods.items()}}
        else:
            self._eks_exports = {}
        self.vpc_id = network.vpc_id
        self.cluster_name = cluster.cluster_name
        self._exports = {
            "publicUrl": self.public_url, "vpcId": network.vpc_id,
            "clusterName": cluster.cluster_name,
            "repositoryUrls": {k: r.repository_url for k, r in repos.items()},
            "apiEndpoints": {k: a.api_endpoint for k, a in apis.items()},
            "alertTopicArn": alerting.topic_arn,
            "topicArns": {k: t.topic_arn for k, t in topics.items()},
            "workflowArns": {k: w.state_machine_arn for k, w in workflows.items()},
            **({"eventBusName": bus.bus_name} if bus is not None else {}),
            **self._eks_exports,
        }
        self.register_outputs({"public_url": self.public_url, "vpc_id": self.vpc_id,
                               "cluster_name": self.cluster_name})

    def _k8s_opts(self, provider: aws.Provider, eks: EksCluster,
                  depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        """Options of a child that creates Kubernetes objects on the cluster."""
        return child_opts(self, providers={"aws": provider, "kubernetes": eks.provider},
                          depends_on=depends_on or [])

    def exports(self) -> dict[str, Any]:
        """Stack outputs: what operators and other stacks need to find the estate."""
        return dict(self._exports)

    def _event_flow(self, name: str, spec: PlatformSpec, flow: EventFlow,
                    functions: dict[str, FunctionService],
                    services: dict[str, ContainerService], cluster: Cluster,
                    network: Network, kms_ref: dict[str, Any], retention: int
                    ) -> tuple[dict[str, Topic], dict[str, Workflow], EventBus | None]:
        """Topics, workflows and the bus, in that order: rules target workflows, and
        workflows name topics. ARNs handed over are the known ones, tied to the resource
        that makes them real so nothing is used before it exists."""
        def known(arn: pulumi.Input[str], owner: pulumi.Resource) -> pulumi.Output[str]:
            return pulumi.Output.all(arn, owner.urn).apply(lambda parts: parts[0])

        account, region = flow.account, flow.region
        fn_arns = {k: known(pulumi.Output.format("arn:aws:lambda:{0}:{1}:function:{2}-{3}",
                                                 region, account, name, k), fn)
                   for k, fn in functions.items()}
        fn_timeouts = {k: f["timeout_seconds"]
                       for k, f in sorted(spec.get("functions", {}).items())}
        topics = {key_: Topic(f"{name}-{key_}", {
            **t, "topic_name": f"{name}-{key_}", "kms_key_arn": kms_ref["kms_key_arn"],
            "function_arns": fn_arns, "function_timeouts": fn_timeouts,
            "event_rule_arns": flow.rules_targeting("topic", key_),
            "queue_event_rule_arns": {
                s: flow.rules_targeting("queue", f"{key_}/{s}")
                for s in sorted(t.get("subscribers", {}))}}, opts=self._opts())
            for key_, t in sorted(flow.topics.items())}
        queues = {q: {"arn": known(info["arn"], topics[q.split("/")[0]]),
                      "url": known(info["url"], topics[q.split("/")[0]])}
                  for q, info in flow.queues.items()}
        cluster_arn = known(pulumi.Output.format("arn:aws:ecs:{0}:{1}:cluster/{2}-cluster",
                                                 region, account, name), cluster)
        domain = spec["load_balancer"].get("domain_name")
        workflow_services = {k: {
            "task_definition_family": f"{name}-{k}", "cluster_arn": cluster_arn,
            "cluster_name": f"{name}-cluster",
            "subnet_ids": network.subnets_by_tier["private"],
            "security_group_id": svc.security_group_id, "task_role_arn": svc.task_role_arn,
            "execution_role_arn": svc.execution_role_arn,
            **({"url": f"https://{domain}"} if domain and spec["services"][k].get(
                "visibility", "internal") == "public" else {})}
            for k, svc in services.items()}
        workflows = {key_: Workflow(f"{name}-{key_}", {
            **w, "state_machine_name": f"{name}-{key_}", **kms_ref,
            "log_retention_days": retention, "functions": fn_arns,
            "function_timeouts": fn_timeouts, "services": workflow_services,
            "topics": {k: t.topic_arn for k, t in topics.items()}, "queues": queues},
            opts=self._opts())
            for key_, w in sorted(flow.workflows.items())}
        bus = None
        if flow.bus is not None:
            bus = EventBus(f"{name}-events", {
                **flow.bus, "bus_name": flow.bus_name, **kms_ref,
                "topics": {k: t.topic_arn for k, t in topics.items()},
                "queues": {q: v["arn"] for q, v in queues.items()},
                "fifo_queues": sorted(q for q, v in flow.queues.items() if v["fifo"]),
                "functions": fn_arns,
                "workflows": {k: w.state_machine_arn for k, w in workflows.items()}},
                opts=self._opts())
        return topics, workflows, bus

    def _event_alarms(self, name: str, spec: PlatformSpec, flow: EventFlow,
                      notify: dict[str, Any], overrides: dict[str, Any],
                      topics: dict[str, Topic], workflows: dict[str, Workflow],
                      bus: EventBus | None) -> list[Any]:
        """Alarms of the event flow; the dashboard items that show it."""
        items: list[Any] = []
        for i, (key_, topic) in enumerate(sorted(topics.items())):
            TopicAlarms(f"{name}-{key_}-alarms", {
                **notify, "key": key_, "overrides": overrides.get(key_, {}),
                "monitored_topic_name": topic.topic_name, "publish_throttles": i == 0},
                opts=self._opts())
            items.append({"kind": "topic", "key": key_,
                          "dimensions": {"topic_name": topic.topic_name}})
        for queue_key, queue in sorted(flow.queues.items()):
            key_ = queue_key.replace("/", "-")
            QueueAlarms(f"{name}-{key_}-alarms", {
                **notify, "key": key_, "overrides": overrides.get(key_, {}),
                "queue_name": queue["name"],
                **({"dlq_queue_name": queue["dlq"]} if queue["dlq"] else {})},
                opts=self._opts())
            items.append({"kind": "queue", "key": key_, "dimensions": {
                "queue_name": queue["name"], "dlq_queue_name": queue["dlq"] or ""}})
        for key_, workflow in sorted(workflows.items()):
            WorkflowAlarms(f"{name}-{key_}-alarms", {
                **notify, "key": key_, "overrides": overrides.get(key_, {}),
                "state_machine_arn": workflow.state_machine_arn}, opts=self._opts())
            items.append({"kind": "workflow", "key": key_, "dimensions": {
                "state_machine_arn": workflow.state_machine_arn}})
        if bus is not None:
            for key_ in sorted((flow.bus or {}).get("rules", {})):
                rule_name = f"{flow.bus_name}-{key_}"
                RuleAlarms(f"{name}-{key_}-alarms", {
                    **notify, "key": key_, "overrides": overrides.get(key_, {}),
                    "event_bus_name": flow.bus_name, "rule_name": rule_name},
                    opts=self._opts())
                items.append({"kind": "rule", "key": key_, "dimensions": {
                    "event_bus_name": flow.bus_name, "rule_name": rule_name}})
            QueueAlarms(f"{name}-events-dlq-alarms", {
                **notify, "key": "events", "overrides": overrides.get("events", {}),
                "dlq_queue_name": f"{flow.bus_name}-dlq"}, opts=self._opts())
        return items

    @staticmethod
    def _service_access(stack: str, key: str, svc: Any, tables: dict[str, Table],
                        databases: dict[str, Database], caches: dict[str, Cache]
                        ) -> tuple[list[GrantSpec], dict[str, Any], dict[str, Any],
                                   dict[str, Any]]:
        """What a service's references to stores become: grants, environment, egress."""
        grants: list[GrantSpec] = []
        environment: dict[str, Any] = {}
        parameters: dict[str, Any] = {}
        egress: dict[str, Any] = {}
        grants += _table_grants(svc, tables)
        environment.update(_table_environment(svc, stack))
        if "database" in svc:
            db = databases[svc["database"]]
            # IAM database authentication as a user named after the service: no password.
            grants.append(db.connect_grant(key))
            environment["DATABASE_USER"] = key
            environment["DATABASE_PORT"] = str(db.client_port)
            parameters["DATABASE_HOST"] = db.endpoint_parameter_arn
            egress["database"] = {"security_group_id": db.security_group_id,
                                  "port": db.client_port}
        if "cache" in svc:
            cache = caches[svc["cache"]]
            environment["CACHE_PORT"] = str(cache.client_port)
            parameters["CACHE_HOST"] = cache.endpoint_parameter_arn
            egress["cache"] = {"security_group_id": cache.security_group_id,
                               "port": cache.client_port}
        return grants, environment, parameters, egress

    @staticmethod
    def _platform_secrets(svc: Any, secrets: dict[str, Secret],
                          store_parameters: dict[str, Any]) -> dict[str, Any]:
        """``secret:<key>`` references, resolved: SSM parameters (ARN known at preview) and
        Secrets Manager secrets (ARN known once created) go to their own channels; the
        parameters join the ones the service's stores publish (endpoints; the spec keeps
        their names apart: ``store_variables``)."""
        parameters: dict[str, Any] = {}
        managed: dict[str, Any] = {}
        for var, ref in sorted(svc.get("secrets", {}).items()):
            if ref.startswith(PLATFORM_SECRET):
                secret = secrets[ref[len(PLATFORM_SECRET):]]
                (parameters if secret.kind == "parameter" else managed)[var] = secret.arn
        return {"extra_secrets": managed,
                "extra_parameters": {**store_parameters, **parameters}}


def _table_grants(workload: Any, tables: dict[str, Table]) -> list[GrantSpec]:
    return [{"kind": "table", "arn": tables[key].table_arn, "access": access}
            for key, access in sorted(workload.get("tables", {}).items())]


def _table_environment(workload: Any, stack: str) -> dict[str, str]:
    """``TABLE_<KEY>`` -> the table's name: a Table's physical name is its component name,
    ``<stack>-<key>``, so the value is plain text and known at preview."""
    return {table_variable(key): f"{stack}-{key}" for key in sorted(workload.get("tables", {}))}
