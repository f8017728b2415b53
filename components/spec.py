"""The platform spec: everything a stack file may say under the project's config namespace.

Structure (types, required keys, unknown keys) is validated by pydantic against the very
TypedDicts the components take; meaning (ranges, formats, cross-field rules) by the
components' own ``check_*`` functions plus the cross-component rules below. Every problem is
collected in one pass and reported one line each, naming file, key path, what is wrong and
what is allowed.
"""


import json
import os
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NotRequired

import pydantic
from pydantic import ConfigDict, TypeAdapter
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict

from .alerting import ObservabilitySpec, check_observability
from .api import ApiSpec, check_api
from .cache import CacheSpec, check_cache
from .cluster import ClusterSpec, check_cluster
from .container_service import RUNTIMES, ServiceSpec, check_service, default_priority
from .database import DatabaseSpec, check_database
from .eks_cluster import (
    EksClusterSpec,
    check_capacity,
    check_eks_cluster,
    node_architectures,
)
from .encryption import EncryptionKeySpec, check_encryption_key
from .environment import LOG_RETENTION_DAYS, TIERS, TagsSpec, Tier, check_tags
from .events import EventsSpec, check_event_flow, check_events, queue_keys
from .function import FunctionSpec, check_function
from .github_oidc import GitHubOidcSpec, check_github_oidc
from .kubernetes_service import KUBE_ARCH, RESERVED_NAMESPACES, check_kubernetes_service
from .load_balancer import CERTIFICATE_ARN_RE, LoadBalancerSpec, check_load_balancer
from .network import AZ_RE, MAX_AZ_SLOTS, NetworkSpec, check_network
from .pipeline import PipelineSpec, check_pipeline, pipeline_service_path
from .regions import REGION_RE, REGIONS
from .secret import SecretSpec, check_secret
from .table import TableSpec, check_table
from .validation import (
    Problem,
    check_choice,
    check_key,
    config_path,
    credential_reason,
    did_you_mean,
)
from .workflow import WorkflowSpec, check_workflow

NAMESPACE = "microservices-platform"


class PlatformSpec(TypedDict):
    """A whole environment's estate, as one stack file describes it."""

    environment: str
    """Tier whose rules apply: ``dev``, ``staging`` or ``prod``."""
    region: str
    """AWS region to deploy to, e.g. ``eu-west-1``."""
    tags: TagsSpec
    """Ownership and cost tags applied to every resource."""
    network: NetworkSpec
    """The VPC and its subnets."""
    log_retention_days: NotRequired[int]
    """CloudWatch Logs retention; default and minimum come from the tier."""
    encryption: NotRequired[EncryptionKeySpec]
    """The platform's customer-managed KMS key."""
    cluster: NotRequired[ClusterSpec]
    """The ECS cluster."""
    eks: NotRequired[EksClusterSpec]
    """The EKS cluster that services with ``runtime: eks`` run on."""
    load_balancer: LoadBalancerSpec
    """The shared public HTTPS entry."""
    internal_load_balancer: NotRequired[LoadBalancerSpec]
    """Service-to-service entry (default: the public one's certificate, internal)."""
    services: NotRequired[dict[str, ServiceSpec]]
    """Services by key, on ECS Fargate or (``runtime: eks``) on the EKS cluster."""
    functions: NotRequired[dict[str, FunctionSpec]]
    """Lambda functions by key."""
    apis: NotRequired[dict[str, ApiSpec]]
    """API Gateway edges by key."""
    tables: NotRequired[dict[str, TableSpec]]
    """DynamoDB tables by key."""
    databases: NotRequired[dict[str, DatabaseSpec]]
    """Aurora / RDS databases by key."""
    caches: NotRequired[dict[str, CacheSpec]]
    """ElastiCache replication groups by key."""
    secrets: NotRequired[dict[str, SecretSpec]]
    """Secrets Manager secrets and SSM parameters by key."""
    pipelines: NotRequired[dict[str, PipelineSpec]]
    """Delivery pipelines by the key of the service they deliver."""
    github: NotRequired[GitHubOidcSpec]
    """GitHub Actions OIDC trust and deploy roles."""
    observability: NotRequired[ObservabilitySpec]
    """Alerting, alarm overrides, dashboard and tracing."""
    events: NotRequired[EventsSpec]
    """Topics, subscriptions and the event bus between services and functions."""
    workflows: NotRequired[dict[str, WorkflowSpec]]
    """Step Functions workflows by key."""


