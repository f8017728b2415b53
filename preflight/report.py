"""Turn the analyzer's answers into a report: terminal text, JSON, Markdown or SARIF 2.1.0.

Diagnostics are sorted into three kinds (:func:`classify`, once per pass):

- **violations**: what the pack reported, at the level it reported (``mandatory`` or
  ``advisory``; ``remediate`` counts as mandatory, as the pack itself downgrades it);
- **exempted**: diagnostics whose message (after the policy description) starts with
  ``[exempted] ``; the pack keeps the finding visible but it never fails the run;
- **could not run**: pulumi-policy's advisory "can't run policy ... during preview"
  diagnostic, raised when a policy read a value that is unknown in a first preview. These
  are never counted as passes; ``--strict`` fails on them.

Besides the findings, a report says what preflight could not see or judge, in every format
and in the verdict line: remote components and opaque resources (Helm releases,
CloudFormation stacks: :mod:`.coverage`) not expanded offline, data sources nobody
answered, resource types no policy covers (:mod:`.coverage`), and which policies could be
judged only in the resolved pass (:mod:`.passes`).

Exit status: 0 clean, 1 mandatory violations (with ``--strict`` also advisory violations,
policies that could not run, remote components and opaque resources, unanswered data
sources and uncovered types; with ``--require-coverage`` uncovered types), 2 usage,
config, program or pack errors (see :mod:`.cli`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analyzer import PolicyMeta, Target
    from .capture import Registration
    from .coverage import Coverage, RemoteComponent
    from .invokes import Lookup
    from .locations import Origin, Place

SCHEMA_VERSION = 1
TOOL = "preflight"
EXEMPT_PREFIX = "[exempted] "
BUDGET_POLICY = "preflight-monthly-budget"
"""The name budget findings carry in the report (like a policy's)."""
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
    resolved_only: bool = False
    """Found only in the resolved pass (the preview could not judge it)."""


@dataclass
class Judged:
    """A policy that could not run in the preview and ran in the resolved pass."""

    policy: str
    urn: str
    type: str
    name: str
    reason: str
    """Why it could not run in the preview."""
    outcome: str
    """``passed``, ``mandatory``, ``advisory`` or ``exempted``."""


@dataclass
class Findings:
    """One pass's diagnostics, sorted into kinds."""

    violations: list[Finding] = field(default_factory=list)
    exempted: list[Finding] = field(default_factory=list)
    could_not_run: list[Finding] = field(default_factory=list)
    not_applicable: dict[str, int] = field(default_factory=dict)
    """policy -> how many resources it answered not applicable for."""
    skipped: dict[str, frozenset[str]] = field(default_factory=dict)
    """urn -> the policies that answered not applicable for it (resources with the same
    answer share one set: some 90 names each, for every resource of a large stack)."""


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
    origins: dict[str, Origin] = field(default_factory=dict)
    """Where each resource comes from (stack-file key, program line), by URN."""
    remote_components: list[RemoteComponent] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    """Every data source the program called, with who answered it."""
    coverage: Coverage | None = None
    require_coverage: bool = False
    judged: list[Judged] = field(default_factory=list)
    """Policies that could run only in the resolved pass."""
    resolved_pass: str = "complete"
    """``complete``, or why the resolved pass did not run to the end."""
    resolved_only_resources: list[str] = field(default_factory=list)
    """URNs only the resolved pass registered (created inside ``apply`` on known values)."""
    insights: Any = None
    """AZ loss, cost and diagram (:class:`preflight.insights.Insights`), if analysed."""

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.violations if f.level == "mandatory"]

    @property
    def advisory(self) -> list[Finding]:
        return [f for f in self.violations if f.level != "mandatory"]

    @property
    def unanswered(self) -> list[Lookup]:
        return [item for item in self.lookups if not item.answered]

    @property
    def uncovered(self) -> list[str]:
        return [t.type for t in self.coverage.uncovered] if self.coverage else []

    @property
    def coverage_undeclared(self) -> bool:
        return self.coverage is not None and not self.coverage.declared

    @property
    def exit_code(self) -> int:
        if self.mandatory:
            return 1
        if self.strict and (self.advisory or self.could_not_run or self.remote_components
                            or self.unanswered or self.uncovered
                            or self.resolved_pass != "complete"):
            return 1
        if self.require_coverage and (self.uncovered or self.coverage_undeclared):
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


def add_skipped(skipped: dict[str, frozenset[str]], urn: str, names: frozenset[str]) -> None:
    """Record that the policies ``names`` answered not applicable for ``urn``, sharing the
    set when it is all there is."""
    had = skipped.get(urn)
    skipped[urn] = names if had is None or had == names else had | names


