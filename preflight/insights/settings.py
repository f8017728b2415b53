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

from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_type_hints

from annotated_types import Gt

from ..project import UsageError, display_path, load_yaml
from .cost import Assumptions


# Plain dataclasses, validated by pydantic only when a file is read (see Assumptions).
@dataclass(frozen=True)
class CostSettings:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    monthlyBudget: Annotated[float, Gt(0)] | None = None
    budgetAt: Literal["desired", "max"] = "desired"
    assumptions: Assumptions = field(default_factory=Assumptions)


@dataclass(frozen=True)
class Settings:
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    cost: CostSettings = field(default_factory=CostSettings)


def _keys(cls: type) -> dict[str, str]:
    """A settings class's keys in the file (its alias generator's, else the field names),
    each with its field's name."""
    alias = getattr(cls, "__pydantic_config__", {}).get("alias_generator")
    return {alias(f.name) if alias else f.name: f.name for f in fields(cls)}


def _allowed(cls: type, loc: tuple[Any, ...]) -> str:
    for part in loc[:-1]:
        keys = _keys(cls)
        name = keys.get(str(part), str(part))
        inner = get_type_hints(cls).get(name)
        if not (isinstance(inner, type) and is_dataclass(inner)):
            return ""
        cls = inner
    return ", ".join(_keys(cls))


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
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(Settings).validate_python(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
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
