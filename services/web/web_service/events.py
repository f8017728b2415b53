"""Order events: publish one when asked, and consume the service's own subscription queue.

Delivery is at least once: SNS and SQS may hand the same event over twice (a publisher's
retry, a redelivery after the visibility timeout). Every event therefore carries an
``eventId`` and consumers handle an id once: :class:`Consumer` claims it in a
:class:`ClaimStore` before handling it, deletes the message only after the handler
succeeded, and leaves a failing message in the queue, which redelivers it and finally moves
it to the dead-letter queue. A publisher that retries passes the same id (the HTTP
``Idempotency-Key``), so the retry is recognised downstream.

Publishing is the platform's wiring: ``TOPIC_ORDER_EVENTS_ARN`` names the topic the task
role may ``sns:Publish`` to, ``QUEUE_ORDER_EVENTS_URL`` the queue it may read.
"""

import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from .logs import log


def _client(service: str) -> Any:
    import boto3  # only tasks that publish or consume need the AWS SDK

    return boto3.client(service)


class Publisher:
    """Publishes events to one topic; the event type is a message attribute, so
    subscriptions can filter on it."""

    def __init__(self, topic_arn: str, client: Any = None):
        self.topic_arn = topic_arn
        self.client = client if client is not None else _client("sns")

    def publish(self, event_type: str, detail: dict[str, Any],
                event_id: str | None = None) -> str:
        event_id = event_id or str(uuid.uuid4())
        message = {"eventId": event_id, "eventType": event_type,
                   "occurredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "detail": detail}
        request: dict[str, Any] = {
            "TopicArn": self.topic_arn, "Message": json.dumps(message, sort_keys=True),
            "MessageAttributes": {"eventType": {"DataType": "String",
                                                "StringValue": event_type}}}
        if self.topic_arn.endswith(".fifo"):
            # Ordered per order; SNS drops a repeated id within five minutes.
            request["MessageGroupId"] = str(detail.get("orderId", event_type))
            request["MessageDeduplicationId"] = event_id
        self.client.publish(**request)
        log.info("event published", event_type=event_type, event_id=event_id)
        return event_id


class ClaimStore(Protocol):
    def claim(self, event_id: str) -> bool:
        """True if ``event_id`` was not claimed before (and now is)."""

    def release(self, event_id: str) -> None:
        """Forget a claim whose handling failed, so a redelivery is handled."""


class MemoryClaims:
    """Claims kept in the task, for the most recent ``capacity`` ids. Enough for the
    redeliveries one task sees; a flow where any task may get the redelivery keeps claims
    in a table instead (``functions/billing`` does, with a conditional write)."""

    def __init__(self, capacity: int = 10_000):
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._ids:
                self._ids.move_to_end(event_id)
                return False
            self._ids[event_id] = None
            if len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
            return True

    def release(self, event_id: str) -> None:
        with self._lock:
            self._ids.pop(event_id, None)


class Consumer:
    """Reads the subscription queue (raw delivery: the body is the event itself)."""

    def __init__(self, queue_url: str, handle: Callable[[dict[str, Any]], None],
                 client: Any = None, claims: ClaimStore | None = None,
                 wait_seconds: int = 20):
        self.queue_url = queue_url
        self.handle = handle
        self.client = client if client is not None else _client("sqs")
        self.claims = claims if claims is not None else MemoryClaims()
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> dict[str, int]:
        """One receive; returns how many messages were handled, duplicates, failed."""
        response = self.client.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10,
            WaitTimeSeconds=self.wait_seconds, MessageAttributeNames=["All"])
        counts = {"handled": 0, "duplicates": 0, "failed": 0}
        for message in response.get("Messages", []):
            try:
                event = json.loads(message["Body"])
                event_id = str(event["eventId"])
            except (KeyError, TypeError, ValueError):
                # Retrying cannot fix it: leave it to reach the dead-letter queue.
                log.warning("malformed event", message_id=message.get("MessageId"))
                counts["failed"] += 1
                continue
            if not self.claims.claim(event_id):
                self._delete(message)
                counts["duplicates"] += 1
                continue
            try:
                self.handle(event)
            except Exception as exc:
                self.claims.release(event_id)
                log.warning("event failed", event_id=event_id, error=str(exc))
                counts["failed"] += 1
                continue
            self._delete(message)
            counts["handled"] += 1
        return counts

    def _delete(self, message: dict[str, Any]) -> None:
        self.client.delete_message(QueueUrl=self.queue_url,
                                   ReceiptHandle=message["ReceiptHandle"])

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.poll_once()
                except Exception as exc:  # the queue is unreachable: back off, keep going
                    log.warning("queue poll failed", error=str(exc))
                    self._stop.wait(5)
        self._thread = threading.Thread(target=loop, name="order-events", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the current receive (at most ``wait_seconds``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def log_event(event: dict[str, Any]) -> None:
    """The reference consumer's work: record that the event arrived."""
    log.info("event received", event_type=event.get("eventType"),
             event_id=event.get("eventId"))
