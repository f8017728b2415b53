"""Billing: consumes order events from its own queue, once per event.

Topics and queues deliver at least once, so the same event can arrive twice (a redelivery
after a visibility timeout, a publisher's retry). Each event carries an ``eventId``; before
billing it, the handler claims that id in the ``processed-events`` table with a conditional
write, so a second delivery finds the claim and is skipped. A failed event releases its
claim and is reported back as a batch item failure: SQS redelivers only that message, and
after ``maxReceiveCount`` attempts moves it to the dead-letter queue.
"""

import json
import os
import time
from collections.abc import Callable
from typing import Any

CLAIM_DAYS = 7
"""Claims expire (TTL) after a week: far longer than any redelivery or replay window."""


class Duplicate(Exception):
    """The event was already claimed by an earlier delivery."""


def claim(table: Any, event_id: str, now: float) -> None:
    """Claim ``event_id``; raise :class:`Duplicate` if an earlier delivery holds it."""
    try:
        table.put_item(Item={"eventId": event_id, "expiresAt": int(now) + CLAIM_DAYS * 86400},
                       ConditionExpression="attribute_not_exists(eventId)")
    except Exception as exc:
        if type(exc).__name__ == "ConditionalCheckFailedException" or getattr(
                exc, "response", {}).get("Error", {}).get("Code") == \
                "ConditionalCheckFailedException":
            raise Duplicate(event_id) from exc
        raise


def bill(order: dict[str, Any]) -> None:
    """Charge the order (the payment provider call would go here)."""
    if not order.get("orderId"):
        raise ValueError("order event without orderId")


def process(records: list[dict[str, Any]], table: Any,
            handle: Callable[[dict[str, Any]], None] = bill,
            now: Callable[[], float] = time.time) -> dict[str, Any]:
    """Handle an SQS batch; return the partial-failure report Lambda expects."""
    failures = []
    for record in records:
        try:
            event = json.loads(record["body"])
            event_id = str(event["eventId"])
        except (KeyError, TypeError, ValueError):
            # Malformed: retrying cannot help; let it reach the dead-letter queue.
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        try:
            claim(table, event_id, now())
        except Duplicate:
            continue
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        try:
            handle(event)
        except Exception:
            table.delete_item(Key={"eventId": event_id})  # let the retry claim it again
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import boto3  # provided by the Lambda runtime

    table = boto3.resource("dynamodb").Table(os.environ["TABLE_PROCESSED_EVENTS"])
    return process(event.get("Records", []), table)
