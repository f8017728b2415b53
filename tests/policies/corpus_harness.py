"""Run a corpus program under Pulumi's mock runtime and send what it registers to the pack's
real analyzer over gRPC, as the engine does at preview and at update.

The program runs as the Python language host runs it (its directory first on ``sys.path``,
``runpy`` as ``__main__`` inside ``run_in_stack``), recorded by preflight's
``RecordingMonitor``. Invokes are answered by the corpus program's own table of
realistic answers (a default VPC with three subnets, an AMI, a hosted zone...), so nothing
here depends on how preflight answers them.

Two passes:

- ``preview``: ids and provider-computed outputs are unknown, as in a first preview.
- ``update``: ids and ARNs resolve to fixed fake values, as the pack sees them at
  ``pulumi up`` (the CLI runs the pack at both).

``python tests/policies/corpus_harness.py`` prints the catch rate and the false findings per
program (the figures the tests pin).
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import analyzer_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from preflight.capture import RecordingMonitor, Registration

CORPUS = Path(__file__).resolve().parent / "corpus"
ACCOUNT = "123456789012"
REGION = "us-east-1"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"
RESOURCE_REF = "5cf8f73096256a8f31e491e813e4eb8e"
STACK = "pulumi:pulumi:Stack"

Invokes = Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]]

DEFAULT_INVOKES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a: {
        "names": [f"{REGION}{z}" for z in "abc"],
        "zoneIds": [f"use1-az{i}" for i in (1, 2, 4)], "id": REGION, "state": "available"},
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "id": ACCOUNT,
        "userId": "AIDACI"},
    "aws:index/getRegion:getRegion": lambda a: {"name": REGION, "region": REGION, "id": REGION},
    "aws:index/getPartition:getPartition": lambda a: {"partition": "aws", "id": "aws",
                                                      "dnsSuffix": "amazonaws.com"},
}


_Computed = Callable[[str, dict[str, Any]], dict[str, Any]]
COMPUTED: dict[str, _Computed] = {
    # Outputs the programs read (kubeconfigs, URLs, website origins), as AWS computes them.
    "aws:eks/cluster:Cluster": lambda n, i: {
        "endpoint": f"https://{n}.gr7.{REGION}.eks.amazonaws.com",
        "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"}},
    "aws:lb/loadBalancer:LoadBalancer": lambda n, i: {
        "dnsName": f"{n}-1234567890.{REGION}.elb.amazonaws.com"},
    "aws:s3/bucket:Bucket": lambda n, i: {
        "bucket": i.get("bucket", n), "bucketDomainName": f"{i.get('bucket', n)}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{i.get('bucket', n)}.s3.{REGION}.amazonaws.com"},
    "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration": lambda n, i: {
        "websiteEndpoint": f"{i.get('bucket', n)}.s3-website-{REGION}.amazonaws.com"},
    "aws:apigateway/stage:Stage": lambda n, i: {
        "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3/{n}",
        "invokeUrl": f"https://a1b2c3.execute-api.{REGION}.amazonaws.com/{n}"},
    "aws:apigatewayv2/api:Api": lambda n, i: {
        "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:d4e5f6",
        "apiEndpoint": f"https://d4e5f6.execute-api.{REGION}.amazonaws.com"},
    "aws:rds/instance:Instance": lambda n, i: {
        "address": f"{n}.c9akciq32.{REGION}.rds.amazonaws.com", "port": 3306},
    "aws:cloudfront/distribution:Distribution": lambda n, i: {
        "domainName": "d111111abcdef8.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"},
    "aws:appsync/graphQLApi:GraphQLApi": lambda n, i: {
        "uris": {"GRAPHQL": f"https://{n}.appsync-api.{REGION}.amazonaws.com/graphql"}},
}


class CorpusMocks(pulumi_mocks.Mocks):
    def __init__(self, invokes: Invokes, preview: bool) -> None:
        self.invokes = {**DEFAULT_INVOKES, **invokes}
        self.preview = preview

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        state = dict(args.inputs)
        if self.preview:
            return None, state
        service = args.typ.split(":")[1].split("/")[0]
        state.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{args.name}")
        state.setdefault("name", args.name)
        computed = COMPUTED.get(args.typ)
        if computed is not None:
            state.update(computed(args.name, state))
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list]:
        answer = self.invokes.get(args.token)
        if answer is None:
            raise KeyError(f"the corpus program calls {args.token}, which it gives no answer")
        return answer(dict(args.args)), []


@contextmanager
def _as_language_host(program_dir: Path) -> Iterator[None]:
    """chdir and sys.path as the language host sets them; the program's own modules
    (iam.py, vpc.py...) are forgotten afterwards so the next program gets its own."""
    before = set(sys.modules)
    cwd, path = os.getcwd(), list(sys.path)
    os.chdir(program_dir)
    sys.path.insert(0, str(program_dir))
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if module_file.startswith(str(program_dir)):
                del sys.modules[name]


def run_program(program_dir: Path, *, config: Mapping[str, str], secret_keys: list[str],
                invokes: Invokes, preview: bool) -> list[Registration]:
    """What the program registers, in order (the stack resource left out)."""
    set_all_config(dict(config), list(secret_keys))
    monitor = RecordingMonitor(CorpusMocks(invokes, preview))
    settings.ROOT.set(None)
    pulumi_mocks.set_mocks(monitor.mocks, project=program_dir.name, stack="prod",
                           preview=preview, monitor=monitor)
    settings.ROOT.set(None)
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    with _as_language_host(program_dir):
        _sync_await(run_in_stack(lambda: runpy.run_path(str(program_dir / "__main__.py"),
                                                        run_name="__main__")))
    return [r for r in monitor.registrations if r.type != STACK]


# --- to the analyzer, as the engine marshals resources for it -------------------------------

def _engine_value(value: Any, ids: Mapping[str, str]) -> Any:
    """Resource references become the referenced resource's id (unknown at preview)."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == RESOURCE_REF:
            return value.get("id") or ids.get(str(value.get("urn")), UNKNOWN)
        return {k: _engine_value(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_value(v, ids) for v in value]
    return value


def _struct(reg: Registration, ids: Mapping[str, str]) -> struct_pb2.Struct:
    props = json_format.MessageToDict(reg.properties) if reg.properties is not None else {}
    out = struct_pb2.Struct()
    out.update(_engine_value(props, ids))
    return out


def _options(reg: Registration) -> Any:
    return analyzer_pb2.AnalyzerResourceOptions(protect=reg.protect, parent=reg.parent)


@dataclass(frozen=True)
class Finding:
    policy: str
    level: str
    resource: str
    message: str


LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
          analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}


