"""The pack keeps the exceptions it was last configured with (for the exception audits);
every test starts from none."""

import pytest

from policies.guardrails.core import set_configured_exceptions


@pytest.fixture(autouse=True)
def no_configured_exceptions():
    set_configured_exceptions({})
    yield
    set_configured_exceptions({})