def classify(responses: Iterable[tuple[Target, Any]], stack_response: Any,
             policies: Mapping[str, PolicyMeta], by_urn: Mapping[str, Registration]) -> Findings:
    """Sort one pass's diagnostics into violations, exempted findings and policies that could
    not run; count not-applicable answers."""
    found = Findings()
    na: Counter[str] = Counter()
    seen: set[tuple[str, str, str, str]] = set()

    def add(diag: Any, default_urn: str, analysed: bool = False) -> None:
        # A resource policy's finding belongs to the resource analysed, whatever URN it
        # names (as the engine attributes it); a stack policy's to the URN it names.
        urn = default_urn if analysed else diag.urn
        reg = by_urn.get(urn)
        rtype, rname = (reg.type, reg.name) if reg else ("", "")
        meta = policies.get(diag.policyName)
        description = diag.description or (meta.description if meta else "")
        severity = meta.severity if meta else ""
        cant = _CANT_RUN.match(diag.message)
        if cant:
            key = ("cnr", diag.policyName, urn, cant["reason"])
            if key not in seen:
                seen.add(key)
                found.could_not_run.append(Finding(diag.policyName, urn, rtype, rname,
                                                   cant["reason"], "advisory", severity,
                                                   description))
            return
        detail = _detail(diag.message, description)
        if detail.startswith(EXEMPT_PREFIX) or diag.message.startswith(EXEMPT_PREFIX):
            reason = (detail if detail.startswith(EXEMPT_PREFIX) else diag.message)
            found.exempted.append(Finding(diag.policyName, urn, rtype, rname,
                                          reason[len(EXEMPT_PREFIX):], "exempted", severity,
                                          description))
            return
        level = _LEVEL_NAMES.get(diag.enforcementLevel, "advisory")
        if level == "remediate":
            level = "mandatory"
        found.violations.append(Finding(diag.policyName, urn, rtype, rname, detail, level,
                                        severity, description))

    # Resources of one type mostly get the same answer: its policy names are read once.
    names_of: dict[bytes, frozenset[str]] = {}
    for target, response in responses:
        for diag in response.diagnostics:
            add(diag, target.reg.urn, analysed=True)
        if response.not_applicable:
            if response.diagnostics:  # an answer of its own
                names = frozenset(item.policy_name for item in response.not_applicable)
            else:
                key = response.SerializeToString()
                names = names_of.get(key) or names_of.setdefault(
                    key, frozenset(item.policy_name for item in response.not_applicable))
            add_skipped(found.skipped, target.reg.urn, names)
            na.update(names)
    for diag in stack_response.diagnostics:
        add(diag, "")
    for item in stack_response.not_applicable:
        na[item.policy_name] += 1
    found.not_applicable = dict(sorted(na.items()))
    return found


def build_report(found: Findings, targets: list[Target], policies: Mapping[str, PolicyMeta],
                 *, project: str, stack: str, stack_file: str, pack_path: str, strict: bool,
                 pack_name: str, pack_version: str, warnings: list[str]) -> Report:
    """A report of ``found`` over ``targets`` (the resources, in registration order)."""
    report = Report(project=project, stack=stack, stack_file=stack_file, pack_name=pack_name,
                    pack_version=pack_version, pack_path=pack_path,
                    policies=list(policies.values()),
                    resources=[(t.reg.urn, t.reg.type, t.reg.name, t.reg.parent)
                               for t in targets],
                    strict=strict, warnings=list(warnings))
    order = {"mandatory": 0, "advisory": 1}
    report.violations = sorted(found.violations,
                               key=lambda f: (order.get(f.level, 2), f.policy, f.urn))
    report.exempted = sorted(found.exempted, key=lambda f: (f.policy, f.urn))
    report.could_not_run = sorted(found.could_not_run, key=lambda f: (f.policy, f.urn))
    report.not_applicable = dict(found.not_applicable)
    return report


def _where(f: Finding) -> str:
    if f.name:
        return f"{f.name} ({f.type})"
    return f.urn or "(stack)"


def finding_id(policy: str, subject: str) -> str:
    """A finding's identity across runs: the policy and what it is about (a URN, or a data
    source's token and arguments, or a resource type), never the message, whose counts and
    wording change from run to run."""
    return hashlib.sha256(f"{policy}\0{subject}".encode()).hexdigest()[:32]


def place(report: Report, urn: str) -> Place | None:
    """The line to look at for a resource: its stack-file key, else its program line."""
    origin = report.origins.get(urn)
    return origin.primary if origin else None


def remedy(report: Report, policy: str) -> tuple[str, str]:
    """What to do about a policy's findings and where it is documented: the pack's own
    metadata (``remediationSteps`` and ``url`` of ``GetAnalyzerInfo``), the one source every
    format uses; preflight's own rules carry theirs in :data:`OWN_RULES`."""
    meta = report.policy(policy)
    if meta is not None:
        return meta.remediation, meta.url
    own = OWN_RULES.get(policy)
    return (own[1], "") if own else ("", "")


def unseen(report: Report) -> list[str]:
    """What preflight could not see or judge besides "could not run", for the verdict."""
    parts = []
    kinds = Counter(c.kind for c in report.remote_components)
    for kind, n in kinds.items():
        parts.append(f"{n} {kind}{'s' if n > 1 else ''} not expanded")
    if report.unanswered:
        n = len(report.unanswered)
        parts.append(f"{n} data source{'s' if n > 1 else ''} unanswered")
    if report.uncovered:
        n = len(report.uncovered)
        parts.append(f"{n} resource type{'s' if n > 1 else ''} uncovered")
    if report.resolved_pass != "complete":
        parts.append("resolved pass incomplete")
    return parts


