"""What no rule answers before deploy, from the same resource graph the pack judged:

- :mod:`.az` what survives the loss of each availability zone (the pack's own simulation);
- :mod:`.cost` the monthly bill from the shipped price table, against a budget and against
  the base branch's report;
- :mod:`.diagram` the estate as a Mermaid diagram (and an optional SVG/PNG).

:func:`analyse` runs all three; :mod:`.render` shows them in every report format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..project import UsageError, display_path
from ..report import BUDGET_POLICY
from .az import AzLoss
from .cost import Estimate
from .diagram import Diagram
from .settings import Settings


@dataclass
class BaseCost:
    """The base branch's estimate, from its JSON report."""

    path: str
    monthly: float | None = None
    monthly_max: float | None = None
    lines: dict[tuple[str, str], float] = field(default_factory=dict)
    note: str = ""


@dataclass
class Insights:
    az: AzLoss
    cost: Estimate
    diagram: Diagram
    settings: Settings
    base: BaseCost | None = None
    image: str = ""
    image_note: str = ""
    seconds: float = 0.0

    @property
    def budget_exceeded(self) -> bool:
        budget = self.settings.cost.monthlyBudget
        return budget is not None and self.budget_amount > budget

    @property
    def budget_amount(self) -> float:
        at = self.settings.cost.budgetAt
        return self.cost.total_max if at == "max" else self.cost.total


def read_base(path: str, stack: str = "") -> BaseCost:
    """The cost section of a previous JSON report (the base branch's); of a report of several
    stacks, ``stack``'s entry. Raises UsageError."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the base report {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not a JSON report ({exc})") from None
    base = BaseCost(display_path(Path(path)))
    if isinstance(doc, dict) and isinstance(doc.get("stacks"), dict):
        doc = doc["stacks"].get(stack)
        if not isinstance(doc, dict):
            base.note = f"the base report has no stack {stack}"
            return base
    cost = doc.get("cost") if isinstance(doc, dict) else None
    if not isinstance(cost, dict) or "monthly" not in cost:
        base.note = "the base report has no cost estimate (made before preflight estimated costs)"
        return base
    base.monthly = float(cost["monthly"])
    base.monthly_max = float(cost.get("monthlyMax") or cost["monthly"])
    for line in cost.get("lines", []):
        key = (str(line.get("name")), str(line.get("item")))
        base.lines[key] = base.lines.get(key, 0.0) + float(line.get("monthly", 0))
    return base


def analyse(registrations: list[Any], *, pack_dir: Path, policy_config: dict[str, Any],
            settings: Settings, region: str = "", base: BaseCost | None = None,
            image: str = "") -> Insights:
    import time

    from . import az, cost, diagram
    from .graph import ResourceGraph

    start = time.perf_counter()
    graph = ResourceGraph(registrations)
    result = Insights(az.analyse(graph, pack_dir, policy_config),
                      cost.estimate(graph, settings.cost.assumptions, region),
                      diagram.build(graph), settings, base)
    if image:
        from .image import render_image

        result.image, result.image_note = render_image(result.diagram, image)
    result.seconds = time.perf_counter() - start
    return result


def add_budget_findings(report: Any, ins: Insights) -> None:
    """A budget the estimate exceeds is a mandatory finding; a budget the estimate cannot
    prove (resources it could not price) is one that could not run (``--strict`` fails)."""
    from ..report import Finding

    budget = ins.settings.cost.monthlyBudget
    if budget is None:
        return
    est = ins.cost
    description = "The stack's estimated monthly cost stays within its budget."
    at = ins.settings.cost.budgetAt
    if ins.budget_exceeded:
        report.violations.insert(0, Finding(
            BUDGET_POLICY, "", "", "",
            f"estimated {est.currency} {ins.budget_amount:,.2f} per month at {at} counts "
            f"exceeds the budget of {est.currency} {budget:,.2f}", "mandatory", "high",
            description))
    if est.unpriced:
        count = sum(len(names) for names in est.unpriced.values())
        report.could_not_run.append(Finding(
            BUDGET_POLICY, "", "", "",
            f"{count} resource(s) are not priced ({', '.join(sorted(est.unpriced))}); the "
            "estimate may be below the real bill", "advisory", "high", description))
