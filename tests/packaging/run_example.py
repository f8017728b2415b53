"""Run one example program under Pulumi's mock runtime and print what it registered.

Executed by the interpreter of a virtualenv the distribution was installed into, from a copy
of the example outside the repository (the working directory), so it sees only what a user
of the published package would: ``components`` and ``preflight`` from the wheel.

    python run_example.py '<config as JSON>' [resolved]

``resolved`` runs with deterministic fake ids and ARNs instead of a first preview's unknowns.

Prints JSON: where ``components`` was imported from, and every registration (type, name,
parent URN and engine-format inputs; unknown values appear as null).
"""

import json
import runpy
import sys
from pathlib import Path
from typing import Any

import yaml

import components
from preflight.capture import capture


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return None  # unknown at preview (or an asset/archive)


def main() -> None:
    config: dict[str, str] = json.loads(sys.argv[1])
    project = yaml.safe_load(Path("Pulumi.yaml").read_text())["name"]
    result = capture(lambda: runpy.run_path("__main__.py", run_name="__main__"),
                     project=project, stack="dev", config=config,
                     preview=sys.argv[2:] != ["resolved"])
    print(json.dumps({
        "components_file": components.__file__,
        "registrations": [{"type": r.type, "name": r.name, "parent": r.parent,
                           "inputs": plain(r.inputs)} for r in result.registrations],
    }))


if __name__ == "__main__":
    main()