class SpecError(Exception):
    """The stack configuration is invalid; ``problems`` holds every finding."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = sorted(problems, key=lambda p: (config_path(p.path), p.message))
        super().__init__(f"{len(self.problems)} configuration problem(s)")

    def lines(self, source: str) -> list[str]:
        """One line per problem: ``<file>: <namespace>:<key.path>: <what is wrong>``
        (a key of another namespace is named in full). A value quoted in a message never
        breaks the line."""
        out = []
        for p in self.problems:
            key = config_path(p.path)
            full = key if p.path and ":" in str(p.path[0]) else f"{NAMESPACE}:{key}"
            out.append(f"{source}: {full}: {p.message}".replace("\r", "\\r")
                       .replace("\n", "\\n"))
        return out


# --- structure: pydantic over the component TypedDicts -------------------------------------

_CONFIG = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False,
                     strict=True)


def _configure(tp: Any, seen: set[int]) -> None:
    """Give every TypedDict reachable from ``tp`` the stack-file dialect (camelCase, no
    unknown keys). Set here so component modules stay free of pydantic."""
    if id(tp) in seen:
        return
    seen.add(id(tp))
    if hasattr(tp, "__required_keys__"):
        tp.__pydantic_config__ = _CONFIG
        for hint in typing.get_type_hints(tp).values():
            _configure(hint, seen)
    for arg in typing.get_args(tp):
        _configure(arg, seen)


_configure(PlatformSpec, set())
_FIELDS = typing.get_type_hints(PlatformSpec)
_ALIASES = {to_camel(name): name for name in _FIELDS}
# One adapter per top-level section, so a broken section does not hide problems elsewhere,
# and one per entry of the keyed sections (services, functions, ...), for the same reason.
_ADAPTERS = {name: TypeAdapter(tp) for name, tp in _FIELDS.items()}
_ENTRY_ADAPTERS = {name: TypeAdapter(typing.get_args(tp)[1]) for name, tp in _FIELDS.items()
                   if typing.get_origin(tp) is dict}


def _fields_at(path: Sequence[Any]) -> list[str] | None:
    """The camelCase keys allowed at ``path`` (a pydantic loc), for 'what is allowed'."""
    tp: Any = PlatformSpec
    for item in path:
        if hasattr(tp, "__required_keys__"):
            by_alias = {to_camel(k): v for k, v in typing.get_type_hints(tp).items()}
            if item not in by_alias:
                return None
            tp = by_alias[item]
        elif typing.get_origin(tp) in (dict, list):
            tp = typing.get_args(tp)[-1]
        else:
            return None
    if hasattr(tp, "__required_keys__"):
        return [to_camel(k) for k in typing.get_type_hints(tp)]
    return None


_TYPE_WORDS = {
    "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "string_type": "a string",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "dict_type": "a mapping", "list_type": "a list", "float_type": "a number",
    "float_parsing": "a number", "typed_dict_type": "a mapping",
    "finite_number": "a finite number",
}


def _from_pydantic(err: Mapping[str, Any], prefix: tuple[str, ...]) -> Problem:
    loc = (*prefix, *err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        *parent, key = loc
        allowed = _fields_at(parent) or []
        if credential_reason(str(key), "value"):
            return Problem(loc, "unknown key: credentials never go in a stack file; the "
                                "platform keeps them in Secrets Manager (databases manage "
                                "their own master password) and services reference them")
        hint = did_you_mean(str(key), allowed)
        return Problem(loc, f"unknown key{hint}; allowed keys: {', '.join(allowed)}")
    if kind == "missing":
        return Problem(loc, "required key is missing")
    if kind in _TYPE_WORDS:
        return Problem(loc, f"must be {_TYPE_WORDS[kind]} (got {_shown(err['input'])})")
    return Problem(loc, str(err["msg"]))


# --- entry points --------------------------------------------------------------------------

def parse_value(raw: Any) -> Any:
    """Pulumi hands structured config over as JSON text and scalars as strings."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def namespace_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"microservices-platform:network": "{...}"}`` -> ``{"network": {...}}``."""
    prefix = NAMESPACE + ":"
    return {k[len(prefix):]: parse_value(v) for k, v in config.items() if k.startswith(prefix)}