def analyze(stub: Any, registrations: list[Registration]) -> list[Finding]:
    """Every resource through Analyze, then the stack through AnalyzeStack; findings with
    the resource's name and the message without the policy description line."""
    custom = [r for r in registrations if r.custom]
    ids: dict[str, str] = {}
    names = {r.urn: r.name for r in registrations}
    found: list[Finding] = []

    def collect(diagnostics: Any, default: str) -> None:
        for d in diagnostics:
            found.append(Finding(d.policyName, LEVELS[d.enforcementLevel],
                                 names.get(d.urn, default), d.message.split("\n", 1)[-1]))

    for reg in custom:
        response = stub.Analyze(analyzer_pb2.AnalyzeRequest(
            urn=reg.urn, type=reg.type, name=reg.name, properties=_struct(reg, ids),
            options=_options(reg)))
        collect(response.diagnostics, reg.name)
    request = analyzer_pb2.AnalyzeStackRequest()
    for reg in custom:
        item = request.resources.add(urn=reg.urn, type=reg.type, name=reg.name,
                                     properties=_struct(reg, ids), parent=reg.parent,
                                     options=_options(reg))
        item.dependencies.extend(reg.dependencies)
        for prop, urns in reg.property_dependencies.items():
            item.propertyDependencies[prop].CopyFrom(
                analyzer_pb2.AnalyzerPropertyDependencies(urns=urns))
    collect(stub.AnalyzeStack(request).diagnostics, "")
    return sorted(set(found), key=lambda f: (f.resource, f.policy, f.message))


# --- the corpus -------------------------------------------------------------------------------

def expectations() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CORPUS / "expected.yaml").read_text())
    return loaded


def verdicts() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CORPUS / "verdicts.yaml").read_text())
    return loaded


def measure(program: str, found: list[Finding]) -> dict[str, Any]:
    """Catch rate against the written expectations; findings judged wrong in verdicts.yaml."""
    expected = {(r, p) for r, p, _ in expectations()[program]["findings"]}
    caught = {(f.resource, f.policy) for f in found if "is unknown at preview" not in f.message}
    wrong = verdicts()[program].get("wrong") or {}
    return {"expected": len(expected), "caught": len(expected & caught),
            "missed": sorted(expected - caught), "findings": len(found),
            "wrong": len([f for f in found if f"{f.resource} {f.policy}" in wrong])}


def pin(found: Callable[[str, str], list[Finding]]) -> None:
    """Rewrite the pinned verdicts in verdicts.yaml from a run, keeping the judgements."""
    judged = verdicts() if (CORPUS / "verdicts.yaml").exists() else {}
    lines = ["# The pack's exact findings on each corpus program under the prod config, at a "
             "first preview",
             "# and at update (regenerate: python tests/policies/corpus_harness.py --pin), and "
             "the judgement",
             "# of every finding that is not in expected.yaml: `extra` (right, and why) or "
             "`wrong` (and why).", ""]
    for name in expectations():
        entry = judged.get(name, {})
        lines.append(f"{name}:")
        for section in ("extra", "wrong"):
            notes = entry.get(section) or {}
            lines.append(f"  {section}:" + ("" if notes else " {}"))
            lines += [f"    {yaml.safe_dump(k).strip()}: {yaml.safe_dump(v, width=1000).strip()}"
                      .replace("\n...", "") for k, v in sorted(notes.items())]
        for phase in ("preview", "update"):
            lines.append(f"  {phase}:")
            lines += [f"    - {yaml.safe_dump([f.resource, f.policy, f.message], width=1000, default_flow_style=True).strip()}"
                      for f in found(name, phase)]
    (CORPUS / "verdicts.yaml").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":  # pragma: no cover - prints the figures the tests assert
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_corpus import corpus_findings

    if sys.argv[1:] == ["--pin"]:
        pin(corpus_findings)

    total = {"expected": 0, "caught": 0, "findings": 0, "wrong": 0}
    print(f"{'program':<20} {'caught':>12} {'findings':>9} {'wrong':>6}  missed")
    for name in expectations():
        result = measure(name, corpus_findings(name, "update"))
        for key in total:
            total[key] += result[key]
        missed = ", ".join(f"{r} {p}" for r, p in result["missed"]) or "-"
        print(f"{name:<20} {result['caught']:>5}/{result['expected']:<6} "
              f"{result['findings']:>9} {result['wrong']:>6}  {missed}")
    print(f"{'total':<20} {total['caught']:>5}/{total['expected']:<6} {total['findings']:>9} "
          f"{total['wrong']:>6}  catch rate {total['caught'] / total['expected']:.1%}, "
          f"wrong {total['wrong'] / total['findings']:.1%}")
