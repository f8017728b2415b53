"""Mirrors pulumi-policy tests/integration/validate_resource/program/index.ts."""

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
    Resource("d", {"state": 4})
elif scenario == 7:
    random.RandomUuid("r1")
elif scenario == 8:
    random.RandomUuid("r2", keepers={"foo": "bar"})
elif scenario == 9:
    Resource("e", {"state": 5})
elif scenario == 10:
    random.RandomPassword("pass", length=42)
elif scenario == 11:
    # A property larger than gRPC's default 4 MiB message limit.
    Resource("large-resource", {"state": 6, "longString": "a" * 5 * 1024 * 1024})