def parse_platform_spec(values: Mapping[str, Any], root: str | None = None) -> PlatformSpec:
    """Validate the namespace's values; return the spec with Python field names. With
    ``root`` (the project directory), paths the spec names must exist inside it.

    Raises :class:`SpecError` listing every problem found: each section is checked on its
    own, so one broken section does not hide the problems of another."""
    problems: list[Problem] = []
    parsed: dict[str, Any] = {}
    for key, raw in values.items():
        name = _ALIASES.get(key)
        if name is None:
            problems.append(Problem((key,), f"unknown key{did_you_mean(key, _ALIASES)}; "
                                            f"allowed keys: {', '.join(_ALIASES)}"))
            continue
        controls = _control_characters(raw, (name,))
        if controls:
            problems += controls
            parsed[name] = None  # present but broken: skip the rules that need it
            continue
        if name in _ENTRY_ADAPTERS and isinstance(raw, dict):
            # Keyed sections entry by entry: a broken entry keeps its key (so references
            # to it do not cascade into more errors) but skips the rules that need it.
            entries: dict[str, Any] = {}
            for key, entry in raw.items():
                try:
                    entries[key] = _ENTRY_ADAPTERS[name].validate_python(entry)
                except pydantic.ValidationError as exc:
                    problems += [_from_pydantic(e, (name, key)) for e in exc.errors()]
                    entries[key] = None
            parsed[name] = entries
            continue
        try:
            parsed[name] = _ADAPTERS[name].validate_python(raw)
        except pydantic.ValidationError as exc:
            problems += [_from_pydantic(e, (name,)) for e in exc.errors()]
            parsed[name] = None  # present but broken: skip the rules that need it
    for name in PlatformSpec.__required_keys__:
        if name not in parsed:
            problems.append(Problem((name,), "required key is missing"))
    problems += check_platform(parsed)
    if root is not None:
        problems += _check_paths(parsed, root)
    if problems:
        raise SpecError(problems)
    return typing.cast(PlatformSpec, parsed)


def parse_stack_config(config: Mapping[str, Any], root: str | None = None,
                       secret_keys: Sequence[str] = ()) -> PlatformSpec:
    """The whole stack config as the program receives it: the platform's namespace
    validated (:func:`parse_platform_spec`), and every other key refused, since nothing
    would read it (the platform's resources all use its own provider, configured from
    this namespace)."""
    problems = _foreign_keys(config, secret_keys)
    try:
        spec = parse_platform_spec(namespace_values(config), root)
    except SpecError as exc:
        problems += exc.problems
    if problems:
        raise SpecError(problems)
    return spec


_ENGINE_NAMESPACES = ("pulumi",)
"""Namespaces the Pulumi engine itself reads (``pulumi:disable-default-providers``)."""


def _foreign_keys(config: Mapping[str, Any], secret_keys: Sequence[str]) -> list[Problem]:
    problems = []
    for key in sorted(config):
        namespace, _, name = key.partition(":")
        if namespace in (NAMESPACE, *_ENGINE_NAMESPACES):
            continue
        if credential_reason(name, "x") and key not in secret_keys:
            why = ("static credentials never go in a stack file: deploy with OIDC or an IAM "
                   "role, and remove it")
        elif namespace == "aws":
            why = (f"not read: every resource uses the platform's own AWS provider, "
                   f"configured from {NAMESPACE}:region; remove it")
        else:
            close = did_you_mean(namespace, [NAMESPACE]).replace(
                f"'{NAMESPACE}'", f"'{NAMESPACE}:{name}'")
            why = (f"not read: the platform reads only {NAMESPACE}:* settings{close}; move "
                   "it there or remove it")
        problems.append(Problem((key,), why))
    return problems


def _control_characters(value: Any, path: tuple[Any, ...]) -> list[Problem]:
    """Strings hold no line breaks or other control characters: a trailing newline slips
    past a pattern's ``$`` and on into AWS names."""
    if isinstance(value, str):
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            return [Problem(path, f"{_shown(value)} contains a line break or another control "
                                  "character: remove it")]
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _control_characters(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _control_characters(v, (*path, i))]
    return []


