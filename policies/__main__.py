"""Entry point the Pulumi CLI runs (``python -m pulumi.policy <engine address> <pack dir>``
runs this file with the pack directory first on ``sys.path``): assemble the pack and serve
it. Every rule lives in the importable ``guardrails`` package."""

from guardrails import GuardrailAnalyzer, build_policies, serve
from guardrails.pack import PACK_DESCRIPTION, PACK_NAME, PACK_REPOSITORY, PACK_VERSION

serve(GuardrailAnalyzer(PACK_NAME, PACK_VERSION, build_policies(),
                        description=PACK_DESCRIPTION, provider="aws",
                        repository=PACK_REPOSITORY))
