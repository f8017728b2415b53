"""AWS Signer: signing profiles whose signatures expire, and signing jobs that stop the
deployment when signing fails."""

from __future__ import annotations

import math
from collections.abc import Iterator

from .core import Param, Resource, Settings, is_unknown, num, resource_policy, unknown

PROFILE = "aws:signer/signingProfile:SigningProfile"
JOB = "aws:signer/signingJob:SigningJob"
DEFAULT_VALIDITY_MONTHS = 135
"""How long AWS Signer keeps a signature valid when the profile does not say."""
MONTHS_PER_UNIT = {"MONTHS": 1, "YEARS": 12}


@resource_policy(
    "signer-profile-bounded-validity",
    types=(PROFILE,),
    description="Signing profiles give signatures a bounded validity (at most "
                "maxValidityMonths), so code signed with a compromised or retired profile "
                "stops being deployable.",
    severity="medium", refs=("AWS Signer: signature validity period",),
    params={"maxValidityMonths": Param("integer", 12, "Longest validity of a signature, in "
                                       "months.", minimum=1)},
    remediation="Set signatureValidityPeriod {value: 12, type: MONTHS} (or shorter), and "
                "revoke the profile version when it is retired.",
)
def bounded_validity(r: Resource, s: Settings) -> Iterator[str]:
    most = s["maxValidityMonths"]
    value, unit = r.get("signatureValidityPeriod.value"), r.get("signatureValidityPeriod.type")
    if is_unknown(value) or is_unknown(unit):
        yield unknown("signatureValidityPeriod", f"signatures expire within {most} months")
        return
    if value is None:
        yield (f"signatureValidityPeriod is not set: signatures stay valid "
               f"{DEFAULT_VALIDITY_MONTHS} months; at most {most} allowed")
        return
    months = num(value) * MONTHS_PER_UNIT[unit] if unit in MONTHS_PER_UNIT \
        else math.ceil(num(value) / 30)
    if months > most:
        yield (f"signatureValidityPeriod is {num(value)} {unit}; at most {most} months "
               "allowed")


@resource_policy(
    "signer-job-fails-closed",
    types=(JOB,),
    description="Signing jobs fail the deployment when signing fails, instead of reporting "
                "the failure and going on.",
    severity="high", refs=("AWS Signer StartSigningJob",),
    remediation="Leave ignoreSigningJobFailure unset (false).",
)
def job_fails_closed(r: Resource, s: Settings) -> Iterator[str]:
    ignore = r.get("ignoreSigningJobFailure")
    if is_unknown(ignore):
        yield unknown("ignoreSigningJobFailure", "a failed signing stops the deployment")
    elif ignore is True:
        yield ("ignoreSigningJobFailure is true: a failed signing lets the deployment go on "
               "with unsigned code")
