"""Mirrors pulumi-policy tests/integration/resource_options/program/index.ts."""

from resource import Resource

import pulumi
import pulumi_random as random

Opts = pulumi.ResourceOptions

Resource("empty")
random.RandomUuid("uuid")
Resource("protect", opts=Opts(protect=True))
Resource("ignoreChanges", opts=Opts(ignore_changes=["foo", "bar"]))
Resource("deleteBeforeReplaceNotSet")
Resource("deleteBeforeReplaceTrue", opts=Opts(delete_before_replace=True))
Resource("deleteBeforeReplaceFalse", opts=Opts(delete_before_replace=False))
Resource("aliased", opts=Opts(aliases=[pulumi.Alias(name="old-name-for-aliased")]))
Resource("timeouts", opts=Opts(custom_timeouts=pulumi.CustomTimeouts(
    create="1m", update="2m", delete="3m")))
Resource("timeouts-create", opts=Opts(custom_timeouts=pulumi.CustomTimeouts(create="4m")))
Resource("timeouts-update", opts=Opts(custom_timeouts=pulumi.CustomTimeouts(update="5m")))
Resource("timeouts-delete", opts=Opts(custom_timeouts=pulumi.CustomTimeouts(delete="6m")))
Resource("secrets", opts=Opts(additional_secret_outputs=["foo"]))
parent = Resource("parent-res")
Resource("child-res", opts=Opts(parent=parent))
