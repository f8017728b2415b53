"""Regenerate guardrails/data/aws_managed_policies.json from AWS managed policy documents.

    python -m policies.refresh_managed_policies <dir> [<source label>]

``<dir>`` holds one file per AWS managed policy, named after the policy, each the JSON that
``aws iam get-policy-version`` returns (``{"PolicyVersion": {"Document": ...}}``), e.g. a
checkout of the public MAMIP collection's ``policies/`` folder. The data keeps every policy's
name and, of its statements, only those the IAM rules judge a managed policy by: Allow
statements with a wildcard or NotAction action, or granting iam:PassRole on '*'.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "guardrails" / "data" / "aws_managed_policies.json"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def relevant(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        return True
    actions = [a for a in _list(statement.get("Action")) if isinstance(a, str)]
    if any(a == "*" or a.endswith(":*") for a in actions):
        return True
    passes = any(fnmatch.fnmatchcase("iam:passrole", a.lower()) for a in actions)
    return passes and "*" in _list(statement.get("Resource"))


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    label = argv[1] if len(argv) > 1 else str(folder)
    policies: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            document = json.loads(path.read_text())["PolicyVersion"]["Document"]
        except (ValueError, KeyError, TypeError):
            continue
        statements = [s for s in _list(document.get("Statement")) if isinstance(s, dict)]
        policies[path.name] = [s for s in statements if relevant(s)]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"source": label, "policies": policies}, indent=0,
                              sort_keys=True, separators=(",", ":")) + "\n")
    flagged = sum(1 for v in policies.values() if v)
    print(f"wrote {OUT.name}: {len(policies)} policies, {flagged} with statements the IAM "
          "rules flag")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
