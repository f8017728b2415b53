"""The registry of policies and the vocabulary rules are written in.

A rule is a pure function. A resource rule takes one :class:`Resource` (type, name, URN and
the engine's camelCase input properties) plus its :class:`Settings` and yields messages; a
stack rule takes the whole :class:`Stack` and yields ``(resource, message)`` pairs. Everything
else a policy has - name, description, severity, framework references, remediation, docs URL,
default enforcement, configuration parameters - lives in its :class:`PolicyRecord`, registered
by the :func:`resource_policy` / :func:`stack_policy` decorators. The pack, the docs and the
tests are all generated from :data:`REGISTRY`.

Unknown values (outputs not yet known at preview) are normalised to :data:`UNKNOWN` so rules
can decide, case by case, to fail closed with :func:`unknown` instead of passing.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .credentials import credential_reason

DOCS_URL = ("https://github.com/microservices-platform/microservices-platform/blob/main/"
            "docs/policies.md")
EXEMPTED_PREFIX = "[exempted] "
"""Start of the message of a finding that a valid exception covers (reported as advisory)."""

SEVERITIES = ("low", "medium", "high", "critical")
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
GUARDRAILS = ("multi-az", "tls", "image-scanning", "no-static-credentials")


class _Unknown:
    """A value the engine does not know yet (preview)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value; test is_unknown() first")


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


# How the engine marshals values for analyzers (pulumi sdk/go/common/resource/properties.go):
# an unknown is one of these sentinel strings; a secret, asset or archive is an object
# tagged with SIGNATURE_KEY.
UNKNOWN_SENTINELS = frozenset({
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
    "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
    "e48ece36-62e2-4504-bad9-02848725956a",  # archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
})
SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"


def plain(value: Any) -> Any:
    """Engine property values as plain dicts and lists: unknown sentinels become UNKNOWN and
    secrets their values (a rule judges what a secret holds, never prints it)."""
    if isinstance(value, str):
        return UNKNOWN if value in UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        if value.get(SIGNATURE_KEY) == SECRET_SIGNATURE:
            return plain(value.get("value"))
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


UNKNOWN_FINDING = re.compile(r"^(?P<path>.+) is unknown at preview; cannot prove (?P<claim>.+)$",
                             re.S)
"""What :func:`unknown` writes: the server reports it as "can't run" in a preview."""


def unknown(path: str, claim: str) -> str:
    """The fail-closed message for a value a mandatory rule needs but preview cannot see.

    In a preview the pack reports it as pulumi-policy reports a policy that read an unknown
    value (advisory "can't run policy ... during preview"); in an update, where every input
    is known, it stays a violation at the policy's level (see ``server.py``)."""
    return f"{path} is unknown at preview; cannot prove {claim}"


def must_be_true(value: Any, path: str, claim: str) -> Iterator[str]:
    """The findings for a setting that must be true: unknown (fail closed) or not true."""
    if is_unknown(value):
        yield unknown(path, claim)
    elif value is not True:
        yield f"{path} is not true"


def at_least(value: Any, path: str, need: int, claim: str) -> Iterator[str]:
    """The findings for a count that must reach ``need``: unknown, unset or too small."""
    if is_unknown(value):
        yield unknown(path, claim)
    elif value is None or value < need:
        shown = "not set" if value is None else num(value)
        yield f"{path} is {shown}; at least {need} required"


def dig(props: Any, path: str, default: Any = None) -> Any:
    """``dig(props, "a.b.c")``; UNKNOWN if any step is unknown; ``default`` if missing/None."""
    value = props
    for part in path.split("."):
        if is_unknown(value):
            return UNKNOWN
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return default
        if value is None:
            return default
    return value