def summary_line(report: Report) -> str:
    parts = [f"{len(report.mandatory)} mandatory", f"{len(report.advisory)} advisory",
             f"{len(report.could_not_run)} could not run", f"{len(report.exempted)} exempted"]
    if report.judged:
        parts.append(f"{len(report.judged)} judged only in the resolved pass")
    parts += unseen(report)
    status = "PASSED" if report.passed else "FAILED"
    strict = " (strict)" if report.strict else ""
    return f"{status}{strict}: {', '.join(parts)} across {len(report.resources)} resources"


# --- JSON ----------------------------------------------------------------------------------------

def to_json_data(report: Report) -> dict[str, Any]:
    def finding(f: Finding, reason_key: str = "message") -> dict[str, Any]:
        out: dict[str, Any] = {"policy": f.policy, "urn": f.urn, "type": f.type,
                               "name": f.name, reason_key: f.message}
        if reason_key == "message":
            out.update(enforcementLevel=f.level, severity=f.severity,
                       description=f.description, resolvedOnly=f.resolved_only)
        origin = report.origins.get(f.urn)
        out["id"] = finding_id(f.policy, f.urn)
        out["location"] = {
            "stackFile": asdict(origin.stack_file) if origin and origin.stack_file else None,
            "program": asdict(origin.program) if origin and origin.program else None}
        return out

    coverage = report.coverage
    data = {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": TOOL, "version": tool_version()},
        "project": report.project,
        "stack": report.stack,
        "stackFile": report.stack_file,
        "policyPack": {"name": report.pack_name, "version": report.pack_version,
                       "path": report.pack_path},
        "result": {"status": "passed" if report.passed else "failed",
                   "exitCode": report.exit_code, "strict": report.strict,
                   "requireCoverage": report.require_coverage},
        "summary": {"resources": len(report.resources),
                    "mandatory": len(report.mandatory), "advisory": len(report.advisory),
                    "couldNotRun": len(report.could_not_run),
                    "exempted": len(report.exempted),
                    "notApplicable": sum(report.not_applicable.values()),
                    "judgedInResolvedPass": len(report.judged),
                    "remoteComponents": len(report.remote_components),
                    "unansweredDataSources": len(report.unanswered),
                    "uncoveredTypes": len(report.uncovered)},
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
        "resolvedPass": {"status": report.resolved_pass,
                         "judged": [asdict(j) for j in report.judged],
                         "resourcesOnlyInResolvedPass": report.resolved_only_resources},
        "remoteComponents": [asdict(c) for c in report.remote_components],
        "dataSources": [{"token": item.token, "function": item.function, "args": item.args,
                         "answeredBy": item.source or None, "calls": item.count}
                        for item in report.lookups],
        "coverage": {"declared": coverage.declared if coverage else False,
                     "types": [{"type": c.type, "resources": c.resources,
                                "policies": len(c.policies)}
                               for c in (coverage.types if coverage else [])],
                     "uncovered": report.uncovered},
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
        out += [f"### Violations ({len(report.violations)})", ""]
        groups: dict[tuple[str, str], list[Finding]] = {}
        for f in report.violations:
            groups.setdefault((f.level, f.policy), []).append(f)
        for (level, policy), items in groups.items():
            badge = "🛑 mandatory" if level == "mandatory" else "⚠️ advisory"
            desc = items[0].description
            out.append(f"#### {badge}: `{_md(policy)}`" + (f": {_md(desc)}" if desc else ""))
            out.append("")
            fix, docs = remedy(report, policy)
            if fix or docs:
                out += [f"**Fix:** {_md(fix)}" + (f" ([docs]({docs}))" if docs else ""), ""]
            out += ["| Resource | Message |", "|---|---|"]
            for f in items:
                at = place(report, f.urn)
                sub = " · ".join(x for x in (_md(f.type), f"`{_md(str(at))}`" if at else "") if x)
                out.append(f"| `{_md(f.name or '(stack)')}` <br><sub>{sub}</sub> | "
                           f"{_md(f.message or f.description)} |")
            out.append("")
    if report.could_not_run:
        out += ["### Could not run (value unknown offline)", "",
                "These policies read a value that is unknown in the preview and in the "
                "resolved pass (or until deployment); they did not pass.", "",
                "| Policy | Resource | Reason |", "|---|---|---|"]
        for f in report.could_not_run:
            out.append(f"| `{_md(f.policy)}` | `{_md(f.name or '(stack)')}` | {_md(f.message)} |")
        out.append("")
    out += _markdown_unseen(report)
    if report.exempted:
        out += ["<details><summary>Exempted findings "
                f"({len(report.exempted)})</summary>", "",
                "| Policy | Resource | Reason |", "|---|---|---|"]
        for f in report.exempted:
            out.append(f"| `{_md(f.policy)}` | `{_md(f.name or '(stack)')}` | {_md(f.message)} |")
        out += ["", "</details>", ""]
    if report.judged:
        out += ["<details><summary>Judged only in the resolved pass "
                f"({len(report.judged)})</summary>", "",
                "Unknown at a first preview, checked with ids and ARNs resolved.", "",
                "| Policy | Resource | Outcome | Unknown at preview |", "|---|---|---|---|"]
        for j in report.judged:
            out.append(f"| `{_md(j.policy)}` | `{_md(j.name or '(stack)')}` | {j.outcome} | "
                       f"{_md(j.reason)} |")
        out += ["", "</details>", ""]
    out += _markdown_coverage(report)
    if report.insights is not None:
        from .insights.render import markdown

        out += markdown(report.insights)
    out += [f"<details><summary>Resources by type ({len(report.resources)})</summary>", "",
            "| Type | Count |", "|---|---:|"]
    out += [f"| `{_md(t)}` | {n} |" for t, n in report.by_type()]
    out += ["", "</details>", ""]
    return "\n".join(out)


def _md_section(title: str, intro: str, columns: list[str], rows: list[str]) -> list[str]:
    return [f"### {title}", "", intro, "", "| " + " | ".join(columns) + " |",
            "|" + "---|" * len(columns), *rows, ""]


def _kind_note(c: RemoteComponent, template: str) -> str:
    """What an opaque resource is, in ``template`` (nothing for a remote component)."""
    from .coverage import REMOTE

    return "" if c.kind == REMOTE else template.format(c.kind)


def _markdown_unseen(report: Report) -> list[str]:
    out: list[str] = []
    if report.remote_components:
        out += _md_section(
            "Not expanded offline: children not checked",
            "Remote components are implemented in a provider plugin, and opaque resources "
            "(Helm releases, CloudFormation stacks) have their provider create their objects: "
            "their children (security groups, listeners, roles, Deployments...) never reach "
            "the pack, so nothing inside them was checked.",
            ["Component", "Type", "Built from pulumi-aws primitives here"],
            [f"| `{_md(c.name)}` | `{_md(c.type)}`{_kind_note(c, ' ({})')} | "
             f"{_md(c.alternative) or '-'} |" for c in report.remote_components])
    if report.unanswered:
        out += _md_section(
            "Data sources without an answer",
            "They returned nothing offline; answer them in the invokes file "
            "(`preflight.invokes.yaml` beside the stack files).",
            ["Data source", "Arguments", "Calls"],
            [f"| `{_md(i.token)}` | `{_md(json.dumps(i.args, sort_keys=True))}` | {i.count} |"
             for i in report.unanswered])
    if report.resolved_pass != "complete":
        out += ["### Resolved pass incomplete", "", _md(report.resolved_pass), ""]
    return out


def _markdown_coverage(report: Report) -> list[str]:
    coverage = report.coverage
    if coverage is None or not coverage.types:
        return []
    out = []
    if report.uncovered:
        out += ["### Resource types no policy covers", ""]
        out += [f"- `{_md(t)}`" for t in report.uncovered]
        out.append("")
    note = "" if coverage.declared else (
        " The pack does not say which types its policies check (no not-applicable "
        "answers): every enabled policy is counted for every type.")
    out += [f"<details><summary>Coverage ({len(coverage.types)} resource types)</summary>",
            "", f"Policies that apply to each type.{note}", "",
            "| Type | Resources | Policies |", "|---|---:|---:|"]
    out += [f"| `{_md(c.type)}` | {c.resources} | {len(c.policies)} |" for c in coverage.types]
    out += ["", "</details>", ""]
    return out


# --- SARIF 2.1.0 ----------------------------------------------------------------------

_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
_SARIF_LEVEL = {"mandatory": "error", "remediate": "error", "advisory": "warning",
                "disabled": "none"}


OWN_RULES = {
    "preflight-remote-component": (
        "A remote component or an opaque resource (Helm release, CloudFormation stack) was "
        "not expanded offline.",
        "Its children exist only in its provider (a remote component's plugin, Helm, "
        "CloudFormation), so no policy saw them. Build the same thing from pulumi-aws or "
        "pulumi-kubernetes resources (this project's components do) so every child is a "
        "resource the pack checks; a remote component can also be checked with `pulumi "
        "preview --policy-pack` against a real account."),
    "preflight-unanswered-data-source": (
        "A data source (invoke) got no answer offline.",
        "Answer it in the invokes file beside the stack files (preflight.invokes.yaml), "
        "keyed by token and arguments."),
    "preflight-uncovered-type": (
        "No policy of the pack applies to this resource type.",
        "Add policies for the type, or accept the gap knowingly; --require-coverage fails "
        "on it."),
    BUDGET_POLICY: (
        "The stack's estimated monthly cost stays within its budget.",
        "Lower desired counts, sizes or autoscaling maximums, or raise cost.monthlyBudget in "
        "Pulumi.<stack>.preflight.yaml knowingly; price what is not priced."),
}


def render_sarif(report: Report) -> str:
    from .locations import Place

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

    def physical(where: Place) -> dict[str, Any]:
        artifact: dict[str, Any] = {"uri": where.path}
        if not where.path.startswith("/"):
            artifact["uriBaseId"] = "%SRCROOT%"
        return {"artifactLocation": artifact, "region": {"startLine": where.line}}

    def result(f: Finding, level: str, text: str, extra: dict[str, Any],
               subject: str = "") -> dict[str, Any]:
        origin = report.origins.get(f.urn)
        where = (origin.primary if origin else None) or Place(report.stack_file, 1)
        location: dict[str, Any] = {
            "physicalLocation": physical(where),
            "logicalLocations": [{"name": f.name or report.stack,
                                  "fullyQualifiedName": f.urn or report.stack,
                                  "kind": "resource" if f.urn else "module"}]}
        out: dict[str, Any] = {
            "ruleId": f.policy,
            "level": level,
            "message": {"text": text},
            "locations": [location],
            "partialFingerprints": {
                "preflightFinding/v2": finding_id(f.policy, subject or f.urn)},
            "properties": {"urn": f.urn, "resourceType": f.type, **extra},
        }
        if origin and origin.stack_file and origin.program:
            out["relatedLocations"] = [{
                "id": 1, "physicalLocation": physical(origin.program),
                "message": {"text": "the program line that registered the resource"}}]
        if f.policy in index:
            out["ruleIndex"] = index[f.policy]
        return out

    for rule_id, (short, help_text) in OWN_RULES.items():
        index[rule_id] = len(rules)
        rules.append({"id": rule_id, "name": "".join(w.capitalize() for w in rule_id.split("-")),
                      "shortDescription": {"text": short}, "fullDescription": {"text": short},
                      "help": {"text": help_text, "markdown": help_text},
                      "defaultConfiguration": {"level": "warning", "enabled": True},
                      "properties": {"tags": ["preflight", "coverage"]}})

    results = []
    for f in report.violations:
        text = f"{f.name or 'stack'}: {f.message or f.description}"
        results.append(result(f, _SARIF_LEVEL[f.level], text,
                              {"enforcementLevel": f.level, "resolvedOnly": f.resolved_only}))
    for c in report.remote_components:
        hint = f"; {c.alternative} does the same job from pulumi-aws primitives" \
            if c.alternative else ""
        results.append(result(
            Finding("preflight-remote-component", c.urn, c.type, c.name, c.type), "warning",
            f"{c.name}: {c.kind} {c.type} not expanded offline: its children were "
            f"not checked{hint}", {"remoteComponent": True, "kind": c.kind}))
    for item in report.unanswered:
        results.append(result(
            Finding("preflight-unanswered-data-source", "", item.token, "", item.describe()),
            "warning", f"data source without an answer: {item.describe()}",
            {"dataSource": item.token, "arguments": item.args},
            subject=f"{item.token} {json.dumps(item.args, sort_keys=True)}"))
    for rtype in report.uncovered:
        results.append(result(
            Finding("preflight-uncovered-type", "", rtype, "", rtype), "warning",
            f"no policy covers resource type {rtype}", {"uncoveredType": rtype},
            subject=rtype))
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
            "tool": {"driver": {"name": TOOL, "version": tool_version(),
                                "informationUri": "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/",
                                "rules": rules}},
            "automationDetails": {"id": f"preflight/{report.project}/{report.stack}/"},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {
                "text": "The repository root (the directory preflight ran in)."}}},
            "invocations": [{"executionSuccessful": True,
                             "exitCode": report.exit_code,
                             "properties": {"resolvedPass": report.resolved_pass,
                                            "judgedInResolvedPass": len(report.judged),
                                            "coverageDeclared": bool(report.coverage and
                                                                     report.coverage.declared)}}],
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"


