"""/graphql's answers are encoded by orjson where that writes the bytes Strawberry's
`json.dumps(data, separators=(",", ":"))` wrote, and by json everywhere else: the same bytes."""

from __future__ import annotations

import enum
import json
import random
import struct
import uuid
from datetime import UTC, datetime

import pytest

from agentdeck.app import encode_graphql_json
from agentdeck.schema import build_schema


def strawberry_bytes(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


class Shade(enum.StrEnum):
    DARK = "dark"


class Level(enum.IntEnum):
    HIGH = 3


PAGE = {
    "data": {
        "conversations": {
            "nodes": [
                {
                    "id": "Q29udmVyc2F0aW9uOjFhMmIzYzRlLTU2Nzg=",
                    "databaseId": str(uuid.UUID(int=i * 0x1E0000000001)),
                    "displayName": "re-run the e-mail 1e-5",
                    "messageCount": i,
                    "agent": {"key": "default"},
                }
                for i in range(50)
            ],
            "pageInfo": {"endCursor": "Y3Vyc29yOjQ5", "hasNextPage": True},
        }
    }
}


@pytest.mark.parametrize(
    "data",
    [
        PAGE,
        {"data": None, "errors": [{"message": "x", "locations": [{"line": 1, "column": 2}], "path": ["a", 0]}]},
        [{"data": {"a": 1}}, {"data": {"b": [True, False, None]}}],  # a batch
        {"text": 'é ü 中文 😀 \u2028 \x7f \x00 \x1f \n \t " \\ /'},
        {"lone": "\ud800 and \udfff"},
        {"floats": [1e-05, 0.00001234, -1.5e-07, 5e-324, 1e16, 1e22, 0.1, 100.0, -0.0, 1.7976931348623157e308]},
        {"in_text": "1e-5, 0.00001]", "n": 1},
        {"big": 2**70, "neg": -(2**64)},
        {"enum": Shade.DARK, "int_enum": Level.HIGH, "tuple": (1, 2)},
        {1: "int key"},
    ],
)
def test_same_bytes_as_strawberrys_encoder(data):
    assert encode_graphql_json(data) == strawberry_bytes(data)


def test_same_bytes_for_any_float():
    rng = random.Random(7)
    for i in range(20_000):
        if i % 2:
            value = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
            if value != value or value in (float("inf"), float("-inf")):
                continue
        else:
            value = rng.random() * 10 ** rng.randint(-30, 30)
        for data in ({"a": value}, {"a": [1, -value]}, [value]):
            assert encode_graphql_json(data) == strawberry_bytes(data), data


def test_what_json_refuses_is_still_refused():
    with pytest.raises(TypeError):
        encode_graphql_json({"at": datetime.now(UTC)})


@pytest.mark.parametrize(
    "value",
    [{"a": float("nan")}, [1, float("inf")], float("-inf"), {"a": {"b": [float("nan")]}}, {"a": 1.5, "b": "x"}],
)
def test_json_values_orjson_would_write_otherwise_are_left_to_json(value):
    serialize = build_schema()._schema.type_map["JSON"].serialize
    answer = {"data": {"metadata": serialize(value)}}
    assert encode_graphql_json(answer) == strawberry_bytes({"data": {"metadata": value}})


def test_json_values_json_refuses_are_still_refused():
    serialize = build_schema()._schema.type_map["JSON"].serialize
    with pytest.raises(TypeError):
        encode_graphql_json({"data": {"metadata": serialize({"id": uuid.uuid4()})}})