def num(value: Any) -> Any:
    """Protobuf numbers arrive as floats: render 2.0 as 2."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def load_json(value: Any) -> Any:
    """A JSON-string input (container definitions, policy documents) parsed; dicts pass
    through; UNKNOWN stays UNKNOWN; raises ValueError for text that is not JSON."""
    if is_unknown(value) or value is None or isinstance(value, dict | list):
        return value
    try:
        return plain(json.loads(value))
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"is not valid JSON ({exc})") from exc


def credential_in(name: str, value: Any) -> str | None:
    """Why ``name=value`` looks like a credential (the one definition,
    :func:`.credentials.credential_reason`), or None. An ARN is a reference to a secret,
    not the secret, so ``DB_SECRET_ARN=arn:aws:secretsmanager:...`` passes."""
    text = "" if value is None else str(value)
    if text.startswith("arn:"):
        return None
    return credential_reason(name, text)


# --- resources as rules see them ---------------------------------------------------------

@dataclass(eq=False)
class Resource:
    """One resource: engine type token, name, URN, camelCase inputs and, in stack rules,
    the resources its properties depend on."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    protect: bool = False
    parent: Resource | None = None
    dependencies: list[Resource] = field(default_factory=list)
    property_dependencies: dict[str, list[Resource]] = field(default_factory=dict)

    def get(self, path: str, default: Any = None) -> Any:
        return dig(self.props, path, default)

    def deps(self, prop: str | None = None, types: Sequence[str] | None = None) -> list[Resource]:
        """Resources behind property ``prop`` (any property if None), optionally of ``types``."""
        if prop is None:
            found = [r for deps in self.property_dependencies.values() for r in deps]
            found += self.dependencies
        else:
            found = list(self.property_dependencies.get(prop, []))
        out: list[Resource] = []
        for r in found:
            if (types is None or r.type in types) and r not in out:
                out.append(r)
        return out


class Stack:
    """All resources of a stack, for cross-resource rules."""

    def __init__(self, resources: Iterable[Resource]):
        self.resources = list(resources)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def referencing(self, target: Resource, types: Sequence[str],
                    prop: str | None = None) -> list[Resource]:
        """Resources of ``types`` whose property ``prop`` (or any) depends on ``target``."""
        return [r for r in self.of_type(*types) if target in r.deps(prop)]


# --- configuration and exceptions --------------------------------------------------------

@dataclass(frozen=True)
class Param:
    """A policy configuration parameter (declared in the policy's config schema)."""

    type: str
    default: Any
    description: str
    minimum: int | None = None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "default": self.default,
                               "description": self.description}
        if self.type == "array":
            out["items"] = {"type": "string"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        return out


EXCEPTION_RESOURCE_PATTERN = (r"^(urn:pulumi:[^*?\[\]]+"
                              r"|(?!urn:)[^\n]*[A-Za-z0-9]{3}[^\n]*)$")
"""What an exception may name: a resource's exact URN, or a pattern over resource names
(fnmatch) with at least three letters or digits in a row, so that ``*``, ``*-*`` or ``?*``,
which exempt every resource, are refused."""
_EXCEPTION_RESOURCE_RE = re.compile(EXCEPTION_RESOURCE_PATTERN)
_EXCEPTION_KEYS = ("resource", "reason", "expires")

EXCEPTIONS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Reasoned exceptions: resource (a name pattern or an exact URN), reason "
                   "(10+ characters) and expires (YYYY-MM-DD, inclusive).",
    "items": {
        "type": "object",
        "properties": {
            "resource": {"type": "string", "pattern": EXCEPTION_RESOURCE_PATTERN,
                         "description": "the resource's name, a name pattern with at least "
                                        "three letters or digits in a row (e.g. "
                                        "prod-*-delivery-build), or its exact URN; never a "
                                        "pattern that matches every resource"},
            "reason": {"type": "string", "minLength": 10,
                       "description": "why the resource may break the rule"},
            "expires": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date",
                        "description": "the last day the exception holds, YYYY-MM-DD"},
        },
        "required": list(_EXCEPTION_KEYS),
        "additionalProperties": False,
    },
}

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ConfigError(ValueError):
    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class PolicyException:
    resource: str
    """An exact URN, or an fnmatch pattern over resource names."""
    reason: str
    expires: dt.date | None = None

    def matches(self, resource: Resource) -> bool:
        if self.resource.startswith("urn:"):
            return resource.urn == self.resource
        return fnmatch.fnmatchcase(resource.name, self.resource)

    def active(self, today: dt.date) -> bool:
        return self.expires is None or today <= self.expires


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class Settings:
    """A policy's effective configuration: parameter values and exceptions."""

    values: Mapping[str, Any]
    exceptions: tuple[PolicyException, ...] = ()

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def render(self, resource: Resource, message: str, today: dt.date | None = None) -> str:
        """The message as reported: exempted, expired-exception note, or unchanged."""
        today = today or today_utc()
        expired: PolicyException | None = None
        for exc in self.exceptions:
            if exc.matches(resource):
                if exc.active(today):
                    return f"{EXEMPTED_PREFIX}{exc.reason} — {message}"
                expired = expired or exc
        if expired is not None and expired.expires is not None:
            return f"{message} (exception expired {expired.expires.isoformat()})"
        return message


