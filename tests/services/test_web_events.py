"""Order events end to end, in process: the web service publishes when asked, its consumer
and the billing function handle each event once however often it is delivered, and a
failing event stays queued for redelivery (then the dead-letter queue).

SNS, SQS and DynamoDB are in-memory fakes that keep the calls the AWS SDK would make;
the fakes deliver at least once, as the real services may."""

import asyncio
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "services" / "web"))
from web_service.app import create_app  # noqa: E402
from web_service.config import Settings  # noqa: E402
from web_service.events import Consumer, MemoryClaims, Publisher  # noqa: E402

sys.path.remove(str(ROOT / "services" / "web"))

_spec = importlib.util.spec_from_file_location("billing_handler",
                                               ROOT / "functions" / "billing" / "handler.py")
assert _spec is not None and _spec.loader is not None
billing = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(billing)

TOPIC = "arn:aws:sns:eu-west-1:123456789012:prod-order-events"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/prod-order-events-orders"


class AppClient:
    """Requests straight into the ASGI app (no lifespan: the test wires the state)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                         base_url="http://web") as client:
                return await client.post(path, **kwargs)
        # A private loop: asyncio.run would unset the thread's loop that later Pulumi
        # programs in the same test process rely on.
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(send())
        finally:
            loop.close()


class FakeSns:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def publish(self, **request: Any) -> dict[str, str]:
        self.calls.append(request)
        return {"MessageId": f"m-{len(self.calls)}"}


class FakeSqs:
    """A queue that hands out what it holds; deleted messages go away, others come back."""

    def __init__(self, bodies: list[str]) -> None:
        self.messages = [{"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body}
                         for i, body in enumerate(bodies)]
        self.deleted: list[str] = []
        self.receives: list[dict[str, Any]] = []

    def receive_message(self, **request: Any) -> dict[str, Any]:
        self.receives.append(request)
        return {"Messages": [m for m in self.messages if m["ReceiptHandle"] not in self.deleted]}

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:
        assert QueueUrl == QUEUE
        self.deleted.append(ReceiptHandle)


def event(event_id: str, order: str = "o-1") -> str:
    return json.dumps({"eventId": event_id, "eventType": "OrderPlaced",
                       "detail": {"orderId": order}})


# --- publishing ---------------------------------------------------------------------------------

@pytest.fixture
def published() -> Iterator[tuple[AppClient, FakeSns]]:
    sns = FakeSns()
    app = create_app(Settings(topic_arn=TOPIC))
    app.state.web.publisher = Publisher(TOPIC, client=sns)
    yield AppClient(app), sns


def test_post_orders_publishes_order_placed_with_the_event_type_attribute(
        published: tuple[AppClient, FakeSns]) -> None:
    client, sns = published
    response = client.post("/orders", json={"orderId": "o-42"},
                           headers={"Idempotency-Key": "key-1"})
    assert response.status_code == 202
    assert response.json() == {"eventId": "key-1", "orderId": "o-42"}
    (call,) = sns.calls
    message = json.loads(call.pop("Message"))
    assert call == {"TopicArn": TOPIC, "MessageAttributes": {
        "eventType": {"DataType": "String", "StringValue": "OrderPlaced"}}}
    assert (message["eventId"], message["eventType"], message["detail"]) == (
        "key-1", "OrderPlaced", {"orderId": "o-42"})


def test_a_retried_request_publishes_the_same_event_id(
        published: tuple[AppClient, FakeSns]) -> None:
    client, sns = published
    for _ in range(2):
        client.post("/orders", json={"orderId": "o-42"}, headers={"Idempotency-Key": "k"})
    assert [json.loads(c["Message"])["eventId"] for c in sns.calls] == ["k", "k"]


def test_without_a_key_every_order_gets_its_own_event_id(
        published: tuple[AppClient, FakeSns]) -> None:
    client, _ = published
    ids = {client.post("/orders", json={"orderId": "o-1"}).json()["eventId"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("body", [{}, {"orderId": ""}, {"orderId": 7}, ["o-1"]])
def test_bad_orders_are_rejected_and_nothing_is_published(
        published: tuple[AppClient, FakeSns], body: Any) -> None:
    client, sns = published
    response = client.post("/orders", json=body)
    assert (response.status_code, response.json()) == (
        400, {"error": "orderId (1-64 characters) is required"})
    assert sns.calls == []


def test_unwired_service_says_so() -> None:
    client = AppClient(create_app(Settings()))
    response = client.post("/orders", json={"orderId": "o-1"})
    assert (response.status_code, response.json()) == (
        503, {"error": "order events are not configured"})


def test_fifo_topics_get_a_group_and_deduplication_id() -> None:
    sns = FakeSns()
    Publisher(TOPIC + ".fifo", client=sns).publish("OrderPlaced", {"orderId": "o-9"}, "e-9")
    assert (sns.calls[0]["MessageGroupId"], sns.calls[0]["MessageDeduplicationId"]) == (
        "o-9", "e-9")


# --- the service's consumer ---------------------------------------------------------------------

def test_consumer_handles_each_event_once_and_deletes_duplicates() -> None:
    queue = FakeSqs([event("e-1"), event("e-1"), event("e-2")])  # e-1 delivered twice
    handled: list[str] = []
    consumer = Consumer(QUEUE, lambda e: handled.append(e["eventId"]), client=queue,
                        wait_seconds=0)
    assert consumer.poll_once() == {"handled": 2, "duplicates": 1, "failed": 0}
    assert handled == ["e-1", "e-2"]
    assert queue.deleted == ["r0", "r1", "r2"]
    assert queue.receives[0] == {"QueueUrl": QUEUE, "MaxNumberOfMessages": 10,
                                 "WaitTimeSeconds": 0, "MessageAttributeNames": ["All"]}


def test_a_failing_event_stays_queued_and_is_handled_when_redelivered() -> None:
    queue = FakeSqs([event("e-1")])
    attempts: list[str] = []

    def flaky(e: dict[str, Any]) -> None:
        attempts.append(e["eventId"])
        if len(attempts) == 1:
            raise RuntimeError("downstream unavailable")

    consumer = Consumer(QUEUE, flaky, client=queue, wait_seconds=0)
    assert consumer.poll_once() == {"handled": 0, "duplicates": 0, "failed": 1}
    assert queue.deleted == []  # SQS redelivers it after the visibility timeout
    assert consumer.poll_once() == {"handled": 1, "duplicates": 0, "failed": 0}
    assert (attempts, queue.deleted) == (["e-1", "e-1"], ["r0"])


def test_malformed_messages_are_left_for_the_dead_letter_queue() -> None:
    queue = FakeSqs(["not json", json.dumps({"eventType": "OrderPlaced"})])
    consumer = Consumer(QUEUE, lambda e: None, client=queue, wait_seconds=0)
    assert consumer.poll_once() == {"handled": 0, "duplicates": 0, "failed": 2}
    assert queue.deleted == []


def test_memory_claims_are_bounded() -> None:
    claims = MemoryClaims(capacity=2)
    assert [claims.claim(i) for i in ("a", "b", "a", "c", "a", "b")] == [
        True, True, False, True, False, True]


# --- the billing function -----------------------------------------------------------------------

class ConditionalCheckFailedException(Exception):
    pass


class FakeTable:
    """put_item with attribute_not_exists, as DynamoDB evaluates it."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_item(self, Item: dict[str, Any], ConditionExpression: str) -> None:
        assert ConditionExpression == "attribute_not_exists(eventId)"
        if Item["eventId"] in self.items:
            raise ConditionalCheckFailedException()
        self.items[Item["eventId"]] = Item

    def delete_item(self, Key: dict[str, str]) -> None:
        self.items.pop(Key["eventId"], None)


