"""Answers the HTTP API's order routes (API Gateway payload format 2.0)."""

import json


def handle(event, context):
    if event.get("routeKey") == "GET /orders":
        return {"statusCode": 200, "headers": {"content-type": "application/json"},
                "body": json.dumps({"orders": []})}
    return {"statusCode": 404, "body": json.dumps({"message": "not found"})}