def exception_problems(policy: str, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [f"{policy}: exceptions must be a list"]
    problems: list[str] = []
    for i, item in enumerate(raw):
        where = f"{policy}: exceptions[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where} must be an object with resource, reason and expires")
            continue
        resource = item.get("resource")
        if not isinstance(resource, str) or not resource.strip():
            problems.append(f"{where}: resource is required (a name pattern or an exact URN)")
        elif not _EXCEPTION_RESOURCE_RE.match(resource):
            problems.append(f"{where}: resource {resource!r} would exempt every resource: "
                            "name the resource, use a name pattern with at least three "
                            "letters or digits in a row, or give its exact URN")
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{where}: reason is required")
        elif len(reason.strip()) < 10:
            problems.append(f"{where}: reason must be at least 10 characters "
                            f"(got {len(reason.strip())})")
        expires = item.get("expires")
        if expires is None:
            problems.append(f"{where}: expires is required (YYYY-MM-DD): every exception "
                            "lapses and is reviewed")
        else:
            try:
                if not isinstance(expires, str) or not DATE_RE.match(expires):
                    raise ValueError
                dt.date.fromisoformat(expires)
            except ValueError:
                problems.append(f"{where}: expires must be a date YYYY-MM-DD (got {expires!r})")
        unknown_keys = sorted(set(item) - set(_EXCEPTION_KEYS))
        if unknown_keys:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown_keys)}")
    return problems


