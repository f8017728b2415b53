"""Mirrors pulumi-policy tests/integration/runtime_data/program/index.ts: a resource carrying
the runtime data the program saw, which the pack compares with what it sees."""

from resource import Resource

import pulumi

Resource("Hello", {"getProject": pulumi.get_project(), "getStack": pulumi.get_stack(),
                   "isDryRun": pulumi.runtime.is_dry_run()})
