"""The AZ-loss analysis: the policy pack's own simulation (``guardrails/az_loss.py`` in the
pack directory, the module behind its ``availability-zone-loss`` rule), run on preflight's
resource graph with the rule's settings from the stack's policy config, so the report's table
and the pack's verdict come from the same code and the same numbers.

The module is loaded from its file: it imports only the standard library, and loading it
this way runs none of the pack's package (policy SDK, rules) in preflight's process.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .graph import ResourceGraph

SIMULATION = Path("guardrails") / "az_loss.py"
"""Where a pack keeps the simulation, relative to the pack directory."""


@dataclass
class AzLoss:
    simulation: Any = None
    """``az_loss.Simulation`` or None when skipped."""
    source: str = ""
    skipped: str = ""
    notes: list[str] = field(default_factory=list)


def load_simulation(pack_dir: Path) -> ModuleType | None:
    path = pack_dir / SIMULATION
    if not path.is_file():
        return None
    name = "preflight._pack_az_loss"
    cached = sys.modules.get(name)
    if cached is not None and getattr(cached, "__file__", None) == str(path):
        return cached
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module while the class is built
    spec.loader.exec_module(module)
    return module


def analyse(graph: ResourceGraph, pack_dir: Path,
            policy_config: dict[str, Any]) -> AzLoss:
    module = load_simulation(pack_dir)
    if module is None:
        return AzLoss(skipped=f"the policy pack has no AZ-loss simulation ({SIMULATION})")
    settings = policy_config.get(module.POLICY)
    settings = settings if isinstance(settings, dict) else {}
    params = {}
    for key, arg in (("minSurvivingTasks", "min_surviving_tasks"),
                     ("minSurvivingPercent", "min_surviving_percent")):
        value = settings.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            params[arg] = int(value)
    sim = module.simulate(graph, **params)
    return AzLoss(sim, source=str(SIMULATION), notes=list(sim.notes))
