"""X-Ray: sampling rules that trace some of every request and not all of it."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Param, Resource, Settings, is_unknown, num, resource_policy, unknown

SAMPLING_RULE = "aws:xray/samplingRule:SamplingRule"
MATCH_FIELDS = ("serviceName", "serviceType", "host", "httpMethod", "urlPath", "resourceArn")


@resource_policy(
    "xray-sampling-rule-bounded",
    types=(SAMPLING_RULE,),
    description="Sampling rules trace something (a reservoir or a rate above zero) and a "
                "rule matching every request samples at most maxCatchAllPercent of it: tracing "
                "everything multiplies cost and copies request data into traces.",
    severity="low", refs=("AWS X-Ray sampling rules",),
    params={"maxCatchAllPercent": Param("integer", 10, "Highest fixed rate, in percent, of a "
                                        "rule that matches every request.", minimum=1)},
    remediation="Set reservoirSize to at least 1 and fixedRate to at most maxCatchAllPercent "
                "/ 100 (the Tracing component samples 5% in prod, 10% in staging); trace a "
                "route at a higher rate with its own, narrower rule.",
)
def sampling_bounded(r: Resource, s: Settings) -> Iterator[str]:
    rate, reservoir = r.get("fixedRate"), r.get("reservoirSize")
    if is_unknown(rate) or is_unknown(reservoir):
        yield unknown("fixedRate/reservoirSize", "the rule traces some requests, not all")
        return
    rate, reservoir = num(rate or 0), num(reservoir or 0)
    if not 0 <= rate <= 1:
        yield f"fixedRate is {rate}; it is a fraction between 0 and 1"
    elif rate == 0 and reservoir == 0:
        yield "fixedRate and reservoirSize are 0: the rule traces no request"
    fields = [r.get(f) for f in MATCH_FIELDS]
    if any(is_unknown(f) for f in fields):
        return
    most = s["maxCatchAllPercent"]
    if all(f in (None, "*") for f in fields) and rate > most / 100:
        yield (f"fixedRate is {rate} on a rule that matches every request; at most "
               f"{most / 100:g} allowed")
