"""Mirrors pulumi-policy tests/integration/parent_dependencies/program/index.ts."""

from resource import Resource

import pulumi
import pulumi_random as random

parent = Resource("parent")
Resource("child", opts=pulumi.ResourceOptions(parent=parent))
a = Resource("a")
Resource("b", opts=pulumi.ResourceOptions(depends_on=[a]))
text = random.RandomString("str", length=10)
random.RandomPet("pet", prefix=text.result)