# --- terminal -------------------------------------------------------------------------

def render_text(report: Report, file: Any, quiet: bool = False) -> None:
    """The terminal report. ``quiet``: the violations, what could not be checked (never left
    out: the verdict names it too) and the verdict line, nothing else."""
    from rich.console import Console
    from rich.text import Text

    console = Console(file=file, highlight=False, soft_wrap=True)
    if quiet:
        _text_violations(report, console, quiet=True)
        _text_could_not_run(report, console)
        _text_unseen(report, console, quiet=True)
        for w in report.warnings:
            console.print(Text(f"warning: {w}", style="yellow"))
        console.print(Text(summary_line(report),
                           style="bold green" if report.passed else "bold red"))
        return
    head = Text.assemble(("preflight", "bold"), f"  project {report.project} · stack ",
                         (report.stack, "bold"), f" · pack {report.pack_name}"
                         f"{'@' + report.pack_version if report.pack_version else ''} "
                         f"({len(report.policies)} policies)")
    console.print(head)
    _text_violations(report, console)
    _text_could_not_run(report, console)
    if report.exempted:
        console.print()
        console.print(Text(f"Exempted ({len(report.exempted)})", style="bold blue"))
        for f in report.exempted:
            console.print(Text.assemble("  ~ ", (f.policy, "bold"), " on ",
                                        (_where(f), "cyan"), f": {f.message}"))
    _text_unseen(report, console)
    if report.not_applicable and len(report.not_applicable) <= 8:
        na = ", ".join(f"{k} ({v})" for k, v in report.not_applicable.items())
        console.print(Text(f"Not applicable: {na}", style="dim"))
    elif report.not_applicable:
        console.print(Text(f"Not applicable: {sum(report.not_applicable.values())} answers from "
                           f"{len(report.not_applicable)} policies", style="dim"))
    for w in report.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    for log in report.logs:
        if log.severity in ("error", "warning"):
            console.print(Text(f"{log.source} {log.severity}: {log.message}", style="yellow"))
    if report.insights is not None:
        from .insights.render import text

        text(report.insights, console)
    _text_resources(report, console)
    console.print()
    console.print(Text(summary_line(report), style="bold green" if report.passed else "bold red"))


