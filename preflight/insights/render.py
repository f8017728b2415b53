"""The insights in each report format: JSON data (keys ``azLoss``, ``cost``, ``diagram``),
Markdown (tables, the Mermaid diagram) and terminal text."""

from __future__ import annotations

from typing import Any

from . import Insights


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}{abs(value):,.2f}"


# --- JSON ----------------------------------------------------------------------------------

def to_json(ins: Insights) -> dict[str, Any]:
    return {"azLoss": _az_json(ins), "cost": _cost_json(ins), "diagram": _diagram_json(ins)}


def _az_json(ins: Insights) -> dict[str, Any]:
    if ins.az.simulation is None:
        return {"skipped": ins.az.skipped, "zones": [], "rows": [], "notes": ins.az.notes}
    sim = ins.az.simulation
    return {
        "source": ins.az.source,
        "zones": list(sim.zones),
        "minSurvivingTasks": sim.min_surviving_tasks,
        "minSurvivingPercent": sim.min_surviving_percent,
        "rows": [{"kind": r.kind, "name": r.name, "type": r.resource.type,
                  "urn": r.resource.urn, "zones": list(r.spans), "regional": r.regional,
                  "detail": r.detail, "notJudged": r.not_judged,
                  "outcomes": {z: {"left": o.left, "breach": o.breach}
                               for z, o in r.outcomes.items()}} for r in sim.rows],
        "breaches": [{"name": res.name, "urn": res.urn, "message": msg}
                     for res, msg in sim.messages()],
        "notes": ins.az.notes,
    }


def _cost_json(ins: Insights) -> dict[str, Any]:
    est = ins.cost
    settings = ins.settings.cost
    out: dict[str, Any] = {
        "currency": est.currency, "asOf": est.as_of, "source": est.source,
        "regions": est.regions, "hoursPerMonth": est.hours_per_month,
        "monthly": round(est.total, 2), "monthlyMax": round(est.total_max, 2),
        "assumptions": [{"key": k, "value": v, "description": d}
                        for k, v, d in est.assumptions.described()],
        "byGroup": [{"group": g, "monthly": round(a, 2), "monthlyMax": round(b, 2)}
                    for g, a, b in est.by_group()],
        "lines": [{"urn": line.urn, "name": line.name, "type": line.type, "group": line.group,
                   "item": line.item, "monthly": round(line.monthly, 4),
                   "monthlyMax": round(line.monthly_max, 4)} for line in est.lines],
        "freeResources": est.free,
        "unpriced": [{"type": t, "resources": names} for t, names in sorted(est.unpriced.items())],
        "notes": est.notes,
        "budget": None, "base": None,
    }
    if settings.monthlyBudget is not None:
        out["budget"] = {"monthly": settings.monthlyBudget, "at": settings.budgetAt,
                         "estimate": round(ins.budget_amount, 2),
                         "exceeded": ins.budget_exceeded}
    if ins.base is not None:
        out["base"] = {"report": ins.base.path, "note": ins.base.note,
                       "monthly": ins.base.monthly, "monthlyMax": ins.base.monthly_max,
                       "delta": _delta(ins), "changes": [
                           {"name": n, "item": i, "before": b, "after": a}
                           for n, i, b, a in _changes(ins)]}
    return out


def _diagram_json(ins: Insights) -> dict[str, Any]:
    d = ins.diagram
    return {"mermaid": d.mermaid,
            "nodes": [{"id": n.id, "name": n.name, "type": n.type, "kind": n.kind,
                       "tier": n.tier, "vpc": n.vpc, "zones": n.zones} for n in d.nodes],
            "edges": [{"from": e.source, "to": e.target, "label": e.label, "via": e.via}
                      for e in d.edges],
            "image": ins.image or None, "notes": [*d.notes, *filter(None, [ins.image_note])]}


def _delta(ins: Insights) -> float | None:
    if ins.base is None or ins.base.monthly is None:
        return None
    return round(ins.cost.total - ins.base.monthly, 2)


def _changes(ins: Insights) -> list[tuple[str, str, float | None, float | None]]:
    """(name, item, before, after) for every line that appeared, went or changed by a cent."""
    if ins.base is None or ins.base.monthly is None:
        return []
    head: dict[tuple[str, str], float] = {}
    for line in ins.cost.lines:
        key = (line.name, line.item)
        head[key] = head.get(key, 0.0) + line.monthly
    out = []
    for key in sorted(set(head) | set(ins.base.lines)):
        before, after = ins.base.lines.get(key), head.get(key)
        if before is None or after is None or abs(before - after) >= 0.005:
            out.append((key[0], key[1], None if before is None else round(before, 2),
                        None if after is None else round(after, 2)))
    return out


