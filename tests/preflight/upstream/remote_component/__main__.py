"""Mirrors pulumi-policy tests/integration/remote_component/program: a multi-language
component (implemented in a provider plugin) whose child has an unknown keeper."""

import pulumi
import pulumi_random as random


class Component(pulumi.ComponentResource):
    def __init__(self, name, args, opts=None):
        super().__init__("testcomponent:index:Component", name, args, opts, remote=True)


rand = random.RandomString("random", length=10)
Component("component", {"bar": {"keepers": {"hello": "world", "hi": rand.id}}})