def _text_violations(report: Report, console: Any, quiet: bool = False) -> None:
    from rich.text import Text

    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in report.violations:
        groups.setdefault((f.level, f.policy), []).append(f)
    if not groups:
        return
    lines = [] if quiet else [Text()]
    lines.append(Text(f"Violations ({len(report.violations)})", style="bold"))
    for (level, policy), items in groups.items():
        style = "bold red" if level == "mandatory" else "bold yellow"
        desc = items[0].description
        lines.append(Text.assemble((f"  [{level}] ", style), (policy, "bold"),
                                   f"  {desc}" if desc else ""))
        fix, docs = remedy(report, policy)
        if fix:
            lines.append(Text(f"    fix: {fix}"))
        if docs:
            lines.append(Text(f"    docs: {docs}", style="blue"))
        for f in items:
            at = place(report, f.urn)
            lines.append(Text.assemble("    ✗ ", (_where(f), "cyan"),
                                       (f"  {at}" if at else "", "blue")))
            if not quiet:
                lines.append(Text(f"      {f.urn}", style="dim"))
            lines.extend(Text(f"      {line}") for line in (f.message or "").splitlines())
    # One print: rich's cost is mostly per call (a failing estate prints thousands of lines).
    console.print(Text("\n").join(lines))


def _text_could_not_run(report: Report, console: Any) -> None:
    from rich.text import Text

    if report.could_not_run:
        console.print()
        console.print(Text(f"Could not run: a value it reads is unknown offline "
                           f"({len(report.could_not_run)})", style="bold magenta"))
        for f in report.could_not_run:
            console.print(Text.assemble("  ? ", (f.policy, "bold"), " on ",
                                        (_where(f), "cyan"), f": {f.message}"))


