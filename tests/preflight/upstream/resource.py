"""A dynamic resource, as the upstream programs' ``resource.ts``: its provider is never called
offline, so its outputs are its inputs."""

import pulumi
from pulumi.dynamic import CreateResult, ResourceProvider
from pulumi.dynamic import Resource as DynamicResource


class Provider(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="0", outs=props)


class Resource(DynamicResource):
    def __init__(self, name, props=None, opts: pulumi.ResourceOptions | None = None):
        super().__init__(Provider(), name, props or {}, opts)
