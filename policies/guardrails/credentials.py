"""What a credential looks like: the one definition the pack's rules and the components share.

Standard library only, so ``components.validation`` can import it without pulling in the
policy SDK (``policies.guardrails`` loads its rules lazily)."""

from __future__ import annotations

import re

# Values that look like credentials must never be plain configuration. Secrets go by
# Secrets Manager / SSM reference and are resolved by the runtime, not by Pulumi.
CREDENTIAL_VALUE_PATTERNS = (
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), "an AWS access key id"),
    (re.compile(r"^[A-Za-z0-9/+]{40}$"), "an AWS secret access key"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    # A JWT's header is base64url JSON, so it starts with "eyJ" ({"); host names do not.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}"), "a JWT"),
    (re.compile(r"://[^/\s:@]+:[^/\s@]+@"), "a URL with an embedded password"),
)
CREDENTIAL_NAME_RE = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)", re.I)


def credential_reason(name: str, value: str) -> str | None:
    """Why ``name=value`` looks like a credential, or None."""
    for pattern, what in CREDENTIAL_VALUE_PATTERNS:
        if pattern.search(value):
            return f"the value looks like {what}"
    if CREDENTIAL_NAME_RE.search(name) and value:
        return "the name says it holds a secret"
    return None


_ASSIGNMENT_RE = re.compile(r"^-{0,2}([A-Za-z_][A-Za-z0-9_.-]*)[=:](.+)$")
_DISTINCTIVE = ("an AWS access key id", "a private key", "a GitHub token", "a Slack token",
                "a URL with an embedded password")
"""Patterns that cannot be mistaken for a host name, a hash or a path in a script."""


def credential_in_argument(argument: str) -> str | None:
    """Why one command-line or script word (``--db-password=hunter2``, ``API_KEY=x``, a
    bare token) looks like a credential, or None. A bare word counts only when it has a
    credential's distinctive shape (a 40-character hash or a dotted host name does not)."""
    match = _ASSIGNMENT_RE.match(argument)
    if match:
        return credential_reason(match.group(1).replace("-", "_"), match.group(2))
    for pattern, what in CREDENTIAL_VALUE_PATTERNS:
        if what in _DISTINCTIVE and pattern.search(argument):
            return f"the value looks like {what}"
    return None