TEXT_TYPES = 10
"""Resource types the terminal lists (most resources first); JSON and Markdown list all."""


def _text_resources(report: Report, console: Any) -> None:
    """The resources by type, after the findings and kept short: the most numerous types."""
    from rich.table import Table
    from rich.text import Text

    kinds = report.by_type()
    console.print()
    table = Table(title=f"Resources ({len(report.resources)}, {len(kinds)} types)",
                  title_justify="left", show_edge=False, box=None, pad_edge=False)
    table.add_column("type")
    table.add_column("count", justify="right")
    # Coverage: how many enabled policies apply to the type (cloud resources only).
    covered = {c.type: len(c.policies) for c in report.coverage.types} \
        if report.coverage else {}
    table.add_column("policies", justify="right")
    for rtype, count in kinds[:TEXT_TYPES]:
        policies = covered.get(rtype)
        table.add_row(Text(rtype), str(count), "-" if policies is None else str(policies),
                      style="magenta" if policies == 0 else None)
    console.print(table)
    if len(kinds) > TEXT_TYPES:
        console.print(Text(f"  ... {len(kinds) - TEXT_TYPES} more types (every type in "
                           "--format json or markdown)", style="dim"))


def _text_unseen(report: Report, console: Any, quiet: bool = False) -> None:
    from rich.text import Text

    if report.remote_components:
        console.print()
        console.print(Text(f"Not expanded offline: children not checked "
                           f"({len(report.remote_components)})", style="bold magenta"))
        for c in report.remote_components:
            hint = f"; {c.alternative} does the same job from pulumi-aws primitives" \
                if c.alternative else ""
            note = _kind_note(c, ": {}, whose provider creates its objects")
            console.print(Text.assemble("  ! ", (f"{c.name} ({c.type})", "cyan"), note, hint))
    if report.unanswered:
        console.print()
        console.print(Text(f"Data sources without an answer ({len(report.unanswered)}): "
                           "answer them in preflight.invokes.yaml beside the stack files",
                           style="bold magenta"))
        for item in report.unanswered:
            times = f" ({item.count} calls)" if item.count > 1 else ""
            console.print(Text.assemble("  ? ", (item.describe(), "cyan"), times))
    if report.judged and not quiet:
        console.print()
        console.print(Text(f"Judged only in the resolved pass ({len(report.judged)})",
                           style="bold"))
        for j in report.judged:
            mark = "✓" if j.outcome in ("passed", "exempted") else "✗"
            console.print(Text.assemble(f"  {mark} ", (j.policy, "bold"), " on ",
                                        (f"{j.name} ({j.type})" if j.name else "(stack)",
                                         "cyan"),
                                        f": {j.outcome}; unknown at preview: {j.reason}"))
    coverage = report.coverage
    if quiet and not report.uncovered and not report.coverage_undeclared:
        return
    if coverage is not None and coverage.types:
        console.print()
        line = f"Coverage: {len(coverage.types)} resource types"
        if report.uncovered:
            line += f", {len(report.uncovered)} covered by no policy: " + \
                ", ".join(report.uncovered)
        else:
            line += ", each covered by at least one policy"
        if not coverage.declared:
            line += (" (the pack does not say which types its policies check: every enabled "
                     "policy is counted for every type)")
        console.print(Text(line, style="bold magenta" if report.uncovered else "dim"))


