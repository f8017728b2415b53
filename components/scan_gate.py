"""Image scan gate: fail a build whose image has findings at the configured severities.

Runs inside CodeBuild after ``aws ecr wait image-scan-complete``, reading the JSON that
``aws ecr describe-image-scan-findings`` prints::

    python3 components/scan_gate.py --fail-on CRITICAL,HIGH scan-findings.json

Exit status: 0 when the scan is complete and no finding has a listed severity; 1 when it has
such findings, or when the scan did not complete (fail closed: an image nobody could scan is
not an image that passed). Standard library only, so the build image needs nothing extra.
"""


import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
"""Severities ECR reports (basic and enhanced scanning)."""

DONE_STATUSES = ("COMPLETE", "ACTIVE")
"""Scan states with final counts: basic scanning finishes COMPLETE, enhanced (continuous)
scanning reports ACTIVE."""


def evaluate(findings: Mapping[str, Any], fail_on: Sequence[str]) -> tuple[bool, str]:
    """``(passed, one-line verdict)`` for a describe-image-scan-findings document."""
    status = (findings.get("imageScanStatus") or {}).get("status", "MISSING")
    if status not in DONE_STATUSES:
        detail = (findings.get("imageScanStatus") or {}).get("description", "")
        return False, (f"scan gate: image scan status is {status}, not complete"
                       + (f" ({detail})" if detail else "") + "; refusing to release it")
    counts = (findings.get("imageScanFindings") or {}).get("findingSeverityCounts") or {}
    blocking = {sev: int(counts.get(sev, 0)) for sev in fail_on if int(counts.get(sev, 0)) > 0}
    seen = ", ".join(f"{sev}={counts[sev]}" for sev in SEVERITIES if sev in counts) or "none"
    if blocking:
        listed = ", ".join(f"{n} {sev}" for sev, n in blocking.items())
        return False, (f"scan gate: FAILED with {listed} finding(s) "
                       f"(blocking: {', '.join(fail_on)}; all findings: {seen})")
    return True, f"scan gate: passed (blocking: {', '.join(fail_on)}; all findings: {seen})"


def parse_severities(text: str) -> list[str]:
    """``"critical, HIGH"`` -> ``["CRITICAL", "HIGH"]``; rejects unknown or empty lists."""
    wanted = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [s for s in wanted if s not in SEVERITIES]
    if unknown or not wanted:
        raise ValueError(f"--fail-on must list one or more of {', '.join(SEVERITIES)} "
                         f"(got {text!r})")
    return wanted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fail-on", default="CRITICAL,HIGH",
                        help="comma-separated severities that fail the build")
    parser.add_argument("findings", help="describe-image-scan-findings JSON file, or - for stdin")
    opts = parser.parse_args(argv)
    try:
        fail_on = parse_severities(opts.fail_on)
    except ValueError as exc:
        print(f"scan gate: {exc}", file=sys.stderr)
        return 1
    try:
        if opts.findings == "-":
            document = json.load(sys.stdin)
        else:
            with open(opts.findings, encoding="utf-8") as handle:
                document = json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"scan gate: cannot read scan findings ({exc}); refusing to release", file=sys.stderr)
        return 1
    passed, verdict = evaluate(document, fail_on)
    print(verdict, file=sys.stdout if passed else sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
