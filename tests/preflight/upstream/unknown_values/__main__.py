"""Mirrors pulumi-policy tests/integration/unknown_values/program/index.ts: a pet whose prefix
is another resource's computed output."""

import pulumi_random as random

text = random.RandomString("str", length=10)
random.RandomPet("pet", prefix=text.result)
