"""Validation vocabulary shared by every component and by the stack spec.

A check is a pure function ``check_x(spec) -> list[Problem]``. Components call it before
creating any child (and raise :class:`ArgsError`); the stack loader calls the very same
functions over the stack file, so there is one set of rules whatever the entry point.

Paths use the Python field names (``az_count``); :func:`config_path` renders them the way a
stack file spells them (``azCount``). User keys (service names, AZ names) never contain ``_``
(see :func:`check_key`), so the rendering cannot mangle them.
"""


import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic.alias_generators import to_camel

# The pack's definition of a credential; the components reject the same values it reports.
from policies.guardrails.credentials import credential_reason

PathItem = str | int


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (``path``) and what, including what is allowed."""

    path: tuple[PathItem, ...]
    message: str

    def under(self, *prefix: PathItem) -> "Problem":
        return Problem((*prefix, *self.path), self.message)


_FIELD_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def config_path(path: Sequence[PathItem]) -> str:
    """``("network", "az_count")`` -> ``network.azCount``; list indexes as ``[0]``. Only
    snake_case field names are camelised; user keys and variable names stay as written."""
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += ("." if out else "") + (to_camel(item) if _FIELD_RE.match(item) else item)
    return out


class ArgsError(ValueError):
    """Raised by a component whose arguments fail its checks; one line per problem."""

    def __init__(self, component: str, name: str, problems: Sequence[Problem]):
        self.problems = list(problems)
        lines = [f"{component} '{name}': {config_path(p.path) or '(args)'}: {p.message}"
                 for p in self.problems]
        super().__init__("\n".join(lines))


def raise_for(component: str, name: str, problems: Sequence[Problem]) -> None:
    if problems:
        raise ArgsError(component, name, problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


# --- reusable checks -----------------------------------------------------------------------

KEY_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")


def check_key(path: tuple[PathItem, ...], key: str) -> list[Problem]:
    """User keys become parts of AWS names: lowercase letters, digits, hyphens, 2-32 chars."""
    if KEY_RE.match(key) and "--" not in key:
        return []
    return [Problem(path, f"'{key}' is not a valid name: use 2-32 lowercase letters, digits "
                          "and single hyphens, starting with a letter")]


def check_range(path: tuple[PathItem, ...], value: int, low: int, high: int,
                what: str = "value") -> list[Problem]:
    if low <= value <= high:
        return []
    return [Problem(path, f"{what} must be between {low} and {high} (got {value})")]


def check_choice(path: tuple[PathItem, ...], value: str, choices: Sequence[str]) -> list[Problem]:
    if value in choices:
        return []
    allowed = ", ".join(choices)
    return [Problem(path, f"'{value}' is not allowed: use one of {allowed}"
                          f"{did_you_mean(value, choices)}")]


def parse_cidr(path: tuple[PathItem, ...], value: str, problems: list[Problem],
               min_prefix: int = 16, max_prefix: int = 28) -> ipaddress.IPv4Network | None:
    """An IPv4 network in private address space, prefix within AWS's VPC limits."""
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        problems.append(Problem(path, f"'{value}' is not an IPv4 CIDR block ({exc})"))
        return None
    if not net.is_private:
        problems.append(Problem(path, f"{value} is not a private (RFC 1918) range"))
        return None
    if not min_prefix <= net.prefixlen <= max_prefix:
        problems.append(Problem(path, f"use a /{min_prefix} to /{max_prefix} block "
                                      f"(got /{net.prefixlen})"))
        return None
    return net


ARN_RE = re.compile(r"^arn:aws[a-zA-Z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")


def check_arn(path: tuple[PathItem, ...], value: str, service: str, what: str) -> list[Problem]:
    if ARN_RE.match(value) and value.split(":")[2] == service:
        return []
    return [Problem(path, f"'{value}' is not {what} ARN (arn:aws:{service}:...)")]


def check_clients(allowed: Sequence[str], clients: Mapping[str, object]) -> list[Problem]:
    """A data store admits the services it allows, so each needs its security group."""
    return [Problem(("client_security_group_ids", service),
                    f"no security group given for allowed service '{service}'")
            for service in allowed if service not in clients]


def check_environment(path: tuple[PathItem, ...], env: dict[str, str]) -> list[Problem]:
    problems = []
    for key, value in sorted(env.items()):
        reason = credential_reason(key, str(value))
        if reason:
            problems.append(Problem((*path, key), f"plaintext credential rejected: {reason}; "
                                    "put it in Secrets Manager or SSM and list it under secrets"))
    return problems
