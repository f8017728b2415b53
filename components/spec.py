"""The platform spec: everything a stack file may say under the project's config namespace.

Structure (types, required keys, unknown keys) is validated by pydantic against the very
TypedDicts the components take; meaning (ranges, formats, cross-field rules) by the
components' own ``check_*`` functions plus the cross-component rules below. Every problem is
collected in one pass and reported one line each, naming file, key path, what is wrong and
what is allowed.
"""


import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NotRequired

import pydantic
from pydantic import ConfigDict, TypeAdapter
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict

from .environment import DATA_CLASSIFICATIONS, LOG_RETENTION_DAYS, TIERS, TagsSpec, Tier
from .network import NetworkSpec, check_network
from .validation import Problem, check_choice, config_path, did_you_mean

NAMESPACE = "microservices-platform"

REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


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


class SpecError(Exception):
    """The stack configuration is invalid; ``problems`` holds every finding."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = sorted(problems, key=lambda p: (config_path(p.path), p.message))
        super().__init__(f"{len(self.problems)} configuration problem(s)")

    def lines(self, source: str) -> list[str]:
        """One line per problem: ``<file>: <namespace>:<key.path>: <what is wrong>``."""
        return [f"{source}: {NAMESPACE}:{config_path(p.path)}: {p.message}"
                for p in self.problems]


# --- structure: pydantic over the component TypedDicts -------------------------------------

_CONFIG = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)


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
# One adapter per top-level section, so a broken section does not hide problems elsewhere.
_ADAPTERS = {name: TypeAdapter(tp) for name, tp in _FIELDS.items()}


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
}


def _from_pydantic(err: Mapping[str, Any], prefix: tuple[str, ...]) -> Problem:
    loc = (*prefix, *err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        *parent, key = loc
        allowed = _fields_at(parent) or []
        hint = did_you_mean(str(key), allowed)
        return Problem(loc, f"unknown key{hint}; allowed keys: {', '.join(allowed)}")
    if kind == "missing":
        return Problem(loc, "required key is missing")
    if kind in _TYPE_WORDS:
        return Problem(loc, f"must be {_TYPE_WORDS[kind]} (got {json.dumps(err['input'])})")
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


def parse_platform_spec(values: Mapping[str, Any]) -> PlatformSpec:
    """Validate the namespace's values; return the spec with Python field names.

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
        try:
            parsed[name] = _ADAPTERS[name].validate_python(raw)
        except pydantic.ValidationError as exc:
            problems += [_from_pydantic(e, (name,)) for e in exc.errors()]
            parsed[name] = None  # present but broken: skip the rules that need it
    for name in PlatformSpec.__required_keys__:
        if name not in parsed:
            problems.append(Problem((name,), "required key is missing"))
    problems += check_platform(parsed)
    if problems:
        raise SpecError(problems)
    return typing.cast(PlatformSpec, parsed)


# Per-section rules: each component's own check, run on every section that parsed.
_SECTION_CHECKS: dict[str, Callable[[Any], list[Problem]]] = {
    "network": check_network,
}


def check_platform(spec: Mapping[str, Any]) -> list[Problem]:
    """Semantic rules over whatever sections parsed: the components' own checks, then the
    rules that span sections. A missing or broken section silences only the rules that
    need it."""
    problems: list[Problem] = []
    ok = {name for name, value in spec.items() if value is not None}
    if "environment" in ok:
        problems += check_choice(("environment",), spec["environment"], list(TIERS))
    if "region" in ok and not REGION_RE.match(spec["region"]):
        problems.append(Problem(("region",), f"'{spec['region']}' is not an AWS region name "
                                             "(e.g. eu-west-1)"))
    if "tags" in ok:
        problems += check_choice(("tags", "data_classification"),
                                 spec["tags"]["data_classification"], DATA_CLASSIFICATIONS)
    for name, check in _SECTION_CHECKS.items():
        if name in ok:
            problems += [p.under(name) for p in check(spec[name])]
    if "log_retention_days" in ok and spec["log_retention_days"] not in LOG_RETENTION_DAYS:
        problems.append(Problem(("log_retention_days",),
                                f"{spec['log_retention_days']} is not a CloudWatch Logs "
                                f"retention; use one of {', '.join(map(str, LOG_RETENTION_DAYS))}"))
    tier = TIERS.get(spec["environment"]) if "environment" in ok else None
    if tier is not None:
        problems += _check_tier(spec, ok, tier)
    return problems


def _check_tier(spec: Mapping[str, Any], ok: set[str], tier: Tier) -> list[Problem]:
    """What the environment tier demands of the other sections."""
    problems: list[Problem] = []
    if "network" in ok:
        network = spec["network"]
        az_count = network.get("az_count", 3)
        if az_count < tier.min_az_count:
            problems.append(Problem(("network", "az_count"),
                                    f"{tier.name} needs at least {tier.min_az_count} "
                                    f"availability zones (got {az_count})"))
        nat = network.get("nat_strategy", "per-az")
        if tier.nat_per_az and nat != "per-az":
            problems.append(Problem(("network", "nat_strategy"),
                                    f"{tier.name} needs a NAT gateway per availability zone: "
                                    f"use per-az (got {nat})"))
    days = spec.get("log_retention_days") if "log_retention_days" in ok else None
    if days is not None and days < tier.log_retention_days:
        problems.append(Problem(("log_retention_days",),
                                f"{tier.name} keeps logs at least {tier.log_retention_days} "
                                f"days (got {days})"))
    return problems


def stack_file(stack: str, project_dir: str = ".") -> str:
    """The stack file's path as the user knows it (``stacks/Pulumi.<stack>.yaml``)."""
    import os

    import yaml

    config_dir = ""
    try:
        with open(os.path.join(project_dir, "Pulumi.yaml"), encoding="utf-8") as fh:
            config_dir = (yaml.safe_load(fh) or {}).get("stackConfigDir", "") or ""
    except OSError:
        pass
    return os.path.join(config_dir, f"Pulumi.{stack}.yaml")


def load_platform_spec() -> PlatformSpec:
    """Read the running program's config (``pulumi up`` or mocks) and validate it."""
    from pulumi.runtime.config import CONFIG, get_config_env

    return parse_platform_spec(namespace_values({**get_config_env(), **CONFIG.get()}))
