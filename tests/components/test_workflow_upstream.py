"""The workflow checks against state machines written by others (fixtures/asl, copied from
aws-samples/step-functions-workflows-collection; see fixtures/asl/README.md): real, working
definitions raise no structure, flow or retry problem, only the platform's own rules
(integrations it can grant, resources named by key); adapted to those rules they pass and
get exactly their permissions; broken on purpose, they fail with exact messages."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from components.validation import config_path
from components.workflow import Definition, check_definition, role_statements
from preflight.capture import capture

FIXTURES = Path(__file__).with_name("fixtures") / "asl"
PLATFORM_RULES = ("must name a ", "is not an integration the platform can grant",
                  "is not a placeholder the platform resolves")
R, A = "us-east-1", "123456789012"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.asl.json").read_text())


def problems(doc: dict[str, Any], known: dict[str, Any] | None = None) -> list[str]:
    found = check_definition(Definition(doc), {"definition": "upstream.asl.json"},
                             known or {"function": {}, "service": {}, "topic": {},
                                       "queue": {}, "http": {}})
    return [f"{config_path(p.path)}: {p.message}" for p in found]


@pytest.mark.parametrize("name", sorted(p.name.removesuffix(".asl.json")
                                        for p in FIXTURES.glob("*.asl.json")))
def test_upstream_definitions_only_meet_the_platforms_own_rules(name: str) -> None:
    found = problems(load(name))
    assert found, "every upstream definition names resources the platform's way does not"
    assert [p for p in found if not any(rule in p for rule in PLATFORM_RULES)] == []


def saga_on_the_platform() -> dict[str, Any]:
    """The saga with its SAM substitutions turned into this platform's placeholders."""
    text = (FIXTURES / "saga-pattern-sam.asl.json").read_text()
    text = text.replace("${snsTopicArn}", "${topic:travel-updates}")
    text = re.sub(r"\$\{(\w+)Function\}",
                  lambda m: "${function:" + re.sub(r"(?<!^)([A-Z])", r"-\1", m.group(1)).lower()
                  + "}", text)
    return json.loads(text)


FUNCTIONS = ["cancel-car-rental", "cancel-flight", "confirm-car-rental", "confirm-flight",
             "process-payment", "refund-payment", "reserve-car-rental", "reserve-flight"]
KNOWN = {"function": dict.fromkeys(FUNCTIONS, 3), "service": {}, "http": {},
         "topic": {"travel-updates": 1}, "queue": {}}


def test_the_saga_adapted_to_the_platform_is_clean_and_gets_exactly_its_calls() -> None:
    doc = saga_on_the_platform()
    assert problems(doc, KNOWN) == []
    definition = Definition(doc)
    check_definition(definition, {"definition": "saga"}, KNOWN)
    seen: dict[str, Any] = {}

    def program() -> None:
        fn = {k: f"arn:aws:lambda:{R}:{A}:function:prod-{k}" for k in FUNCTIONS}
        statements = role_statements(definition, {
            "definition": "saga", "kms_key_arn": f"arn:aws:kms:{R}:{A}:key/k",
            "functions": fn, "topics": {"travel-updates": f"arn:aws:sns:{R}:{A}:prod-travel"}},
            f"arn:aws:states:{R}:{A}:stateMachine:prod-saga", R, A)
        import pulumi
        pulumi.Output.json_dumps(statements).apply(lambda t: seen.update(doc=json.loads(t)))

    capture(program, preview=False)
    by_sid = {s["Sid"]: s for s in seen["doc"]}
    assert sorted(by_sid) == ["EncryptMessages", "InvokeFunctions", "LogDelivery",
                              "PublishTopics", "StateMachineData", "Tracing"]
    assert by_sid["InvokeFunctions"]["Resource"] == [
        f"arn:aws:lambda:{R}:{A}:function:prod-{k}" for k in FUNCTIONS]
    assert by_sid["PublishTopics"]["Resource"] == [f"arn:aws:sns:{R}:{A}:prod-travel"]


def test_breaking_the_saga_is_reported_exactly() -> None:
    doc = saga_on_the_platform()
    del doc["States"]["ProcessPayment"]
    doc["States"]["RefundPayment"]["Retry"][0]["BackoffRate"] = 0.5
    states = ("CancelFlightReservation, CancelRentalReservation, ConfirmCarRental, "
              "ConfirmFlight, RefundPayment, Reservation Failed, Reservation Successful!, "
              "ReserveCarRental, ReserveFlight, SendingSMSFailure, SendingSMSSuccess")
    assert problems(doc, KNOWN) == [
        f"definition.States.ReserveCarRental.Next: 'ProcessPayment' is not a state here "
        f"(states: {states})",
        "definition.States.RefundPayment.Retry[0].BackoffRate: must be at least 1.0 (got 0.5): "
        "retries never wait less than the one before",
        "definition.States.ConfirmCarRental: is not reachable from StartAt (ReserveFlight)",
        "definition.States.ConfirmFlight: is not reachable from StartAt (ReserveFlight)",
        "definition.States.RefundPayment: is not reachable from StartAt (ReserveFlight)",
        "definition.States.Reservation Successful!: is not reachable from StartAt "
        "(ReserveFlight)",
        "definition.States.SendingSMSSuccess: is not reachable from StartAt (ReserveFlight)"]


def test_parallel_parameters_from_upstream_are_accepted() -> None:
    """cfn-lint's schema lacks Parameters on Parallel states; the States Language has it."""
    doc = load("quorum-with-parallel-pattern")
    parallel = next(n for n, s in doc["States"].items() if s["Type"] == "Parallel")
    assert "Parameters" in doc["States"][parallel]
    assert not [p for p in problems(doc) if f"States.{parallel}.Parameters:" in p]