def param_problems(policy: str, params: Mapping[str, Param], raw: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for key, value in raw.items():
        if key == "exceptions":
            continue
        param = params.get(key)
        if param is None:
            allowed = ", ".join(sorted([*params, "exceptions"]))
            problems.append(f"{policy}: unknown setting '{key}' (allowed: {allowed})")
            continue
        if param.type == "integer":
            ok = isinstance(value, int | float) and not isinstance(value, bool) \
                and float(value).is_integer()
            if not ok:
                problems.append(f"{policy}: {key} must be an integer (got {value!r})")
            elif param.minimum is not None and value < param.minimum:
                problems.append(f"{policy}: {key} must be at least {param.minimum} "
                                f"(got {num(value)})")
        elif param.type == "boolean" and not isinstance(value, bool):
            problems.append(f"{policy}: {key} must be true or false (got {value!r})")
        elif param.type == "array" and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{policy}: {key} must be a list of strings (got {value!r})")
    return problems


# --- policy records and the registry -----------------------------------------------------

ResourceCheck = Callable[[Resource, Settings], Iterable[str]]
StackCheck = Callable[[Stack, Settings], Iterable[tuple[Resource | None, str]]]
"""Findings of a stack rule: the resource it is about (None: the stack itself) and why."""


@dataclass(frozen=True)
class PolicyRecord:
    name: str
    kind: str
    """``resource`` or ``stack``."""
    description: str
    severity: str
    remediation: str
    check: Callable[..., Iterable[Any]]
    types: tuple[str, ...] = ()
    """Resource types the rule reads (for resource rules: the types it runs on)."""
    fsbp: tuple[str, ...] = ()
    """AWS Security Hub Foundational Security Best Practices control ids."""
    refs: tuple[str, ...] = ()
    """Equivalent rules in other rule sets (cdk-nag, checkov, Control Tower)."""
    guardrail: str | None = None
    """One of the four platform guardrails this policy implements, if any."""
    params: Mapping[str, Param] = field(default_factory=dict)
    default_level: str = "mandatory"

    @property
    def url(self) -> str:
        return f"{DOCS_URL}#{self.name}"

    def settings(self, raw: Mapping[str, Any] | None) -> Settings:
        """Validated settings from the policy's configuration (raises ConfigError)."""
        raw = dict(raw or {})
        problems = param_problems(self.name, self.params, raw)
        problems += exception_problems(self.name, raw.get("exceptions"))
        if problems:
            raise ConfigError(problems)
        values = {k: p.default for k, p in self.params.items()}
        for k, v in raw.items():
            if k in self.params:
                values[k] = int(v) if self.params[k].type == "integer" else v
        exceptions = tuple(
            PolicyException(e["resource"], e["reason"].strip(),
                            dt.date.fromisoformat(e["expires"]) if e.get("expires") else None)
            for e in raw.get("exceptions") or [])
        return Settings(values, exceptions)

    def config_schema(self) -> dict[str, dict[str, Any]]:
        props = {k: p.schema() for k, p in self.params.items()}
        props["exceptions"] = EXCEPTIONS_SCHEMA
        return props


REGISTRY: dict[str, PolicyRecord] = {}

_NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _register(record: PolicyRecord) -> None:
    if record.name in REGISTRY:
        raise ValueError(f"policy {record.name} is registered twice")
    if not _NAME_RE.match(record.name):
        raise ValueError(f"policy name {record.name} is not kebab-case")
    if record.severity not in SEVERITIES:
        raise ValueError(f"{record.name}: severity {record.severity}")
    if record.default_level not in LEVELS:
        raise ValueError(f"{record.name}: level {record.default_level}")
    if record.guardrail is not None and record.guardrail not in GUARDRAILS:
        raise ValueError(f"{record.name}: guardrail {record.guardrail}")
    REGISTRY[record.name] = record


def resource_policy(name: str, *, types: Sequence[str], description: str, severity: str,
                    remediation: str, fsbp: Sequence[str] = (), refs: Sequence[str] = (),
                    guardrail: str | None = None, params: Mapping[str, Param] | None = None,
                    default_level: str = "mandatory") -> Callable[[ResourceCheck], ResourceCheck]:
    def deco(fn: ResourceCheck) -> ResourceCheck:
        _register(PolicyRecord(name, "resource", description, severity, remediation, fn,
                               tuple(types), tuple(fsbp), tuple(refs), guardrail,
                               dict(params or {}), default_level))
        return fn
    return deco


def stack_policy(name: str, *, types: Sequence[str], description: str, severity: str,
                 remediation: str, fsbp: Sequence[str] = (), refs: Sequence[str] = (),
                 guardrail: str | None = None, params: Mapping[str, Param] | None = None,
                 default_level: str = "mandatory") -> Callable[[StackCheck], StackCheck]:
    def deco(fn: StackCheck) -> StackCheck:
        _register(PolicyRecord(name, "stack", description, severity, remediation, fn,
                               tuple(types), tuple(fsbp), tuple(refs), guardrail,
                               dict(params or {}), default_level))
        return fn
    return deco


# --- the exceptions in force, for the audits of exceptions ------------------------------

_CONFIGURED_EXCEPTIONS: dict[str, tuple[PolicyException, ...]] = {}


def set_configured_exceptions(exceptions: Mapping[str, Sequence[PolicyException]]) -> None:
    """Record the exceptions of every enabled policy (the analyzer does, on Configure), so
    the audits in :mod:`.exceptions` can check them against the whole stack."""
    _CONFIGURED_EXCEPTIONS.clear()
    _CONFIGURED_EXCEPTIONS.update({k: tuple(v) for k, v in exceptions.items() if v})


def configured_exceptions() -> list[tuple[str, PolicyException]]:
    return [(policy, exc) for policy, excs in sorted(_CONFIGURED_EXCEPTIONS.items())
            for exc in excs]


# --- pure evaluation (tests, docs, tools) ---------------------------------------------------

def evaluate(name: str, resource: Resource, config: Mapping[str, Any] | None = None) -> list[str]:
    """Raw findings of resource policy ``name`` for one resource (exceptions not applied)."""
    record = REGISTRY[name]
    if record.kind != "resource":
        raise ValueError(f"{name} is a stack policy")
    if resource.type not in record.types:
        return []
    return list(record.check(resource, record.settings(config)))


def evaluate_stack(name: str, resources: Iterable[Resource],
                   config: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """Raw findings ``(urn, message)`` of stack policy ``name``."""
    record = REGISTRY[name]
    if record.kind != "stack":
        raise ValueError(f"{name} is a resource policy")
    return [(r.urn if r is not None else "", msg)
            for r, msg in record.check(Stack(resources), record.settings(config))]


def iter_messages(items: Iterable[str | None]) -> Iterator[str]:
    for item in items:
        if item:
            yield item