def render(report: Report, fmt: str) -> str:
    if fmt == "junit":
        from .junit import render_junit

        return render_junit(report)
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


DISTRIBUTION = "microservices-platform"
"""The distribution preflight is installed with (its version is preflight's)."""


def tool_version() -> str:
    """The installed distribution's version (its metadata), or ``unknown`` when preflight
    runs from a checkout that was never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


# --- several stacks in one run ---------------------------------------------------------------

@dataclass
class StackOutcome:
    """One stack of a run over several: its report, or the errors that ended it (status 2)."""

    project: str
    stack: str
    stack_file: str
    exit_code: int
    report: Report | None = None
    errors: list[str] = field(default_factory=list)
    """The lines that ended the run (``preflight: error: ...``), when there is no report."""
    seconds: float = 0.0
    output: list[str] = field(default_factory=list)
    """What the stack's run printed (the program's output, warnings, errors), each line
    naming the stack."""

    @property
    def verdict(self) -> str:
        return {0: "PASSED", 1: "FAILED"}.get(self.exit_code, "ERROR")

    def not_seen(self) -> str:
        """What could not be seen or judged, for the summary table."""
        if self.report is None:
            return "-"
        parts = [f"{len(self.report.could_not_run)} could not run"] \
            if self.report.could_not_run else []
        return ", ".join(parts + unseen(self.report)) or "none"


def batch_exit_code(outcomes: list[StackOutcome]) -> int:
    """2 if any stack could not be checked, else 1 if any failed, else 0."""
    codes = {o.exit_code for o in outcomes}
    return 2 if codes - {0, 1} else (1 if 1 in codes else 0)


def batch_summary_line(outcomes: list[StackOutcome]) -> str:
    reports = [o.report for o in outcomes if o.report is not None]
    verdicts = Counter(o.verdict for o in outcomes)
    counts = ", ".join(f"{verdicts[v]} {word}" for v, word in
                       (("PASSED", "passed"), ("FAILED", "failed"), ("ERROR", "error"))
                       if verdicts[v])
    unseen_count = sum(len(r.remote_components) + len(r.unanswered) + len(r.uncovered)
                       + (r.resolved_pass != "complete") for r in reports)
    parts = [f"{sum(len(r.mandatory) for r in reports)} mandatory",
             f"{sum(len(r.advisory) for r in reports)} advisory",
             f"{sum(len(r.could_not_run) for r in reports)} could not run",
             f"{sum(len(r.exempted) for r in reports)} exempted"]
    if unseen_count:
        parts.append(f"{unseen_count} not seen or not expanded")
    status = {0: "PASSED", 1: "FAILED"}.get(batch_exit_code(outcomes), "ERROR")
    strict = " (strict)" if any(r.strict for r in reports) else ""
    return (f"{status}{strict}: {len(outcomes)} stacks ({counts}): {', '.join(parts)} across "
            f"{sum(len(r.resources) for r in reports)} resources")


def _batch_rows(outcomes: list[StackOutcome]) -> list[tuple[str, str, str, str, str]]:
    return [(o.stack, o.verdict,
             str(len(o.report.mandatory)) if o.report else "-",
             str(len(o.report.advisory)) if o.report else "-", o.not_seen())
            for o in outcomes]


def render_outcome(outcome: StackOutcome, fmt: str) -> str:
    """One stack's report in ``fmt``; for a stack that could not be checked, its errors."""
    if outcome.report is not None:
        return render(outcome.report, fmt)
    if fmt == "junit":
        from .junit import render_junit_batch

        return render_junit_batch([outcome])
    if fmt == "json":
        return json.dumps(_error_json(outcome), indent=2) + "\n"
    if fmt == "markdown":
        return "\n".join(_error_markdown(outcome, "##"))
    if fmt == "sarif":
        return json.dumps(_sarif_doc([_error_run(outcome)]), indent=2) + "\n"
    return "".join(f"{line}\n" for line in outcome.errors)


