"""CodeSigning under recording mocks: the signer profile, the enforcing configuration and the
bucket packages are signed through."""

import json
from collections import Counter

import pytest

from components.code_signing import CodeSigning, CodeSigningArgs, profile_name
from components.validation import ArgsError
from preflight.capture import ACCOUNT_ID, Capture, capture

REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/platform"
BUCKET = f"prod-signing-code-{ACCOUNT_ID}-{REGION}"


def run(preview: bool = False, **extra: object) -> Capture:
    args: CodeSigningArgs = {"kms_key_arn": KEY, "log_bucket": "prod-logs-bucket",
                             **extra}  # type: ignore[typeddict-item]
    return capture(lambda: CodeSigning("prod-signing", args), config={"aws:region": REGION},
                   preview=preview)


def test_children() -> None:
    assert Counter(r.type for r in run().registrations) == Counter({
        "microservices:index:CodeSigning": 1,
        "aws:signer/signingProfile:SigningProfile": 1,
        "aws:lambda/codeSigningConfig:CodeSigningConfig": 1,
        "aws:s3/bucket:Bucket": 1,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
        "aws:s3/bucketVersioning:BucketVersioning": 1,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        "aws:s3/bucketPolicy:BucketPolicy": 1,
        "aws:s3/bucketLogging:BucketLogging": 1,
    })


def test_profile_signs_for_lambda_and_the_config_enforces_only_it() -> None:
    cap = run()
    profile = cap.named("prod-signing-profile").inputs
    assert profile["platformId"] == "AWSLambda-SHA384-ECDSA"
    assert profile["name"] == "prod_signing"
    assert profile["signatureValidityPeriod"] == {"type": "MONTHS", "value": 12}
    config = cap.named("prod-signing-config").inputs
    assert config["allowedPublishers"] == {"signingProfileVersionArns": [
        f"arn:aws:signer:{REGION}:{ACCOUNT_ID}:/signing-profiles/prod_signing/v1"]}
    assert config["policies"] == {"untrustedArtifactOnDeployment": "Enforce"}


def test_code_bucket_is_versioned_kms_encrypted_tls_only_and_logs_access() -> None:
    cap = run()
    assert cap.named("prod-signing-code").inputs["bucket"] == BUCKET
    # Signer signs one object version: versioning is what makes that possible.
    assert cap.named("prod-signing-code-versioning").inputs["versioningConfiguration"] == {
        "status": "Enabled"}
    assert cap.named("prod-signing-code-sse").inputs["rules"] == [{
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                               "kmsMasterKeyId": KEY},
        "bucketKeyEnabled": True}]
    statements = json.loads(cap.named("prod-signing-code-policy").inputs["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["DenyInsecureTransport", "DenyNonKmsUploads"]
    assert statements[0]["Resource"] == [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]
    logging = cap.named("prod-signing-code-access-logging").inputs
    assert logging == {"bucket": "prod-signing-code-id", "targetBucket": "prod-logs-bucket",
                       "targetPrefix": f"s3/{BUCKET}/"}
    lifecycle = cap.named("prod-signing-code-lifecycle").inputs["rules"][0]
    assert lifecycle["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert "expiration" not in lifecycle


def test_ref_hands_functions_what_they_need() -> None:
    seen: dict[str, object] = {}

    def program() -> None:
        ref = CodeSigning("prod-signing", {"kms_key_arn": KEY}).ref()
        for key, value in ref.items():
            value.apply(lambda v, k=key: seen.__setitem__(k, v))  # type: ignore[union-attr]

    capture(program, config={"aws:region": REGION}, preview=False)
    assert seen == {"config_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:prod-signing-config",
                    "profile_name": "prod_signing", "bucket": BUCKET}


def test_profile_names_keep_to_signer_characters() -> None:
    assert profile_name("prod-signing") == "prod_signing"
    assert len(profile_name("x" * 80)) == 64


@pytest.mark.parametrize("months", [0, 136])
def test_validity_range(months: int) -> None:
    with pytest.raises(ArgsError) as err:
        run(signature_validity_months=months)
    assert str(err.value) == (f"CodeSigning 'prod-signing': signatureValidityMonths: "
                              f"signatureValidityMonths must be between 1 and 135 (got {months})")
