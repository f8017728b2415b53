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
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired

import pydantic
from pydantic import ConfigDict, TypeAdapter
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict

from .environment import DATA_CLASSIFICATIONS, LOG_RETENTION_DAYS, TIERS, TagsSpec
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

_CONFIG = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False,
                     str_strip_whitespace=False)


def _configure(tp: Any, seen: set[int]) -> None:
    """Give every TypedDict reachable from ``tp`` the stack-file dialect (camelCase, no
    unknown keys). Set once here so component modules stay free of pydantic."""
    if id(tp) in seen:
        return
    seen.add(id(tp))
    if typing.is_typeddict(tp) or hasattr(tp, "__required_keys__"):
        tp.__pydantic_config__ = _CONFIG
        for hint in typing.get_type_hints(tp).values():
            _configure(hint, seen)
    for arg in typing.get_args(tp):
        _configure(arg, seen)


_configure(PlatformSpec, set())
_ADAPTER = TypeAdapter(PlatformSpec)


def _fields_at(path: Sequence[Any]) -> list[str] | None:
    """The camelCase keys allowed at ``path`` (a pydantic loc), for 'what is allowed'."""
    tp: Any = PlatformSpec
    for item in path:
        tp = _strip(tp)
        if hasattr(tp, "__required_keys__"):
            hints = typing.get_type_hints(tp)
            by_alias = {to_camel(k): v for k, v in hints.items()}
            if item not in by_alias:
                return None
            tp = by_alias[item]
        elif typing.get_origin(tp) in (dict, list):
            tp = typing.get_args(tp)[-1]
        else:
            return None
    tp = _strip(tp)
    if hasattr(tp, "__required_keys__"):
        return [to_camel(k) for k in typing.get_type_hints(tp)]
    return None


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is NotRequired:
        tp = typing.get_args(tp)[0]
    return tp


_TYPE_WORDS = {
    "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "string_type": "a string",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "dict_type": "a mapping", "list_type": "a list", "float_type": "a number",
    "float_parsing": "a number", "typed_dict_type": "a mapping",
}


def _from_pydantic(err: Mapping[str, Any]) -> Problem:
    loc = tuple(err["loc"])
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

    Raises :class:`SpecError` listing every problem found."""
    try:
        spec: PlatformSpec = _ADAPTER.validate_python(dict(values))
    except pydantic.ValidationError as exc:
        raise SpecError([_from_pydantic(e) for e in exc.errors()]) from None
    problems = check_platform(spec)
    if problems:
        raise SpecError(problems)
    return spec


def check_platform(spec: PlatformSpec) -> list[Problem]:
    """Semantic rules: each component's own checks, then the rules that span components."""
    problems: list[Problem] = []
    problems += check_choice(("environment",), spec["environment"], list(TIERS))
    if not REGION_RE.match(spec["region"]):
        problems.append(Problem(("region",), f"'{spec['region']}' is not an AWS region name "
                                             "(e.g. eu-west-1)"))
    problems += check_choice(("tags", "data_classification"),
                             spec["tags"]["data_classification"], DATA_CLASSIFICATIONS)
    problems += [p.under("network") for p in check_network(spec["network"])]
    if "log_retention_days" in spec:
        days = spec["log_retention_days"]
        if days not in LOG_RETENTION_DAYS:
            problems.append(Problem(("log_retention_days",),
                                    f"{days} is not a CloudWatch Logs retention; use one of "
                                    f"{', '.join(map(str, LOG_RETENTION_DAYS))}"))
    tier = TIERS.get(spec["environment"])
    if tier is not None:
        problems += _check_tier(spec, tier)
    return problems


def _check_tier(spec: PlatformSpec, tier: Any) -> list[Problem]:
    problems: list[Problem] = []
    network = spec["network"]
    az_count = network.get("az_count", 3)
    if az_count < tier.min_az_count:
        problems.append(Problem(("network", "az_count"),
                                f"{tier.name} needs at least {tier.min_az_count} availability "
                                f"zones (got {az_count})"))
    if tier.nat_per_az and network.get("nat_strategy", "per-az") != "per-az":
        problems.append(Problem(("network", "nat_strategy"),
                                f"{tier.name} needs a NAT gateway per availability zone "
                                f"(per-az), got {network.get('nat_strategy')}"))
    days = spec.get("log_retention_days")
    if days is not None and days < tier.log_retention_days:
        problems.append(Problem(("log_retention_days",),
                                f"{tier.name} keeps logs at least {tier.log_retention_days} "
                                f"days (got {days})"))
    return problems


def load_platform_spec() -> PlatformSpec:
    """Read the running program's config (``pulumi up`` or mocks) and validate it."""
    from pulumi.runtime.config import CONFIG, get_config_env

    return parse_platform_spec(namespace_values({**get_config_env(), **CONFIG.get()}))
