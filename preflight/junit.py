"""The report as JUnit XML, for CI systems that show test results (GitLab, Jenkins, Azure
Pipelines, CircleCI...).

One test suite per stack (a run over several stacks has one each, and a stack that could
not be checked is a suite with one ``error``); its test cases follow the exit status, so a
CI page never shows green what failed the run, nor red what did not:

- a **violation** is a test case ``<policy>`` / ``<resource>``: a ``failure`` when it fails
  the run (mandatory; advisory too with ``--strict``), else a passing case whose
  ``system-out`` says ``advisory violation: ...``;
- what could not be judged or seen (a policy that could not run, a remote component or
  opaque resource not expanded, a data source without an answer, an uncovered resource
  type, an incomplete resolved pass) is ``skipped`` with the reason, or an ``error`` when
  ``--strict`` (or ``--require-coverage`` for coverage) makes it fail the run;
- an **exempted** finding is ``skipped`` with its reason;
- every other enabled policy is one passing case ``<policy>`` / ``(no violations)``; a
  disabled policy is ``skipped``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from typing import TYPE_CHECKING

from .report import TOOL, place, remedy, summary_line

if TYPE_CHECKING:
    from .report import Finding, Report, StackOutcome

_COUNTS = {"tests": "tests", "failures": "failure", "errors": "error", "skipped": "skipped"}


class _Suite:
    def __init__(self, name: str):
        self.element = ET.Element("testsuite", name=name)
        self.counts: Counter[str] = Counter()

    def case(self, classname: str, name: str, outcome: str = "", message: str = "",
             text: str = "", kind: str = "") -> None:
        """``outcome``: "" (passed), ``failure``, ``error`` or ``skipped``."""
        case = ET.SubElement(self.element, "testcase", classname=classname, name=name)
        self.counts["tests"] += 1
        if outcome:
            attrs = {"message": message, **({"type": kind} if kind else {})}
            ET.SubElement(case, outcome, attrs).text = text or None
            self.counts[outcome] += 1
        elif text:
            ET.SubElement(case, "system-out").text = text

    def done(self) -> ET.Element:
        """The suite element with its counts."""
        for key, counted in _COUNTS.items():
            self.element.set(key, str(self.counts[counted]))
        return self.element


def _resource(f: Finding) -> str:
    return f"{f.name} ({f.type})" if f.name else (f.urn or "(stack)")


def _details(report: Report, f: Finding) -> str:
    fix, docs = remedy(report, f.policy)
    at = place(report, f.urn)
    lines = [f.message or f.description, f"resource: {f.urn or '(stack)'}"]
    lines += [f"at: {at}"] if at else []
    lines += [f"fix: {fix}"] if fix else []
    lines += [f"docs: {docs}"] if docs else []
    return "\n".join(lines)


def render_junit(report: Report) -> str:
    """One stack's report as a JUnit XML document."""
    return _document([_stack_suite(report)])


def render_junit_batch(outcomes: list[StackOutcome]) -> str:
    """Every stack of a run as one document: a suite per stack."""
    suites = []
    for o in outcomes:
        if o.report is not None:
            suites.append(_stack_suite(o.report))
            continue
        suite = _Suite(f"{TOOL} {o.project}/{o.stack}")
        suite.case("preflight", o.stack_file, "error",
                   (o.errors or ["the stack could not be checked"])[0],
                   "\n".join(o.errors), kind="not-checked")
        suites.append(suite.done())
    return _document(suites)


def _stack_suite(report: Report) -> ET.Element:
    strict = report.strict
    unjudged = "error" if strict else "skipped"
    suite = _Suite(f"{TOOL} {report.project}/{report.stack}")
    props = ET.SubElement(suite.element, "properties")
    for name, value in (("stackFile", report.stack_file),
                        ("policyPack", f"{report.pack_name}@{report.pack_version}"
                         if report.pack_version else report.pack_name),
                        ("strict", str(strict).lower()), ("verdict", summary_line(report))):
        ET.SubElement(props, "property", name=name, value=value)

    seen: set[str] = set()
    for f in report.violations:
        seen.add(f.policy)
        fails = f.level == "mandatory" or strict
        if fails:
            suite.case(f.policy, _resource(f), "failure", f.message or f.description,
                       _details(report, f), f.level)
        else:
            suite.case(f.policy, _resource(f),
                       text=f"{f.level} violation: {_details(report, f)}")
    for f in report.could_not_run:
        seen.add(f.policy)
        suite.case(f.policy, _resource(f), unjudged, f"could not run: {f.message}",
                   kind="could-not-run")
    for f in report.exempted:
        seen.add(f.policy)
        suite.case(f.policy, _resource(f), "skipped", f"exempted: {f.message}",
                   kind="exempted")
    for c in report.remote_components:
        hint = f"; {c.alternative} does the same job from pulumi-aws primitives" \
            if c.alternative else ""
        suite.case("preflight-remote-component", f"{c.name} ({c.type})", unjudged,
                   f"{c.kind} not expanded offline: its children were not checked{hint}",
                   kind="not-expanded")
    for item in report.unanswered:
        suite.case("preflight-unanswered-data-source", item.describe(), unjudged,
                   "data source without an answer: answer it in preflight.invokes.yaml",
                   kind="unanswered")
    uncovered = "error" if strict or report.require_coverage else "skipped"
    for rtype in report.uncovered:
        suite.case("preflight-uncovered-type", rtype, uncovered,
                   f"no policy covers resource type {rtype}", kind="uncovered")
    if report.resolved_pass != "complete":
        suite.case("preflight-resolved-pass", "resolved pass", unjudged,
                   f"the resolved pass did not complete: {report.resolved_pass}",
                   kind="incomplete")
    for p in report.policies:
        if p.name in seen:
            continue
        if p.level == "disabled":
            suite.case(p.name, "(no violations)", "skipped", "disabled by the policy config",
                       kind="disabled")
        else:
            suite.case(p.name, "(no violations)")

    return suite.done()


def _document(suites: list[ET.Element]) -> str:
    root = ET.Element("testsuites", {"name": TOOL})
    for key in _COUNTS:
        root.set(key, str(sum(int(s.get(key, "0")) for s in suites)))
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"
