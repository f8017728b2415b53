"""The policy pack directory. ``policies.guardrails`` holds the rules; ``policies/__main__.py``
serves them to the Pulumi CLI; ``python -m policies.docs`` regenerates docs/policies.md."""
