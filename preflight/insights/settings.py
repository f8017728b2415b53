"""Per-stack preflight settings: ``<stackConfigDir>/Pulumi.<stack>.preflight.yaml`` beside
the stack file (and its policy config), or ``--preflight-config FILE``::

    cost:
      monthlyBudget: 2500        # USD; an estimate above it fails the run (exit 1)
      budgetAt: desired          # or max: the estimate at the autoscaling maximum
      assumptions:               # usage per resource and month (see Assumptions)
        natProcessedGb: 300

Every problem is one line naming the file and the key; nothing runs (exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError

from ..project import UsageError, display_path, load_yaml
from .cost import Assumptions


class CostSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    monthlyBudget: PositiveFloat | None = None
    budgetAt: Literal["desired", "max"] = "desired"
    assumptions: Assumptions = Field(default_factory=lambda: Assumptions.model_validate({}))


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cost: CostSettings = Field(default_factory=CostSettings)


def _allowed(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    for part in loc[:-1]:
        field_info = model.model_fields.get(str(part))
        if field_info is None:
            # Assumptions are addressed by alias
            by_alias = {f.alias: f for f in model.model_fields.values() if f.alias}
            field_info = by_alias.get(str(part))
        annotation = field_info.annotation if field_info else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    names = [f.alias or n for n, f in model.model_fields.items()]
    return ", ".join(names)


def load_settings(path: Path | None) -> Settings:
    """The settings in ``path`` (defaults when None); raises UsageError."""
    if path is None:
        return Settings()
    shown = display_path(path)
    doc = load_yaml(path)
    if doc is None:
        return Settings()
    if not isinstance(doc, dict):
        raise UsageError(f"{shown}: expected a map with a 'cost' key")
    try:
        return Settings.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise UsageError(f"{shown}: {key}: unknown key (allowed: "
                             f"{_allowed(Settings, err['loc'])})") from None
        raise UsageError(f"{shown}: {key}: {err['msg'].lower()} "
                         f"(got {err.get('input')!r})") from None


def settings_path(stack_config_dir: Path, stack: str, explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError(f"preflight config not found: {explicit}")
        return path
    path = stack_config_dir / f"Pulumi.{stack}.preflight.yaml"
    return path if path.is_file() else None
