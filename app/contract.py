"""The MQTT contract as JSON Schema (`centralita schema mqtt`): every topic, the payload
model published on it, and the commands each command topic takes. A desktop or a
wallboard can be written against it without reading the engine's code."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from core.commands import UNIONS
from core.payloads import PUBLISHED, Reply
from core.topics import Topics


def mqtt_contract(prefix: str) -> dict[str, Any]:
    topics = Topics(prefix).catalogue()
    return {
        "title": "centralita MQTT contract",
        "version": 1,
        "time_format": "call events: `at` ISO 8601 UTC; agent and queue snapshots: epoch "
                       "seconds (`at`, `since`)",
        "published": {name: {"topic": topics[name], "schema": model.model_json_schema()}
                      for name, model in PUBLISHED.items()},
        "commands": {kind: {"topic": topics[f"{kind}_commands"],
                            "replies": topics[f"{kind}_replies"],
                            "schema": TypeAdapter(union).json_schema()}
                     for kind, union in UNIONS.items()},
        "reply": Reply.model_json_schema(),
    }