def records(*bodies: str) -> list[dict[str, Any]]:
    return [{"messageId": f"m{i}", "body": body} for i, body in enumerate(bodies)]


def test_billing_bills_each_event_once_across_redeliveries() -> None:
    table, billed = FakeTable(), []
    batch = records(event("e-1", "o-1"), event("e-2", "o-2"))
    for _ in range(2):  # the whole batch delivered again
        report = billing.process(batch, table, handle=lambda e: billed.append(e["eventId"]),
                                 now=lambda: 1_700_000_000)
        assert report == {"batchItemFailures": []}
    assert billed == ["e-1", "e-2"]
    assert table.items["e-1"] == {"eventId": "e-1", "expiresAt": 1_700_000_000 + 7 * 86400}


def test_billing_reports_only_the_failed_item_and_releases_its_claim() -> None:
    table = FakeTable()

    def bill(e: dict[str, Any]) -> None:
        if e["eventId"] == "e-2":
            raise RuntimeError("payment provider down")

    batch = records(event("e-1"), event("e-2"), "{broken")
    assert billing.process(batch, table, handle=bill) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert sorted(table.items) == ["e-1"]  # e-2 may be claimed again by its redelivery


def test_billing_rejects_orders_without_an_id() -> None:
    with pytest.raises(ValueError, match="without orderId"):
        billing.bill({"eventId": "e-1"})
