"""Mirrors pulumi-policy tests/integration/validate_python_resource/program/__main__.py."""

import pulumi
import pulumi_random

scenario = pulumi.Config().require_int("scenario")

if scenario == 1:
    pulumi_random.RandomUuid("r1")
elif scenario == 2:
    pulumi_random.RandomUuid("r2", keepers={})
elif scenario == 3:
    pulumi_random.RandomUuid("r3", keepers={"foo": "bar"})
