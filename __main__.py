"""`pulumi up` entry point: validate the stack's config, build the Platform, export outputs."""

import pulumi

from components.platform import Platform
from components.spec import SpecError, load_platform_spec, stack_file

try:
    spec = load_platform_spec()
except SpecError as err:
    # One line per problem, no traceback, and nothing registered yet.
    raise pulumi.RunError("\n".join(err.lines(stack_file(pulumi.get_stack())))) from None

platform = Platform(pulumi.get_stack(), spec)
for key, value in platform.exports().items():
    pulumi.export(key, value)