def _shown(value: Any) -> str:
    """A value as quoted in a message: JSON, one line, at most 60 characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# Per-section rules: each component's own check, run on every section that parsed.
_SECTION_CHECKS: dict[str, Callable[[Any], list[Problem]]] = {
    "network": check_network,
    "encryption": check_encryption_key,
    "cluster": check_cluster,
    "eks": check_eks_cluster,
    "load_balancer": check_load_balancer,
    "internal_load_balancer": check_load_balancer,
    "github": check_github_oidc,
    "events": check_events,
}
# Keyed sections: every key becomes part of AWS names; each entry gets its component's check.
_KEYED_CHECKS: dict[str, Callable[[Any], list[Problem]]] = {
    "functions": check_function,
    "apis": check_api,
    "tables": check_table,
    "secrets": check_secret,
    "pipelines": check_pipeline,
    "workflows": check_workflow,
}
# Kinds for observability (alarm overrides name one of these keys).
_MONITORED = {"services": "service", "functions": "function", "apis": "api",
              "databases": "database", "caches": "cache"}


def check_platform(spec: Mapping[str, Any]) -> list[Problem]:
    """Semantic rules over whatever sections parsed: the components' own checks, then the
    rules that span sections. A missing or broken section silences only the rules that
    need it."""
    problems: list[Problem] = []
    ok = {name for name, value in spec.items() if value is not None}
    if "environment" in ok:
        problems += check_choice(("environment",), spec["environment"], list(TIERS))
    if "region" in ok:
        problems += _check_region(spec["region"])
    if "tags" in ok:
        problems += [p.under("tags") for p in check_tags(spec["tags"])]
    for name, check in _SECTION_CHECKS.items():
        if name in ok:
            problems += [p.under(name) for p in check(spec[name])]
    for name, internal in (("load_balancer", False), ("internal_load_balancer", True)):
        if name in ok and spec[name].get("internal", internal) != internal:
            problems.append(Problem((name, "internal"), (
                "the public load balancer is internet-facing; services are internal unless "
                "visibility: public: remove internal" if not internal else
                "the internal load balancer is never internet-facing: remove internal")))
    for name, check in _KEYED_CHECKS.items():
        for key, item in spec[name].items() if name in ok else ():
            problems += check_key((name, key), key)
            if item is not None:
                problems += [p.under(name, key) for p in check(item)]
    if "log_retention_days" in ok and spec["log_retention_days"] not in LOG_RETENTION_DAYS:
        problems.append(Problem(("log_retention_days",),
                                f"{spec['log_retention_days']} is not a CloudWatch Logs "
                                f"retention; use one of {', '.join(map(str, LOG_RETENTION_DAYS))}"))
    tier = TIERS.get(spec["environment"]) if "environment" in ok else None
    if tier is not None:
        problems += _check_tier(spec, ok, tier)
    problems += _check_references(spec, ok)
    problems += check_event_flow(spec, ok)
    problems += _check_reachability(spec, ok)
    problems += _check_placement(spec, ok)
    if "observability" in ok:
        monitored = {key: kind for section, kind in _MONITORED.items() if section in ok
                     for key in spec[section]}
        monitored.update(_event_monitored(spec, ok))
        problems += [p.under("observability") for p in check_observability(
            spec["observability"], monitored, spec.get("environment") or "prod")]
    return problems


def _event_monitored(spec: Mapping[str, Any], ok: set[str]) -> dict[str, str]:
    """Alarm-override keys of the event flow: topics, subscription queues
    (``<topic>-<subscriber>``), bus rules and workflows."""
    events = (spec.get("events") or {}) if "events" in ok else {}
    found = {key: "topic" for key in events.get("topics") or {}}
    found.update({key.replace("/", "-"): "queue" for key in queue_keys(events)})
    found.update({key: "rule" for key in (events.get("bus") or {}).get("rules", {})})
    if "workflows" in ok:
        found.update({key: "workflow" for key in spec["workflows"]})
    return found


def internal_services(spec: Mapping[str, Any]) -> list[str]:
    """Keys of services reached through the internal load balancer (the default)."""
    return sorted(key for key, svc in (spec.get("services") or {}).items()
                  if (svc or {}).get("visibility", "internal") == "internal")


def _check_references(spec: Mapping[str, Any], ok: set[str]) -> list[Problem]:
    """Keys that name other keys must name ones that exist; routes must not collide."""
    problems: list[Problem] = []

    def keys(section: str) -> list[str]:
        return sorted(spec[section]) if section in ok else []

    services = spec["services"] if "services" in ok else {}
    functions = spec["functions"] if "functions" in ok else {}
    for section, workloads in (("services", services), ("functions", functions)):
        for key, workload in sorted(workloads.items()):
            if workload is None:
                continue
            for table, access in sorted(workload.get("tables", {}).items()):
                if table not in keys("tables"):
                    problems.append(Problem((section, key, "tables", table),
                                            _missing(table, "tables", keys("tables"))))
                if section == "functions":  # check_service covers services' own
                    problems += check_choice((section, key, "tables", table), access,
                                             ("read", "write", "read_write"))
    for key, svc in sorted(services.items()):
        if svc is None:
            continue
        for field, section in (("database", "databases"), ("cache", "caches")):
            if field in svc and svc[field] not in keys(section):
                problems.append(Problem(("services", key, field), _missing(
                    svc[field], section, keys(section))))
        for var, ref in sorted(svc.get("secrets", {}).items()):
            secret = ref[len(PLATFORM_SECRET):]
            if ref.startswith(PLATFORM_SECRET) and secret not in keys("secrets"):
                problems.append(Problem(("services", key, "secrets", var),
                                        _missing(secret, "secrets", keys("secrets"))))
    for section, workloads in (("services", services), ("functions", functions)):
        for key, workload in sorted(workloads.items()):
            taken = store_variables(workload or {})
            for field in ("environment", "secrets"):
                for var in sorted(set((workload or {}).get(field, {})) & set(taken)):
                    problems.append(Problem((section, key, field, var), (
                        f"is set by the platform from the {taken[var]}: choose another "
                        "name")))
    for section in ("databases", "caches"):
        for key, store in sorted((spec[section] if section in ok else {}).items()):
            if store is None:
                continue
            for i, client in enumerate(store.get("allowed_services", [])):
                if client not in services:
                    problems.append(Problem((section, key, "allowed_services", i),
                                            _missing(client, "services", sorted(services))))
    for key in keys("pipelines"):
        if key not in services:
            problems.append(Problem(("pipelines", key), "delivers no service: "
                                    + _missing(key, "services", sorted(services))))
        elif (services[key] or {}).get("runtime") == "eks":
            problems.append(Problem(("pipelines", key), f"service '{key}' runs on eks and a "
                                    "pipeline deploys to ECS: deploy it by setting its "
                                    "imageDigest, or remove the pipeline"))
        elif (services[key] or {}).get("image"):
            problems.append(Problem(("pipelines", key), (
                f"service '{key}' runs an external image (services.{key}.image): a pipeline "
                "builds the service's own image; remove one of them")))
    for key, api in sorted((spec["apis"] if "apis" in ok else {}).items()):
        if api is None:
            continue
        for route, target in sorted(api.get("routes", {}).items()):
            fn, svc = target.get("function"), target.get("service")
            if fn is not None and fn not in keys("functions"):
                problems.append(Problem(("apis", key, "routes", route, "function"),
                                        _missing(fn, "functions", keys("functions"))))
            internal_domain = ((spec.get("internal_load_balancer") or {}).get("domain_name")
                               if "internal_load_balancer" in ok else None)
            if svc is not None and internal_domain is None:
                problems.append(Problem(("apis", key, "routes", route, "service"),
                                        "routes to a service need internalLoadBalancer."
                                        "domainName: the name its certificate covers, which "
                                        "the VPC link verifies"))
            if svc is not None and svc not in internal_services(spec):
                problems.append(Problem(("apis", key, "routes", route, "service"),
                                        f"'{svc}' is not an internal service; APIs reach "
                                        f"services through the internal load balancer "
                                        f"(internal services: "
                                        f"{', '.join(internal_services(spec)) or 'none'})"))
    problems += _check_routes(services)
    return problems


def _check_region(region: str) -> list[Problem]:
    if not REGION_RE.fullmatch(region):
        return [Problem(("region",), f"'{region}' is not an AWS region name (e.g. "
                                     "eu-west-1)")]
    if region not in REGIONS:
        return [Problem(("region",), f"'{region}' is not a region the platform knows "
                                     f"(components/regions.py): use one of "
                                     f"{', '.join(sorted(REGIONS))}, or add it there"
                                     f"{did_you_mean(region, list(REGIONS))}")]
    return []


def _check_reachability(spec: Mapping[str, Any], ok: set[str]) -> list[Problem]:
    """A service that uses a store is admitted by it, and a store admits only services that
    use it: either half alone leaves a grant nobody can use or a door nobody opens."""
    problems: list[Problem] = []
    services = spec["services"] if "services" in ok else {}
    for section, field in (("databases", "database"), ("caches", "cache")):
        stores = spec[section] if section in ok else {}
        for key, svc in sorted(services.items()):
            store = stores.get((svc or {}).get(field))
            if store is not None and key not in store.get("allowed_services", []):
                problems.append(Problem(("services", key, field), (
                    f"'{svc[field]}' does not admit '{key}': add '{key}' to "
                    f"{section}.{svc[field]}.allowedServices")))
        for name, store in sorted(stores.items()):
            for i, client in enumerate((store or {}).get("allowed_services", [])):
                svc = services.get(client)
                # A service naming a store that does not exist is reported as such.
                if svc is not None and svc.get(field) in (None, *(k for k in stores
                                                                  if k != name)):
                    problems.append(Problem((section, name, "allowed_services", i), (
                        f"admits '{client}', which does not use it: set services.{client}."
                        f"{field}: {name}, or remove '{client}'")))
    return problems


def _check_placement(spec: Mapping[str, Any], ok: set[str]) -> list[Problem]:
    """Zones and certificates belong to the stack's region, partition and account."""
    region = REGIONS.get(spec["region"]) if "region" in ok else None
    if region is None:
        return []
    problems: list[Problem] = []
    network = spec["network"] if "network" in ok else None
    if network is not None:
        zones = network.get("availability_zones")
        count = network.get("az_count", len(zones) if zones else 3)
        if len(region.zones) < count <= MAX_AZ_SLOTS:
            problems.append(Problem(("network", "az_count"), (
                f"{region.name} has {len(region.zones)} availability zones "
                f"({', '.join(region.zones)}); use azCount {len(region.zones)} or fewer")))
        for i, zone in enumerate(zones or []):
            match = AZ_RE.match(zone)
            if match and zone not in region.zones:
                where = ("is not a zone of" if match.group(1) == region.name
                         else "is in another region than")
                problems.append(Problem(("network", "availability_zones", i), (
                    f"'{zone}' {where} {region.name}: use zones of {region.name} "
                    f"({', '.join(region.zones)})")))
    certificates = {}
    for section in ("load_balancer", "internal_load_balancer"):
        arn = spec[section].get("certificate_arn") if section in ok else None
        if not isinstance(arn, str) or not CERTIFICATE_ARN_RE.match(arn):
            continue
        _, partition, _, cert_region, account, _ = arn.split(":", 5)
        certificates[section] = account
        path = (section, "certificate_arn")
        if partition != region.partition:
            problems.append(Problem(path, (
                f"is in partition {partition}, but {region.name} is in {region.partition}: "
                f"use a certificate of {region.name}")))
        elif cert_region != region.name:
            problems.append(Problem(path, (
                f"is in {cert_region}, but the load balancer is in {region.name}: a load "
                f"balancer uses certificates of its own region; request or import one in "
                f"{region.name}")))
    if len(set(certificates.values())) > 1:
        problems.append(Problem(("internal_load_balancer", "certificate_arn"), (
            f"is in account {certificates['internal_load_balancer']}, the public load "
            f"balancer's in {certificates['load_balancer']}: both load balancers are in the "
            "stack's one account, and ACM certificates cannot be shared across accounts")))
    return problems


