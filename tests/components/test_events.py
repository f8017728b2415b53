"""The event flow across sections: HTTPS reachability of services from workflows, and the
grants and environment each workload gets (EventFlow)."""

import json
from pathlib import Path
from typing import Any

import pulumi

from components.events import EventFlow, check_event_flow
from components.validation import config_path
from preflight.capture import capture

CONNECTION = ("arn:aws:events:eu-west-1:123456789012:connection/shipping/"
              "0b6f1a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b")


def spec(tmp_path: Path, domain: str | None, visibility: str) -> dict[str, Any]:
    definition = tmp_path / "ship.asl.json"
    definition.write_text(json.dumps({"StartAt": "Ship", "States": {"Ship": {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
        "Parameters": {"ApiEndpoint": "${service:web}/ship", "Method": "POST",
                       "Authentication": {"ConnectionArn": CONNECTION}}}}}))
    return {"load_balancer": {"certificate_arn": "arn:aws:acm:x",
                              **({"domain_name": domain} if domain else {})},
            "services": {"web": {"visibility": visibility}},
            "workflows": {"ship": {"definition": str(definition)}}}


def lines(found: list[Any]) -> list[str]:
    return [f"{config_path(p.path)}: {p.message}" for p in found]


def test_http_tasks_reach_public_services_behind_a_domain(tmp_path: Path) -> None:
    ok = {"load_balancer", "services", "workflows"}
    assert check_event_flow(spec(tmp_path, "shop.example.com", "public"), ok) == []
    message = (f"workflows.ship.definition.States.Ship.Parameters.ApiEndpoint: "
               f"{tmp_path / 'ship.asl.json'}: service web cannot be called over HTTPS from "
               "Step Functions: http:invoke reaches public services with a domain name "
               "(loadBalancer.domainName) only; use ecs:runTask, or a topic or queue, for "
               "internal services")
    assert lines(check_event_flow(spec(tmp_path, None, "public"), ok)) == [message]
    assert lines(check_event_flow(spec(tmp_path, "shop.example.com", "internal"), ok)) == [
        message]
    # A broken load balancer section is reported on its own, not through its references.
    assert check_event_flow(spec(tmp_path, None, "public"), ok - {"load_balancer"}) == []


def test_a_function_publisher_gets_the_grants_and_environment_of_its_flow() -> None:
    flow_spec: dict[str, Any] = {
        "events": {"topics": {"ledger": {"fifo": True,
                                         "publishers": [{"function": "billing"}],
                                         "subscribers": {"audit": {"service": "orders"}}}},
                   "bus": {"publishers": [{"function": "billing"}], "rules": {
                       "paid": {"event_pattern": {"source": ["billing"]},
                                "targets": {"t": {"queue": "ledger/audit",
                                                  "message_group_id": "g"}}}}}}}
    seen: dict[str, Any] = {}

    def program() -> None:
        flow = EventFlow("prod", flow_spec, "eu-west-1", "123456789012")
        access = flow.access("functions", "billing")
        pulumi.Output.all(access.grants, access.environment,
                          flow.rules_targeting("queue", "ledger/audit"),
                          flow.access("services", "orders").grants).apply(
            lambda parts: seen.update(grants=parts[0], env=parts[1], rules=parts[2],
                                      orders=parts[3]))
        assert access.key_actions == ["kms:Decrypt", "kms:GenerateDataKey"]

    capture(program, preview=False)
    assert seen["grants"] == [
        {"kind": "topic", "arn": "arn:aws:sns:eu-west-1:123456789012:prod-ledger.fifo",
         "access": "write"},
        {"kind": "event-bus", "arn": "arn:aws:events:eu-west-1:123456789012:event-bus/prod-events",
         "access": "write", "event_source": "billing"}]
    assert seen["env"] == {"TOPIC_LEDGER_ARN": "arn:aws:sns:eu-west-1:123456789012:prod-ledger.fifo",
                           "EVENT_BUS_NAME": "prod-events", "EVENT_SOURCE": "billing"}
    assert seen["rules"] == ["arn:aws:events:eu-west-1:123456789012:rule/prod-events/prod-events-paid"]
    assert seen["orders"] == [{"kind": "queue", "access": "read",
                               "arn": "arn:aws:sqs:eu-west-1:123456789012:prod-ledger-audit.fifo"}]
