"""A program whose findings each point at a different line: buckets made from stack-file
keys (the key's line), a queue written here (this line) and a component's child (the line in
the component)."""

import pulumi
import pulumi_aws as aws
from storage import Store

config = pulumi.Config()
for key in config.require_object("buckets"):
    aws.s3.Bucket(f"{key}-bucket")

aws.sqs.Queue("jobs")
Store("media")