def _check_paths(spec: Mapping[str, Any], root: str) -> list[Problem]:
    """Directories the spec names exist inside the project: a function's code is zipped
    and uploaded as it stands, so ``/etc`` or ``../..`` would ship whatever is there."""
    problems: list[Problem] = []
    for key, fn in sorted((spec.get("functions") or {}).items()):
        if fn is not None and "source" in fn:
            problems += _project_directory(("functions", key, "source"), fn["source"], root,
                                           "the function's code")
    services = spec.get("services") or {}
    for key, pipe in sorted((spec.get("pipelines") or {}).items()):
        if pipe is None:
            continue
        if key not in services or (services[key] or {}).get("image"):
            continue  # reported by the reference checks
        service_path = pipeline_service_path(key, pipe)
        found = _project_directory(("pipelines", key, "service_path"), service_path, root,
                                   f"service '{key}''s source (Dockerfile, buildspec.yml)")
        problems += found
        if not found and not os.path.isfile(os.path.join(root, service_path, "Dockerfile")):
            problems.append(Problem(("pipelines", key, "service_path"), (
                f"{service_path} has no Dockerfile: the build needs one (copy services/web)")))
    return problems


def _project_directory(path: tuple[Any, ...], value: str, root: str,
                       what: str) -> list[Problem]:
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(base, value))
    if not value.strip() or target == base:
        return [Problem(path, f"{_shown(value)} is the whole project: name the directory of "
                              f"{what}")]
    if os.path.isabs(value) or os.path.commonpath([base, target]) != base:
        return [Problem(path, f"{_shown(value)} is outside the project: name a directory "
                              "inside it, relative to Pulumi.yaml")]
    if not os.path.isdir(target):
        return [Problem(path, f"{_shown(value)} does not exist in the project: create it "
                              f"with {what}, or fix the path")]
    return []


