"""Turn the analyzer's answers into a report: terminal text, JSON, Markdown or SARIF 2.1.0.

Diagnostics are sorted into three kinds:

- **violations**: what the pack reported, at the level it reported (``mandatory`` or
  ``advisory``; ``remediate`` counts as mandatory, as the pack itself downgrades it);
- **exempted**: diagnostics whose message (after the policy description) starts with
  ``[exempted] ``; the pack keeps the finding visible but it never fails the run;
- **could not run**: pulumi-policy's advisory "can't run policy ... during preview"
  diagnostic, raised when a policy read a value that is unknown in a first preview. These
  are never counted as passes; ``--strict`` fails on them.

Exit status: 0 clean, 1 mandatory violations (with ``--strict`` also advisory violations and
policies that could not run), 2 usage, config, program or pack errors (see :mod:`.cli`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analyzer import AnalysisResult, PolicyMeta, Target

SCHEMA_VERSION = 1
TOOL = "preflight"
EXEMPT_PREFIX = "[exempted] "
_CANT_RUN = re.compile(r"^can't run policy '(?P<policy>[^']+)' from policy pack '[^']*' "
                       r"during preview: (?P<reason>.*)$", re.S)
_LEVEL_NAMES = {0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate"}


@dataclass
class Finding:
    policy: str
    urn: str
    type: str
    name: str
    message: str
    level: str = "advisory"
    severity: str = ""
    description: str = ""


@dataclass
class LogLine:
    source: str
    severity: str
    message: str
    urn: str = ""


@dataclass
class Report:
    project: str
    stack: str
    stack_file: str
    pack_name: str
    pack_version: str
    pack_path: str
    policies: list[PolicyMeta]
    resources: list[tuple[str, str, str, str]]
    """(urn, type, name, parent) in registration order."""
    violations: list[Finding] = field(default_factory=list)
    exempted: list[Finding] = field(default_factory=list)
    could_not_run: list[Finding] = field(default_factory=list)
    not_applicable: dict[str, int] = field(default_factory=dict)
    logs: list[LogLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    strict: bool = False
    stack_file_text: str = ""
    insights: Any = None
    """AZ loss, cost and diagram (:class:`preflight.insights.Insights`), if analysed."""

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.violations if f.level == "mandatory"]

    @property
    def advisory(self) -> list[Finding]:
        return [f for f in self.violations if f.level != "mandatory"]

    @property
    def exit_code(self) -> int:
        if self.mandatory:
            return 1
        if self.strict and (self.advisory or self.could_not_run):
            return 1
        return 0

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def by_type(self) -> list[tuple[str, int]]:
        counts = Counter(t for _, t, _, _ in self.resources)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def policy(self, name: str) -> PolicyMeta | None:
        for p in self.policies:
            if p.name == name:
                return p
        return None


def _detail(message: str, description: str) -> str:
    if description and message.startswith(description + "\n"):
        return message[len(description) + 1:]
    if message == description:
        return ""
    return message


def build_report(analysis: AnalysisResult, targets: list[Target], *, project: str,
                 stack: str, stack_file: str, pack_path: str, strict: bool,
                 pack_version: str = "", stack_urn: str = "") -> Report:
    by_urn = {t.reg.urn: t.reg for t in targets}
    report = Report(project=project, stack=stack, stack_file=stack_file,
                    pack_name=analysis.pack_name,
                    pack_version=pack_version or analysis.pack_version, pack_path=pack_path,
                    policies=list(analysis.policies.values()),
                    resources=[(t.reg.urn, t.reg.type, t.reg.name, t.reg.parent)
                               for t in targets],
                    strict=strict, warnings=list(analysis.warnings))
    na: Counter[str] = Counter()
    seen: set[tuple[str, str, str, str]] = set()

    def add(diag: Any, default_urn: str) -> None:
        urn = diag.urn or default_urn
        reg = by_urn.get(urn)
        rtype, rname = (reg.type, reg.name) if reg else ("", "")
        meta = analysis.policies.get(diag.policyName)
        description = diag.description or (meta.description if meta else "")
        severity = meta.severity if meta else ""
        cant = _CANT_RUN.match(diag.message)
        if cant:
            key = ("cnr", diag.policyName, urn, cant["reason"])
            if key not in seen:
                seen.add(key)
                report.could_not_run.append(Finding(diag.policyName, urn, rtype, rname,
                                                    cant["reason"], "advisory", severity,
                                                    description))
            return
        detail = _detail(diag.message, description)
        if detail.startswith(EXEMPT_PREFIX) or diag.message.startswith(EXEMPT_PREFIX):
            reason = (detail if detail.startswith(EXEMPT_PREFIX) else diag.message)
            report.exempted.append(Finding(diag.policyName, urn, rtype, rname,
                                           reason[len(EXEMPT_PREFIX):], "exempted", severity,
                                           description))
            return
        level = _LEVEL_NAMES.get(diag.enforcementLevel, "advisory")
        if level == "remediate":
            level = "mandatory"
        report.violations.append(Finding(diag.policyName, urn, rtype, rname, detail, level,
                                         severity, description))

    for target, response in analysis.responses:
        for diag in response.diagnostics:
            add(diag, target.reg.urn)
        for item in response.not_applicable:
            na[item.policy_name] += 1
    for diag in analysis.stack_response.diagnostics:
        add(diag, "")
    for item in analysis.stack_response.not_applicable:
        na[item.policy_name] += 1
    report.not_applicable = dict(sorted(na.items()))
    order = {"mandatory": 0, "advisory": 1}
    report.violations.sort(key=lambda f: (order.get(f.level, 2), f.policy, f.urn))
    report.exempted.sort(key=lambda f: (f.policy, f.urn))
    report.could_not_run.sort(key=lambda f: (f.policy, f.urn))
    return report


def _where(f: Finding) -> str:
    if f.name:
        return f"{f.name} ({f.type})"
    return f.urn or "(stack)"


def summary_line(report: Report) -> str:
    parts = [f"{len(report.mandatory)} mandatory", f"{len(report.advisory)} advisory",
             f"{len(report.could_not_run)} could not run", f"{len(report.exempted)} exempted"]
    status = "PASSED" if report.passed else "FAILED"
    strict = " (strict)" if report.strict else ""
    return f"{status}{strict}: {', '.join(parts)} across {len(report.resources)} resources"


# --- JSON ----------------------------------------------------------------------------------------

def to_json_data(report: Report) -> dict[str, Any]:
    def finding(f: Finding, reason_key: str = "message") -> dict[str, Any]:
        out = {"policy": f.policy, "urn": f.urn, "type": f.type, "name": f.name,
               reason_key: f.message}
        if reason_key == "message":
            out.update(enforcementLevel=f.level, severity=f.severity,
                       description=f.description)
        return out

    data = {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": TOOL, "version": _version()},
        "project": report.project,
        "stack": report.stack,
        "stackFile": report.stack_file,
        "policyPack": {"name": report.pack_name, "version": report.pack_version,
                       "path": report.pack_path},
        "result": {"status": "passed" if report.passed else "failed",
                   "exitCode": report.exit_code, "strict": report.strict},
        "summary": {"resources": len(report.resources),
                    "mandatory": len(report.mandatory), "advisory": len(report.advisory),
                    "couldNotRun": len(report.could_not_run),
                    "exempted": len(report.exempted),
                    "notApplicable": sum(report.not_applicable.values())},
        "resourcesByType": dict(report.by_type()),
        "policies": [{"name": p.name, "description": p.description,
                      "enforcementLevel": p.level, "defaultEnforcementLevel": p.default_level,
                      "kind": p.kind, "severity": p.severity, "url": p.url,
                      "remediationSteps": p.remediation, "tags": p.tags,
                      "framework": p.framework} for p in report.policies],
        "violations": [finding(f) for f in report.violations],
        "exempted": [finding(f, "reason") for f in report.exempted],
        "couldNotRun": [finding(f, "reason") for f in report.could_not_run],
        "notApplicable": [{"policy": k, "resources": v}
                          for k, v in report.not_applicable.items()],
        "resources": [{"urn": u, "type": t, "name": n, "parent": p}
                      for u, t, n, p in report.resources],
        "logs": [asdict(line) for line in report.logs],
        "warnings": report.warnings,
    }
    if report.insights is not None:
        from .insights.render import to_json

        data.update(to_json(report.insights))
    return data


def render_json(report: Report) -> str:
    return json.dumps(to_json_data(report), indent=2) + "\n"


# --- Markdown ------------------------------------------------------------------------------------

def _md(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\r", "").replace("\n", "<br>"))


def render_markdown(report: Report) -> str:
    icon = "✅" if report.passed else "❌"
    out = [f"## {icon} Preflight: `{report.project}` / `{report.stack}`", "",
           f"**{summary_line(report)}** · policy pack `{report.pack_name}"
           f"{'@' + report.pack_version if report.pack_version else ''}` "
           f"({len(report.policies)} policies)", ""]
    if report.violations:
        out += ["### Violations", "", "| Level | Policy | Resource | Message |",
                "|---|---|---|---|"]
        for f in report.violations:
            badge = "🛑 mandatory" if f.level == "mandatory" else "⚠️ advisory"
            msg = f.message or f.description
            out.append(f"| {badge} | `{_md(f.policy)}` | `{_md(f.name or '(stack)')}` "
                       f"<br><sub>{_md(f.type)}</sub> | {_md(msg)} |")
        out.append("")
    if report.could_not_run:
        out += ["### Could not run (unknown at preview)", "",
                "These policies read a value that is unknown until deployment; they did "
                "not pass.", "", "| Policy | Resource | Reason |", "|---|---|---|"]
        for f in report.could_not_run:
            out.append(f"| `{_md(f.policy)}` | `{_md(f.name or '(stack)')}` | {_md(f.message)} |")
        out.append("")
    if report.exempted:
        out += ["<details><summary>Exempted findings "
                f"({len(report.exempted)})</summary>", "",
                "| Policy | Resource | Reason |", "|---|---|---|"]
        for f in report.exempted:
            out.append(f"| `{_md(f.policy)}` | `{_md(f.name or '(stack)')}` | {_md(f.message)} |")
        out += ["", "</details>", ""]
    if report.insights is not None:
        from .insights.render import markdown

        out += markdown(report.insights)
    out += [f"<details><summary>Resources by type ({len(report.resources)})</summary>", "",
            "| Type | Count |", "|---|---:|"]
    out += [f"| `{_md(t)}` | {n} |" for t, n in report.by_type()]
    out += ["", "</details>", ""]
    return "\n".join(out)


# --- SARIF 2.1.0 ----------------------------------------------------------------------

_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
_SARIF_LEVEL = {"mandatory": "error", "remediate": "error", "advisory": "warning",
                "disabled": "none"}


def _stack_line(report: Report, name: str) -> int:
    """The stack file line that best names a resource: the longest leading ``-`` part of its
    name that appears there as a YAML key; else line 1."""
    if not report.stack_file_text or not name:
        return 1
    lines = report.stack_file_text.splitlines()
    parts = name.split("-")
    for n in range(len(parts), 0, -1):
        key = "-".join(parts[:n])
        if len(key) < 3:
            break
        pattern = re.compile(rf"^\s*(?:-\s+)?[\"']?{re.escape(key)}[\"']?\s*:")
        for i, line in enumerate(lines, start=1):
            if pattern.match(line):
                return i
    return 1


def render_sarif(report: Report) -> str:
    rules = []
    index: dict[str, int] = {}
    for i, p in enumerate(report.policies):
        index[p.name] = i
        help_text = p.remediation or p.description
        help_md = help_text + (f"\n\n[Documentation]({p.url})" if p.url else "")
        rule: dict[str, Any] = {
            "id": p.name,
            "name": "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", p.name) if w),
            "shortDescription": {"text": p.description},
            "fullDescription": {"text": p.description},
            "help": {"text": help_text, "markdown": help_md},
            "defaultConfiguration": {"level": _SARIF_LEVEL.get(p.level, "warning"),
                                     "enabled": p.level != "disabled"},
            "properties": {"tags": [*p.tags, "policy-as-code"],
                           "enforcementLevel": p.level},
        }
        if p.url:
            rule["helpUri"] = p.url
        if p.severity in _SECURITY_SEVERITY:
            rule["properties"]["security-severity"] = _SECURITY_SEVERITY[p.severity]
        if p.framework:
            rule["properties"]["framework"] = p.framework
        rules.append(rule)

    def result(f: Finding, level: str, text: str, extra: dict[str, Any]) -> dict[str, Any]:
        fingerprint = hashlib.sha256(f"{f.policy}\0{f.urn}\0{f.message}".encode()).hexdigest()
        out: dict[str, Any] = {
            "ruleId": f.policy,
            "level": level,
            "message": {"text": text},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": report.stack_file, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": _stack_line(report, f.name)}},
                "logicalLocations": [{"name": f.name or report.stack,
                                      "fullyQualifiedName": f.urn or report.stack,
                                      "kind": "resource" if f.urn else "module"}]}],
            "partialFingerprints": {"preflightFinding/v1": fingerprint},
            "properties": {"urn": f.urn, "resourceType": f.type, **extra},
        }
        if f.policy in index:
            out["ruleIndex"] = index[f.policy]
        return out

    results = []
    for f in report.violations:
        text = f"{f.name or 'stack'}: {f.message or f.description}"
        results.append(result(f, _SARIF_LEVEL[f.level], text, {"enforcementLevel": f.level}))
    for f in report.could_not_run:
        results.append(result(f, "note", f"{f.name or 'stack'}: policy could not run during "
                              f"preview: {f.message}", {"couldNotRun": True}))
    for f in report.exempted:
        r = result(f, "note", f"{f.name or 'stack'}: exempted: {f.message}",
                   {"exempted": True})
        r["suppressions"] = [{"kind": "external", "justification": f.message}]
        results.append(r)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL, "version": _version(),
                                "informationUri": "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/",
                                "rules": rules}},
            "automationDetails": {"id": f"preflight/{report.project}/{report.stack}/"},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {
                "text": "The repository root (the directory preflight ran in)."}}},
            "invocations": [{"executionSuccessful": True,
                             "exitCode": report.exit_code}],
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"


# --- terminal -------------------------------------------------------------------------

def render_text(report: Report, file: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=file, highlight=False, soft_wrap=True)
    head = Text.assemble(("preflight", "bold"), f"  project {report.project} · stack ",
                         (report.stack, "bold"), f" · pack {report.pack_name}"
                         f"{'@' + report.pack_version if report.pack_version else ''} "
                         f"({len(report.policies)} policies)")
    console.print(head)
    table = Table(title=f"Resources ({len(report.resources)})", title_justify="left",
                  show_edge=False, box=None, pad_edge=False)
    table.add_column("type")
    table.add_column("count", justify="right")
    for rtype, count in report.by_type():
        table.add_row(Text(rtype), str(count))
    console.print(table)

    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in report.violations:
        groups.setdefault((f.level, f.policy), []).append(f)
    if groups:
        console.print()
        console.print(Text(f"Violations ({len(report.violations)})", style="bold"))
    for (level, policy), items in groups.items():
        style = "bold red" if level == "mandatory" else "bold yellow"
        desc = items[0].description
        console.print(Text.assemble((f"  [{level}] ", style), (policy, "bold"),
                                    f"  {desc}" if desc else ""))
        for f in items:
            console.print(Text.assemble("    ✗ ", (_where(f), "cyan")))
            console.print(Text(f"      {f.urn}", style="dim"))
            for line in (f.message or "").splitlines():
                console.print(Text(f"      {line}"))
    if report.could_not_run:
        console.print()
        console.print(Text(f"Could not run: unknown at preview ({len(report.could_not_run)})",
                           style="bold magenta"))
        for f in report.could_not_run:
            console.print(Text.assemble("  ? ", (f.policy, "bold"), " on ",
                                        (_where(f), "cyan"), f": {f.message}"))
    if report.exempted:
        console.print()
        console.print(Text(f"Exempted ({len(report.exempted)})", style="bold blue"))
        for f in report.exempted:
            console.print(Text.assemble("  ~ ", (f.policy, "bold"), " on ",
                                        (_where(f), "cyan"), f": {f.message}"))
    if report.not_applicable:
        na = ", ".join(f"{k} ({v})" for k, v in report.not_applicable.items())
        console.print(Text(f"Not applicable: {na}", style="dim"))
    for w in report.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    for log in report.logs:
        if log.severity in ("error", "warning"):
            console.print(Text(f"{log.source} {log.severity}: {log.message}", style="yellow"))
    if report.insights is not None:
        from .insights.render import text

        text(report.insights, console)
    console.print()
    console.print(Text(summary_line(report), style="bold green" if report.passed else "bold red"))


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "sarif":
        return render_sarif(report)
    import io

    buf = io.StringIO()
    render_text(report, buf)
    return buf.getvalue()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("microservices-platform")
    except Exception:
        return "0.0.0"


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""
