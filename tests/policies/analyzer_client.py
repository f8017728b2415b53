"""A tiny engine side of the analyzer protocol: the requests the Pulumi CLI sends."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel

from policies.guardrails import PACK_NAME, GuardrailAnalyzer, build_policies, reconcile

ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY,
          "remediate": proto.REMEDIATE, "disabled": proto.DISABLED}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


def struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(dict(values))
    return s


def stack_config(env: str) -> dict[str, Any]:
    return json.loads((ROOT / "stacks" / f"Pulumi.{env}.policy.json").read_text())


class Engine:
    """Calls an analyzer over gRPC the way the CLI does."""

    def __init__(self, address: str):
        self.channel = grpc.insecure_channel(address)
        self.stub = proto.AnalyzerStub(self.channel)

    def info(self) -> Any:
        return self.stub.GetAnalyzerInfo(empty_pb2.Empty())

    def configure(self, file_config: Mapping[str, Any]) -> None:
        """Reconcile a --policy-pack-config file like the CLI and send it."""
        entries = reconcile(file_config)
        if "all" in file_config:
            entries["all"] = {"enforcementLevel": file_config["all"]}
        request = proto.ConfigureAnalyzerRequest()
        for name, entry in entries.items():
            props = {k: v for k, v in entry.items() if k != "enforcementLevel"}
            request.policyConfig[name].CopyFrom(proto.PolicyConfig(
                enforcementLevel=LEVELS[entry["enforcementLevel"]], properties=struct(props)))
        self.stub.Configure(request)

    def configure_stack(self, dry_run: bool, config: Mapping[str, str] | None = None) -> None:
        """What the CLI sends before analysing: the stack, preview or update, its config."""
        self.stub.ConfigureStack(proto.AnalyzerStackConfigureRequest(
            stack="prod", project="platform", organization="organization", dry_run=dry_run,
            config=dict(config or {})))

    def analyze(self, type_: str, name: str, props: Mapping[str, Any],
                protect: bool = False) -> list[tuple[str, str, str]]:
        response = self.stub.Analyze(proto.AnalyzeRequest(
            urn=urn(type_, name), type=type_, name=name, properties=struct(props),
            options=proto.AnalyzerResourceOptions(protect=protect)))
        return findings(response)

    def analyze_stack(self, resources: Sequence[tuple[str, str, Mapping[str, Any],
                                                      Mapping[str, list[str]]]]
                      ) -> list[tuple[str, str, str, str]]:
        """resources: (type, name, props, {property: [dependency names]})."""
        types = {name: type_ for type_, name, _, _ in resources}
        request = proto.AnalyzeStackRequest()
        for type_, name, props, deps in resources:
            res = request.resources.add(urn=urn(type_, name), type=type_, name=name,
                                        properties=struct(props))
            for prop, names in deps.items():
                res.propertyDependencies[prop].CopyFrom(proto.AnalyzerPropertyDependencies(
                    urns=[urn(types[n], n) for n in names]))
                res.dependencies.extend(urn(types[n], n) for n in names)
        response = self.stub.AnalyzeStack(request)
        return [(d.policyName, LEVEL_NAMES[d.enforcementLevel], d.urn.rsplit("::", 1)[-1],
                 d.message.split("\n", 1)[-1]) for d in response.diagnostics]

    def close(self) -> None:
        self.channel.close()


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:prod::platform::{type_}::{name}"


def findings(response: Any) -> list[tuple[str, str, str]]:
    """(policy, level, message without the description line) per diagnostic."""
    return [(d.policyName, LEVEL_NAMES[d.enforcementLevel], d.message.split("\n", 1)[-1])
            for d in response.diagnostics]


def as_json(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message)


class InProcessPack:
    """The pack's analyzer served on a loopback port inside the test process."""

    def __init__(self) -> None:
        servicer = GuardrailAnalyzer(PACK_NAME, "0.1.0", build_policies(),
                                     EnforcementLevel.MANDATORY)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        proto.add_AnalyzerServicer_to_server(servicer, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.engine = Engine(f"127.0.0.1:{port}")

    def stop(self) -> None:
        self.engine.close()
        self.server.stop(0)