PLATFORM_SECRET = "secret:"
"""Prefix of a service secret that names a secret of this stack (``secret:<key>``) rather
than an ARN; the Platform resolves it to that secret's ARN."""


def table_variable(key: str) -> str:
    """The environment variable that carries a table's name to a workload."""
    return f"TABLE_{key.upper().replace('-', '_')}"


def store_variables(workload: Any) -> dict[str, str]:
    """The variables the Platform sets for a workload's stores, each with what sets it: its
    own ``environment`` and ``secrets`` may not use these names."""
    names = {table_variable(key): f"table '{key}'" for key in workload.get("tables", {})}
    if "database" in workload:
        names.update(dict.fromkeys(("DATABASE_HOST", "DATABASE_PORT", "DATABASE_USER"),
                                   f"database '{workload['database']}'"))
    if "cache" in workload:
        names.update(dict.fromkeys(("CACHE_HOST", "CACHE_PORT"),
                                   f"cache '{workload['cache']}'"))
    return names


def without_platform_secrets(svc: Any) -> Any:
    """The service spec with ``secret:<key>`` references set aside (they are not ARNs)."""
    secrets = svc.get("secrets", {})
    own = {k: v for k, v in secrets.items() if not v.startswith(PLATFORM_SECRET)}
    return {**svc, "secrets": own} if len(own) != len(secrets) else svc