def render_batch(outcomes: list[StackOutcome], fmt: str, project: str) -> str:
    """Every stack's report as one document: JSON with an entry per stack, Markdown with one
    summary table and a section per stack, SARIF with one run per stack, text with a section
    per stack; each with one overall verdict."""
    if fmt == "json":
        return json.dumps(_batch_json(outcomes, project), indent=2) + "\n"
    if fmt == "markdown":
        return _batch_markdown(outcomes, project)
    if fmt == "sarif":
        runs = [json.loads(render_sarif(o.report))["runs"][0] if o.report is not None
                else _error_run(o) for o in outcomes]
        return json.dumps(_sarif_doc(runs), indent=2) + "\n"
    if fmt == "junit":
        from .junit import render_junit_batch

        return render_junit_batch(outcomes)
    import io

    buf = io.StringIO()
    render_batch_text(outcomes, buf)
    return buf.getvalue()


def render_batch_text(outcomes: list[StackOutcome], file: Any, quiet: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=file, highlight=False, soft_wrap=True)
    for o in outcomes:
        console.rule(Text(f"stack {o.stack}", style="bold"), align="left")
        if o.report is not None:
            render_text(o.report, file, quiet=quiet)
        else:
            for line in o.errors:
                console.print(Text(line, style="red"))
        console.print()
    table = Table(title=f"Stacks ({len(outcomes)})", title_justify="left", show_edge=False,
                  box=None, pad_edge=False)
    for column in ("stack", "verdict", "mandatory", "advisory", "not seen / not expanded"):
        table.add_column(column, justify="right" if column in ("mandatory", "advisory")
                         else "left")
    for row in _batch_rows(outcomes):
        table.add_row(*row, style={"PASSED": None, "FAILED": "red"}.get(row[1], "magenta"))
    console.print(table)
    console.print()
    code = batch_exit_code(outcomes)
    console.print(Text(batch_summary_line(outcomes),
                       style="bold green" if code == 0 else "bold red"))


_ICON = {"PASSED": "✅", "FAILED": "❌", "ERROR": "💥"}


def _batch_markdown(outcomes: list[StackOutcome], project: str) -> str:
    status = {0: "PASSED", 1: "FAILED"}.get(batch_exit_code(outcomes), "ERROR")
    out = [f"## {_ICON[status]} Preflight: `{project}`, {len(outcomes)} stacks", "",
           f"**{batch_summary_line(outcomes)}**", "",
           "| Stack | Verdict | Mandatory | Advisory | Not seen / not expanded |",
           "|---|---|---:|---:|---|"]
    out += [f"| `{_md(stack)}` | {_ICON[verdict]} {verdict.lower()} | {mandatory} | "
            f"{advisory} | {_md(not_seen)} |"
            for stack, verdict, mandatory, advisory, not_seen in _batch_rows(outcomes)]
    out.append("")
    for o in outcomes:
        if o.report is None:
            out += _error_markdown(o, "###")
            continue
        fenced = False
        for line in render_markdown(o.report).split("\n"):
            fenced ^= line.startswith("```")
            out.append(f"#{line}" if not fenced and re.match(r"#{1,5} ", line) else line)
    return "\n".join(out)


def _error_markdown(outcome: StackOutcome, level: str) -> list[str]:
    return [f"{level} 💥 Preflight: `{_md(outcome.stack)}` could not be checked", "",
            f"Stack file `{_md(outcome.stack_file)}`; exit status {outcome.exit_code}.", "",
            "```text", *(line.replace("```", "'''") for line in outcome.errors), "```", ""]


def _error_json(outcome: StackOutcome) -> dict[str, Any]:
    return {"schemaVersion": SCHEMA_VERSION, "tool": {"name": TOOL, "version": tool_version()},
            "stack": outcome.stack, "stackFile": outcome.stack_file,
            "result": {"status": "error", "exitCode": outcome.exit_code},
            "errors": outcome.errors}


def _batch_json(outcomes: list[StackOutcome], project: str) -> dict[str, Any]:
    code = batch_exit_code(outcomes)
    return {"schemaVersion": SCHEMA_VERSION, "tool": {"name": TOOL, "version": tool_version()},
            "project": project,
            "result": {"status": {0: "passed", 1: "failed"}.get(code, "error"),
                       "exitCode": code, "summary": batch_summary_line(outcomes)},
            "stacks": {o.stack: (to_json_data(o.report) if o.report is not None
                                 else _error_json(o)) for o in outcomes}}


def _error_run(outcome: StackOutcome) -> dict[str, Any]:
    """A SARIF run for a stack that could not be checked: no results, a failed invocation."""
    return {"tool": {"driver": {"name": TOOL, "version": tool_version(), "rules": []}},
            "automationDetails": {"id": f"preflight/{outcome.project}/{outcome.stack}/"},
            "invocations": [{"executionSuccessful": False, "exitCode": outcome.exit_code,
                             "toolExecutionNotifications": [
                                 {"level": "error", "message": {"text": line}}
                                 for line in outcome.errors]}],
            "results": []}


def _sarif_doc(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
            "runs": runs}