# --- Markdown ------------------------------------------------------------------------------

def _md(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\n", "<br>"))


def markdown(ins: Insights) -> list[str]:
    return [*_az_markdown(ins), *_cost_markdown(ins), *_diagram_markdown(ins)]


def _az_markdown(ins: Insights) -> list[str]:
    out = ["### Availability-zone loss", ""]
    sim = ins.az.simulation
    if sim is None:
        return [*out, f"Skipped: {_md(ins.az.skipped)}.", ""]
    out += [f"Each zone lost in turn; a service must keep at least "
            f"{sim.min_surviving_tasks} task(s) and {sim.min_surviving_percent}% of its floor "
            f"(autoscaling minimum, else desired count). ❌ breaks the "
            f"`availability-zone-loss` rule; ❔ could not be judged.", ""]
    zonal = [r for r in sim.rows if not r.regional]
    regional = [r for r in sim.rows if r.regional]
    if zonal and sim.zones:
        out.append("| Component | Kind | Runs in | " +
                   " | ".join(f"Lose `{z}`" for z in sim.zones) + " |")
        out.append("|---|---|---|" + "---|" * len(sim.zones))
        for r in zonal:
            spans = ", ".join(r.spans) or "—"
            if r.not_judged:
                cells = [f"❔ {_md(r.not_judged)}"] + [""] * (len(sim.zones) - 1)
            else:
                cells = [("✅ " if o.ok else "❌ ") + _md(o.left)
                         for o in (r.outcomes[z] for z in sim.zones)]
            out.append(f"| `{_md(r.name)}`<br><sub>{_md(r.detail)}</sub> | {r.kind} | "
                       f"{_md(spans)} | " + " | ".join(cells) + " |")
        out.append("")
    if regional:
        names = ", ".join(f"`{_md(r.name)}`" for r in regional)
        out += [f"Regional (AWS runs them across zones, unaffected): {names}.", ""]
    breaches = list(sim.messages())
    if breaches:
        out += ["**What breaks:**", ""]
        out += [f"- `{_md(res.name)}`: {_md(msg)}" for res, msg in breaches]
        out.append("")
    out += [f"> {_md(note)}" for note in ins.az.notes]
    return out


def _cost_markdown(ins: Insights) -> list[str]:
    est = ins.cost
    regions = ", ".join(est.regions) or "no priced region"
    out = ["### Cost estimate", "",
           f"**{est.currency} {_money(est.total)} / month** at desired counts, "
           f"{est.currency} {_money(est.total_max)} at autoscaling maximums · {regions} · "
           f"prices as of {est.as_of} ({_md(est.source)}).", ""]
    budget = ins.settings.cost.monthlyBudget
    if budget is not None:
        state = "❌ exceeded" if ins.budget_exceeded else "✅ within"
        out += [f"Budget {est.currency} {_money(budget)} ({ins.settings.cost.budgetAt}): "
                f"{state} by the estimate of {est.currency} {_money(ins.budget_amount)}.", ""]
    if ins.base is not None:
        if ins.base.monthly is None:
            out += [f"Base branch: {_md(ins.base.note)}.", ""]
        else:
            out += [f"Against the base branch (`{_md(ins.base.path)}`): "
                    f"**{_signed(est.total - ins.base.monthly)}** / month "
                    f"({_money(ins.base.monthly)} → {_money(est.total)}).", ""]
            changes = _changes(ins)
            if changes:
                out += ["| Resource | Item | Base | This branch |", "|---|---|---:|---:|"]
                out += [f"| `{_md(n)}` | {_md(i)} | "
                        f"{'—' if b is None else _money(b)} | {'—' if a is None else _money(a)} |"
                        for n, i, b, a in changes]
                out.append("")
    out += ["| Component | Monthly | At max |", "|---|---:|---:|"]
    out += [f"| `{_md(g)}` | {_money(a)} | {_money(b)} |" for g, a, b in est.by_group()]
    out += ["", f"<details><summary>Every priced item ({len(est.lines)})</summary>", "",
            "| Resource | Type | Item | Monthly | At max |", "|---|---|---|---:|---:|"]
    out += [f"| `{_md(x.name)}` | `{_md(x.type)}` | {_md(x.item)} | {_money(x.monthly)} | "
            f"{_money(x.monthly_max)} |" for x in est.lines]
    out += ["", "</details>", "", "<details><summary>Assumptions (per resource and month; "
            "override in the stack's preflight settings)</summary>", "",
            "| Assumption | Value | Meaning |", "|---|---:|---|"]
    out += [f"| `{k}` | {v:g} | {_md(d)} |" for k, v, d in est.assumptions.described()]
    out += ["", f"Hours per month: {est.hours_per_month:g}. {est.free} resources cost nothing "
            "in themselves.", "", "</details>", ""]
    if est.unpriced:
        out += ["**Not priced** (the estimate leaves them out):", ""]
        out += [f"- `{_md(t)}`: {_md(', '.join(names))}" for t, names in
                sorted(est.unpriced.items())]
        out.append("")
    out += [f"> {_md(note)}" for note in est.notes]
    return out


def _diagram_markdown(ins: Insights) -> list[str]:
    d = ins.diagram
    out = ["### Architecture", ""]
    if d.notes and not d.nodes:
        return [*out, _md(d.notes[0]) + ".", ""]
    out += ["Solid arrows: security-group rules (who may connect, on which port); thick: "
            "integrations and event wiring; dotted: IAM grants.", "", "```mermaid",
            d.mermaid.rstrip("\n"), "```", ""]
    if ins.image:
        out += [f"Image: `{_md(ins.image)}`.", ""]
    if ins.image_note:
        out += [f"> {_md(ins.image_note)}", ""]
    return out


# --- terminal ------------------------------------------------------------------------------

def text(ins: Insights, console: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    sim = ins.az.simulation
    console.print()
    if sim is None:
        console.print(Text(f"AZ loss: skipped: {ins.az.skipped}", style="dim"))
    else:
        table = Table(title=f"AZ loss (minimum {sim.min_surviving_tasks} task(s), "
                            f"{sim.min_surviving_percent}% of floor)",
                      title_justify="left", show_edge=False, box=None, pad_edge=False)
        table.add_column("component", no_wrap=True)
        table.add_column("kind")
        for z in sim.zones:
            table.add_column(f"lose {z}")
        for r in sim.rows:
            if r.regional:
                continue
            if r.not_judged:
                cells = [Text(f"? {r.not_judged}", style="magenta")] + \
                    [Text("")] * (len(sim.zones) - 1)
            else:
                cells = [Text(("ok " if o.ok else "✗ ") + o.left,
                              style="" if o.ok else "red")
                         for o in (r.outcomes[z] for z in sim.zones)]
            table.add_row(Text(r.name), r.kind, *cells)
        console.print(table)
        regional = [r.name for r in sim.rows if r.regional]
        if regional:
            console.print(Text(f"  regional, unaffected: {', '.join(regional)}", style="dim"))
        for res, msg in sim.messages():
            console.print(Text.assemble("  ✗ ", (res.name, "cyan"), f": {msg}"))
        for note in ins.az.notes:
            console.print(Text(f"  note: {note}", style="dim"))
    est = ins.cost
    console.print()
    console.print(Text(f"Cost estimate: {est.currency} {_money(est.total)}/month at desired "
                       f"counts, {_money(est.total_max)} at max ({', '.join(est.regions) or '-'};"
                       f" prices as of {est.as_of})", style="bold"))
    for group, monthly, monthly_max in est.by_group()[:15]:
        console.print(Text(f"  {group:<36} {_money(monthly):>12} {_money(monthly_max):>12}"))
    if len(est.by_group()) > 15:
        console.print(Text(f"  ... {len(est.by_group()) - 15} more components", style="dim"))
    assumptions = ", ".join(f"{k}={v:g}" for k, v, _ in est.assumptions.described())
    console.print(Text(f"  assumptions (per resource, per month): {assumptions}", style="dim"))
    if est.unpriced:
        names = "; ".join(f"{t}: {', '.join(n)}" for t, n in sorted(est.unpriced.items()))
        console.print(Text(f"  not priced: {names}", style="yellow"))
    for note in est.notes:
        console.print(Text(f"  note: {note}", style="yellow"))
    budget = ins.settings.cost.monthlyBudget
    if budget is not None:
        console.print(Text(f"  budget {_money(budget)} ({ins.settings.cost.budgetAt}): "
                           f"{'EXCEEDED' if ins.budget_exceeded else 'within'}",
                           style="red" if ins.budget_exceeded else "green"))
    if ins.base is not None:
        if ins.base.monthly is None:
            console.print(Text(f"  base: {ins.base.note}", style="yellow"))
        else:
            console.print(Text(f"  vs base ({ins.base.path}): "
                               f"{_signed(est.total - ins.base.monthly)}/month"))
    d = ins.diagram
    console.print()
    console.print(Text(f"Architecture: {len(d.nodes)} components, {len(d.edges)} connections "
                       "(Mermaid in the markdown and JSON reports)"
                       + (f"; image {ins.image}" if ins.image else ""), style="dim"))
    if ins.image_note:
        console.print(Text(f"  {ins.image_note}", style="yellow"))