def _missing(name: str, section: str, existing: Sequence[str]) -> str:
    have = ", ".join(existing) or "none"
    return f"'{name}' is not defined under {section} (defined: {have})" \
        f"{did_you_mean(name, existing)}"


def _check_routes(services: Mapping[str, Any]) -> list[Problem]:
    """No two services on one load balancer answer the same host and path, or share a
    listener-rule priority."""
    problems: list[Problem] = []
    seen_paths: dict[tuple[str, str, str], str] = {}
    seen_priorities: dict[tuple[str, int], str] = {}
    for key, svc in sorted(services.items()):
        if svc is None:
            continue
        lb = svc.get("visibility", "internal")
        host = svc.get("host", "*")
        for path in svc.get("paths", [f"/{key}", f"/{key}/*"]):
            owner = seen_paths.setdefault((lb, host, path), key)
            if owner != key:
                where = f"path {path}" + (f" on host {host}" if host != "*" else "")
                problems.append(Problem(("services", key, "paths"),
                                        f"{where} on the {lb} load balancer is already "
                                        f"routed to service '{owner}'"))
        priority = svc.get("priority", default_priority(key))
        owner = seen_priorities.setdefault((lb, priority), key)
        if owner != key:
            problems.append(Problem(("services", key, "priority"),
                                    f"listener rule priority {priority} on the {lb} load "
                                    f"balancer is already used by service '{owner}'; set a "
                                    "distinct priority"))
    return problems


def _check_tier(spec: Mapping[str, Any], ok: set[str], tier: Tier) -> list[Problem]:
    """What the environment tier demands of the other sections."""
    problems: list[Problem] = []
    zones = spec["network"].get("availability_zones") if "network" in ok else None
    az_count = spec["network"].get("az_count", len(zones) if zones else 3) \
        if "network" in ok else None
    for key, svc in sorted((spec.get("services") or {}).items() if "services" in ok else ()):
        if svc is None:
            continue
        problems += check_key(("services", key), key)
        runtime = svc.get("runtime", "ecs")
        if runtime not in RUNTIMES:
            problems += check_choice(("services", key, "runtime"), runtime, RUNTIMES)
            continue
        check_runtime = check_kubernetes_service if runtime == "eks" else check_service
        problems += [p.under("services", key) for p in check_runtime(
            without_platform_secrets(svc), az_count if tier.desired_at_least_az_count else None)]
        if svc.get("spot") and not tier.fargate_spot and runtime == "ecs":
            problems.append(Problem(("services", key, "spot"),
                                    f"{tier.name} does not run on Fargate Spot: remove spot "
                                    "or set it to false"))
    for section, check in (("databases", check_database), ("caches", check_cache)):
        for key, store in sorted(spec[section].items() if section in ok else ()):
            if store is None:
                continue
            problems += check_key((section, key), key)
            if store is not None:
                problems += [p.under(section, key) for p in check(store, tier)]
            if section == "caches" and store.get("auth") == "token":
                problems.append(Problem((section, key, "auth"), (
                    "token needs authTokenSecretArn, the Secrets Manager secret holding the "
                    "token, which a stack file cannot give: use rbac (IAM authentication)")))
    if "network" in ok:
        network = spec["network"]
        if az_count is not None and az_count < tier.min_az_count:
            problems.append(Problem(("network", "az_count"),
                                    f"{tier.name} needs at least {tier.min_az_count} "
                                    f"availability zones (got {az_count})"))
        nat = network.get("nat_strategy", "per-az")
        if tier.nat_per_az and nat != "per-az":
            problems.append(Problem(("network", "nat_strategy"),
                                    f"{tier.name} needs a NAT gateway per availability zone: "
                                    f"use per-az (got {nat})"))
    problems += _check_eks(spec, ok, tier, az_count)
    days = spec.get("log_retention_days") if "log_retention_days" in ok else None
    if days is not None and days < tier.log_retention_days:
        problems.append(Problem(("log_retention_days",),
                                f"{tier.name} keeps logs at least {tier.log_retention_days} "
                                f"days (got {days})"))
    return problems


