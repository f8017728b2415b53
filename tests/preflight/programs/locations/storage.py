"""A component: its child is registered on a line of this file."""

import pulumi
import pulumi_aws as aws


class Store(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("locations:index:Store", name, None, opts)
        self.bucket = aws.s3.Bucket(f"{name}-objects", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
