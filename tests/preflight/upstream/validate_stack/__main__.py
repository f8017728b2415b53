"""Mirrors pulumi-policy tests/integration/validate_stack/program/index.ts."""

from resource import Resource

import pulumi
import pulumi_random as random

scenario = pulumi.Config().require_int("scenario")

if scenario == 2:
    Resource("hello", {"hello": "world"})
elif scenario == 3:
    Resource("a", {"state": 1})
elif scenario == 4:
    Resource("b", {"state": 2})
elif scenario == 5:
    Resource("c", {"state": 3})
elif scenario == 6:
    random.RandomUuid("r1")
elif scenario == 7:
    random.RandomString("r2", length=10)
elif scenario == 8:
    random.RandomPassword("r3", length=42)
elif scenario == 9:
    for name in ("x", "y", "z"):
        random.RandomInteger(name, min=0, max=10)
elif scenario == 10:
    Resource("d", {"foo": "bar"})