def eks_services(spec: Mapping[str, Any]) -> list[str]:
    """Keys of the services that run on the EKS cluster."""
    return sorted(key for key, svc in (spec.get("services") or {}).items()
                  if (svc or {}).get("runtime") == "eks")


def _check_eks(spec: Mapping[str, Any], ok: set[str], tier: Tier,
               az_count: int | None) -> list[Problem]:
    """What EKS services need of the cluster section, and what the tier demands of it."""
    problems: list[Problem] = []
    services = spec["services"] if "services" in ok else {}
    on_eks = [key for key in eks_services(spec) if services.get(key) is not None]
    eks = spec["eks"] if "eks" in ok else None
    if "eks" not in spec:
        problems += [Problem(("services", key, "runtime"), "runtime eks needs the eks "
                             "section (the cluster: version, nodeGroups, accessEntries)")
                     for key in on_eks]
    for key in on_eks:
        if key in RESERVED_NAMESPACES:
            problems.append(Problem(("services", key), f"'{key}' names a reserved Kubernetes "
                                                       "namespace: choose another key"))
    if eks is None:
        return problems
    groups = eks.get("node_groups", {})
    if on_eks and not groups:
        problems.append(Problem(("eks", "node_groups"), "services run on node groups (the "
                                "VPC CNI does not enforce network policies on Fargate): "
                                "define one"))
    offered = node_architectures(eks)
    for key in on_eks:
        arch = services[key].get("cpu_architecture", "X86_64")
        if groups and arch in KUBE_ARCH and KUBE_ARCH[arch] not in offered:
            problems.append(Problem(("services", key, "cpu_architecture"),
                                    f"no node group runs {KUBE_ARCH[arch]}: add one or "
                                    f"use {'X86_64' if arch == 'ARM64' else 'ARM64'}"))
    for key, profile in sorted(eks.get("fargate_profiles", {}).items()):
        for namespace in sorted(set(profile["namespaces"]) & set(on_eks)):
            problems.append(Problem(("eks", "fargate_profiles", key, "namespaces"),
                                    f"'{namespace}' is service {namespace}'s namespace: "
                                    "network policies are not enforced on Fargate, so its "
                                    "pods must stay on the node groups"))
    problems += [p.under("eks") for p in check_capacity(
        eks, az_count if tier.desired_at_least_az_count else None, tier.fargate_spot,
        tier.name)]
    return problems


def stack_file(stack: str, project_dir: str = ".") -> str:
    """The stack file's path as the user knows it (``stacks/Pulumi.<stack>.yaml``)."""
    import yaml

    config_dir = ""
    try:
        with open(os.path.join(project_dir, "Pulumi.yaml"), encoding="utf-8") as fh:
            config_dir = (yaml.safe_load(fh) or {}).get("stackConfigDir", "") or ""
    except (OSError, yaml.YAMLError, AttributeError):
        pass
    return os.path.join(str(config_dir), f"Pulumi.{stack}.yaml")


def load_platform_spec() -> PlatformSpec:
    """Read the running program's config (``pulumi up`` or mocks) and validate it; paths
    are relative to the program's directory, the project root."""
    from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

    config = {**get_config_env(), **CONFIG.get()}
    return parse_stack_config(config, os.getcwd(), [k for k in config if is_config_secret(k)])
