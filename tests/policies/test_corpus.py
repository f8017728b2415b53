"""The pack on real public Pulumi programs (tests/policies/corpus, credited and adapted): the
findings a reviewer wrote down before the pack ran (corpus/expected.yaml) are caught, every
other finding has been judged (corpus/verdicts.yaml: right or wrong, and why), the exact
verdicts are pinned, and no program passes silently.

Each program runs twice under Pulumi's mocks, as a first preview (ids and computed outputs
unknown) and as an update (values known), and goes through the pack's real analyzer over
gRPC with the prod policy config (its levels and parameters; the platform's exceptions name
resources these programs do not have), the way the CLI runs the pack at preview and at up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from analyzer_client import InProcessPack, stack_config
from corpus_harness import (
    ACCOUNT,
    CORPUS,
    REGION,
    Finding,
    analyze,
    expectations,
    measure,
    run_program,
    verdicts,
)

UNKNOWN_PREVIEW = "is unknown at preview"


@dataclass(frozen=True)
class Program:
    config: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    invokes: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(
        default_factory=dict)


DEFAULT_VPC = {
    "aws:ec2/getVpc:getVpc": lambda a: {"id": "vpc-0d3fa017d5f1b2c3e", "default": True,
                                        "cidrBlock": "172.31.0.0/16"},
    "aws:ec2/getSubnets:getSubnets": lambda a: {
        "id": REGION, "ids": ["subnet-0a1b2c3d", "subnet-0b2c3d4e", "subnet-0c3d4e5f"]},
}
AMI = {"aws:ec2/getAmi:getAmi": lambda a: {"id": "ami-0c02fb55956c7d316",
                                           "architecture": "x86_64", "name": "amzn2-ami-hvm"}}

PROGRAMS: dict[str, Program] = {
    "fargate": Program(invokes=DEFAULT_VPC),
    "wordpress": Program(config={"wordpress:db_password": "correct-horse-battery"},
                         secrets=("wordpress:db_password",)),
    "apigateway-lambda": Program(),
    "webserver": Program(invokes=AMI),
    "vm": Program(invokes=AMI),
    "eks": Program(),
    "static-website": Program(
        config={"static-website:targetDomain": "www.example.org",
                "static-website:pathToWebsiteContents": "www",
                "static-website:certificateArn":
                    f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/5f3d9a1e-site"},
        invokes={"aws:route53/getZone:getZone": lambda a: {
            "id": "Z0123456789ABC", "zoneId": "Z0123456789ABC", "name": "example.org."}}),
    "s3-folder": Program(),
    "appsync": Program(),
    "stepfunctions": Program(),
    "secrets-manager": Program(),
    "guestbook": Program(),
}
PHASES = ("preview", "update")


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    yield _engine()


@functools.cache
def _pack() -> InProcessPack:
    pack = InProcessPack()  # kept alive by the cache: the server stops when it is collected
    pack.engine.configure(corpus_config())
    return pack


def corpus_config() -> dict[str, Any]:
    """The prod levels and parameters, without the platform's exceptions (they name the
    platform's resources, none of which a corpus program has)."""
    config: dict[str, Any] = {}
    for name, value in stack_config("prod").items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "exceptions"}
        config[name] = value
    return config


def _engine() -> Any:
    return _pack().engine


@functools.cache
def corpus_findings(name: str, phase: str) -> list[Finding]:
    program = PROGRAMS[name]
    config = {"aws:region": REGION, **program.config}
    registrations = run_program(CORPUS / name, config=config, secret_keys=list(program.secrets),
                                invokes=program.invokes, preview=phase == "preview")
    return analyze(_engine().stub, registrations)


def _pinned(found: list[Finding]) -> list[list[str]]:
    return [[f.resource, f.policy, f.message] for f in found]


def test_the_corpus_is_the_written_expectations() -> None:
    assert sorted(PROGRAMS) == sorted(expectations()) == sorted(verdicts())
    for name, entry in expectations().items():
        main = (CORPUS / name / "__main__.py").read_text()
        upstream = entry["upstream"].split()[0]
        assert main.startswith("# Corpus program, adapted for the policy tests from "
                               f"{upstream}"), name
    assert len(PROGRAMS) >= 12


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_verdicts_are_pinned(name: str, phase: str) -> None:
    found = corpus_findings(name, phase)
    assert _pinned(found) == verdicts()[name][phase]
    # prod: every policy mandatory, so every finding blocks the deploy
    assert {f.level for f in found} <= {"mandatory"}
    assert found, f"{name} passes silently"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_every_finding_beyond_the_expectations_is_judged(name: str) -> None:
    expected = {f"{r} {p}" for r, p, _ in expectations()[name]["findings"]}
    judged = verdicts()[name]
    extra, wrong = judged.get("extra") or {}, judged.get("wrong") or {}
    assert not set(extra) & set(wrong)
    unjudged = sorted({f"{f.resource} {f.policy}" for f in corpus_findings(name, "update")}
                      - expected - set(extra) - set(wrong))
    assert unjudged == []


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_at_preview_nothing_expected_passes_silently(name: str) -> None:
    # Values unknown at a first preview are reported as such, never passed.
    found = {(f.resource, f.policy) for f in corpus_findings(name, "preview")}
    missing = [(r, p) for r, p, _ in expectations()[name]["findings"] if (r, p) not in found]
    update = {(f.resource, f.policy) for f in corpus_findings(name, "update")}
    assert [m for m in missing if m in update] == []


def test_catch_rate_and_false_findings_meet_the_bar() -> None:
    results = [measure(name, corpus_findings(name, "update")) for name in sorted(PROGRAMS)]
    caught = sum(r["caught"] for r in results)
    expected = sum(r["expected"] for r in results)
    wrong = sum(r["wrong"] for r in results)
    findings = sum(r["findings"] for r in results)
    assert caught / expected >= 0.9, [(n, r["missed"]) for n, r in zip(sorted(PROGRAMS),
                                                                        results, strict=True)]
    assert wrong / findings <= 0.05
