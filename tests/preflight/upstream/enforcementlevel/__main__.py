"""Mirrors pulumi-policy tests/integration/enforcementlevel/program/index.ts."""

import pulumi_random as random

random.RandomString("str", length=10)
