"""Reference handler for the orders API: answers API Gateway (payload 2.0) requests and
reports partial batch failures for SQS batches.

Secrets arrive as ``<NAME>_ARN`` environment variables and are fetched at runtime, never
placed in the environment themselves.
"""

import json
import logging
import os

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


def handle(event, context):
    """Entry point (``handler.handle``)."""
    if "Records" in event:
        return _batch(event["Records"])
    route = event.get("routeKey", "")
    logger.info("request", extra={"route": route})
    if route == "GET /orders":
        return _respond(200, {"orders": []})
    if route.startswith("GET /orders/"):
        order_id = (event.get("pathParameters") or {}).get("proxy", "")
        return _respond(200, {"id": order_id})
    return _respond(404, {"message": "not found"})


def _batch(records):
    failures = []
    for record in records:
        try:
            json.loads(record.get("body") or "{}")
        except ValueError:
            logger.warning("unreadable message", extra={"messageId": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def _respond(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(body)}
