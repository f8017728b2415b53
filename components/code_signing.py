"""Code signing for Lambda: a signer profile, a code-signing configuration that functions
enforce, and the bucket through which every package is signed on its way to Lambda.

The delivery path of a function's code is ``pulumi up`` (the deploy workflow runs it). With
code signing, a :class:`~components.function.FunctionService` whose code is a directory
does not hand the zip to Lambda directly: it uploads it to this bucket
(``unsigned/<function>.zip``; the bucket is versioned because Signer signs one exact object
version), an AWS Signer signing job signs that version with this profile into
``signed/<function>/``, and the function is deployed from the signed object with this
configuration attached. Lambda checks the signature on every code deployment and, since the
configuration's policy is ``Enforce``, refuses a package that is unsigned, signed by another
profile, altered after signing, or signed by a revoked profile version. Changing the code
changes the uploaded version, so the next ``pulumi up`` signs it again.

Container-image functions are outside Lambda code signing (AWS supports it for zip packages
only); their images come from ECR repositories with scan-on-push and immutable tags.

Signatures are valid for ``signature_validity_months`` (default 12): Lambda verifies at
deployment only, so a running function is unaffected by its signature expiring; deploying
the same package later than that needs a new signature, which a code change produces.
"""

import re
from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, type_token
from .buckets import kms_only_policy, private_bucket, regional_bucket_name
from .encryption import aws_context, tags_with
from .validation import Problem, check_range, raise_for

PLATFORM_ID = "AWSLambda-SHA384-ECDSA"
"""The one signing platform Lambda accepts."""
SIGNED_TIERS = ("staging", "prod")
"""Tiers whose functions must run signed code; dev deploys zips directly for speed."""
DEFAULT_VALIDITY_MONTHS = 12


class CodeSigningArgs(TypedDict):
    """What the signer profile, the configuration and the code bucket need."""

    kms_key_arn: pulumi.Input[str]
    """Customer managed key that encrypts the packages in the code bucket."""
    signature_validity_months: NotRequired[int]
    """How long a signature stays valid for new deployments, 1-135 months (default 12)."""
    log_bucket: NotRequired[pulumi.Input[str]]
    """The platform's log bucket: the code bucket's S3 access logs go there."""
    protect: NotRequired[bool]
    """Protect the code bucket (and retain it on delete): it holds what was deployed."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child."""


class CodeSigningRef(TypedDict):
    """How a function signs its package: what :class:`CodeSigning` publishes."""

    config_arn: pulumi.Input[str]
    """The code-signing configuration the function enforces."""
    profile_name: pulumi.Input[str]
    """The signer profile that signs the package."""
    bucket: pulumi.Input[str]
    """The versioned bucket packages are uploaded to and signed into."""


def check_code_signing(args: CodeSigningArgs) -> list[Problem]:
    return check_range(("signature_validity_months",),
                       args.get("signature_validity_months", DEFAULT_VALIDITY_MONTHS), 1, 135,
                       "signatureValidityMonths")


def profile_name(name: str) -> str:
    """Signer profile names allow letters, digits and ``_`` only (2-64)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:64]


class CodeSigning(pulumi.ComponentResource):
    """A signer profile for Lambda, an enforcing code-signing configuration, and the
    versioned, KMS-encrypted bucket through which packages are signed."""

    config_arn: pulumi.Output[str]
    """ARN of the code-signing configuration (functions set it as codeSigningConfigArn)."""
    profile_name: pulumi.Output[str]
    """Name of the signer profile."""
    profile_version_arn: pulumi.Output[str]
    """The profile version the configuration trusts (revoke it to distrust its signatures)."""
    bucket_name: pulumi.Output[str]
    """The code bucket: ``unsigned/`` uploads and ``signed/`` packages."""

    def __init__(self, name: str, args: CodeSigningArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("CodeSigning"), name, None, opts)
        raise_for("CodeSigning", name, check_code_signing(args))
        tags = args.get("tags")
        ctx = aws_context(self)

        profile = aws.signer.SigningProfile(f"{name}-profile", aws.signer.SigningProfileArgs(
            platform_id=PLATFORM_ID, name=profile_name(name),
            signature_validity_period=aws.signer.SigningProfileSignatureValidityPeriodArgs(
                type="MONTHS",
                value=args.get("signature_validity_months", DEFAULT_VALIDITY_MONTHS)),
            tags=tags_with(tags, {"Name": f"{name}-profile"})), opts=child_opts(self))
        config = aws.lambda_.CodeSigningConfig(f"{name}-config", aws.lambda_.CodeSigningConfigArgs(
            description=f"{name}: only code signed by {profile_name(name)} deploys",
            allowed_publishers=aws.lambda_.CodeSigningConfigAllowedPublishersArgs(
                signing_profile_version_arns=[profile.version_arn]),
            policies=aws.lambda_.CodeSigningConfigPoliciesArgs(
                untrusted_artifact_on_deployment="Enforce"),
            tags=tags_with(tags, {"Name": f"{name}-config"})), opts=child_opts(self))
        bucket_name = regional_bucket_name(f"{name}-code", ctx.account_id, ctx.region)
        bucket, _ = private_bucket(
            self, lambda kind: f"{name}-code" + ("" if kind == "bucket" else f"-{kind}"),
            bucket_name, policy=pulumi.Output.json_dumps(kms_only_policy(bucket_name)),
            kms_key_arn=args["kms_key_arn"], rule_id="expire-superseded-packages",
            log_bucket=args.get("log_bucket"), protect=args.get("protect", False), tags=tags)

        self.config_arn = config.arn
        self.profile_name = profile.name
        self.profile_version_arn = profile.version_arn
        self.bucket_name = bucket.bucket
        self.register_outputs({"config_arn": self.config_arn, "profile_name": self.profile_name,
                               "profile_version_arn": self.profile_version_arn,
                               "bucket_name": self.bucket_name})

    def ref(self) -> CodeSigningRef:
        """What a function needs to sign its package and enforce the configuration."""
        return {"config_arn": self.config_arn, "profile_name": self.profile_name,
                "bucket": self.bucket_name}
