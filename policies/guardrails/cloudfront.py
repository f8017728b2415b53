"""CloudFront distributions: HTTPS to viewers and origins, TLS 1.2, private S3 origins,
logs and WAF."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .core import Resource, Settings, as_list, is_unknown, resource_policy, unknown

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
TLS12_VIEWER = ("TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025",
                "TLSv1.3_2025")


def _behaviours(r: Resource) -> Iterator[tuple[str, Any]]:
    yield "defaultCacheBehavior", r.get("defaultCacheBehavior")
    for i, b in enumerate(as_list(r.get("orderedCacheBehaviors"))):
        yield f"orderedCacheBehaviors[{i}]", b


@resource_policy(
    "cloudfront-viewer-https",
    types=(DISTRIBUTION,),
    description="Every cache behaviour sends viewers to HTTPS (redirect-to-https or "
                "https-only).",
    severity="high", guardrail="tls", fsbp=("CloudFront.3",), refs=("checkov CKV_AWS_34",),
    remediation="Set viewerProtocolPolicy to redirect-to-https (or https-only) on the default "
                "and every ordered cache behaviour.",
)
def viewer_https(r: Resource, s: Settings) -> Iterator[str]:
    for where, behaviour in _behaviours(r):
        policy = behaviour.get("viewerProtocolPolicy") if isinstance(behaviour, dict) else None
        if is_unknown(behaviour) or is_unknown(policy):
            yield unknown(f"{where}.viewerProtocolPolicy", "viewers use HTTPS")
        elif policy not in ("redirect-to-https", "https-only"):
            yield f"{where}.viewerProtocolPolicy is {policy or 'not set'}; viewers may use HTTP"


@resource_policy(
    "cloudfront-tls12",
    types=(DISTRIBUTION,),
    description="Viewers connect with TLS 1.2 or newer: a custom certificate with a "
                "TLSv1.2_* minimum protocol version (the default certificate allows TLS 1.0).",
    severity="high", guardrail="tls", fsbp=("CloudFront.7", "CloudFront.8"),
    refs=("checkov CKV_AWS_174",),
    remediation="Set viewerCertificate {acmCertificateArn, sslSupportMethod: sni-only, "
                "minimumProtocolVersion: TLSv1.2_2021}.",
)
def viewer_tls12(r: Resource, s: Settings) -> Iterator[str]:
    cert = r.get("viewerCertificate")
    if is_unknown(cert):
        yield unknown("viewerCertificate", "viewers use TLS 1.2 or newer")
        return
    cert = cert if isinstance(cert, dict) else {}
    if cert.get("cloudfrontDefaultCertificate") is True:
        yield "viewerCertificate is CloudFront's default certificate, which accepts TLS 1.0"
        return
    version = cert.get("minimumProtocolVersion")
    if is_unknown(version):
        yield unknown("viewerCertificate.minimumProtocolVersion", "viewers use TLS 1.2")
    elif version not in TLS12_VIEWER:
        yield (f"viewerCertificate.minimumProtocolVersion is {version or 'not set (TLSv1)'}; "
               "use TLSv1.2_2021")


def _origins(r: Resource) -> Iterator[tuple[str, Any]]:
    origins = r.get("origins")
    if is_unknown(origins):
        yield "origins", origins
        return
    for i, origin in enumerate(as_list(origins)):
        yield f"origins[{i}]", origin


@resource_policy(
    "cloudfront-origin-https",
    types=(DISTRIBUTION,),
    description="Custom origins are reached over HTTPS only, with TLS 1.2.",
    severity="high", guardrail="tls", fsbp=("CloudFront.9", "CloudFront.10"),
    refs=("checkov CKV_AWS_310",),
    remediation="Set customOriginConfig {originProtocolPolicy: https-only, "
                "originSslProtocols: [TLSv1.2]}.",
)
def origin_https(r: Resource, s: Settings) -> Iterator[str]:
    for where, origin in _origins(r):
        if is_unknown(origin):
            yield unknown(where, "origins are reached over HTTPS")
            continue
        custom = origin.get("customOriginConfig") if isinstance(origin, dict) else None
        if not isinstance(custom, dict):
            continue
        policy = custom.get("originProtocolPolicy")
        if policy != "https-only":
            yield (f"{where}.customOriginConfig.originProtocolPolicy is {policy}; CloudFront "
                   "would fetch from the origin in plaintext")
        old = [p for p in as_list(custom.get("originSslProtocols")) if p != "TLSv1.2"]
        if old:
            yield f"{where}.customOriginConfig allows {', '.join(map(str, old))}"


def _s3_website(domain: Any) -> bool:
    return isinstance(domain, str) and ".s3-website" in domain


@resource_policy(
    "cloudfront-s3-origin-access",
    types=(DISTRIBUTION,),
    description="S3 content is served through origin access control from a private bucket, "
                "not from a public website endpoint or a legacy origin access identity.",
    severity="high", fsbp=("CloudFront.13", "CloudFront.12"), refs=("checkov CKV_AWS_305",),
    remediation="Point the origin at the bucket's regional domain name with "
                "originAccessControlId (aws.cloudfront.OriginAccessControl, signing sigv4) "
                "and a bucket policy for cloudfront.amazonaws.com scoped by AWS:SourceArn.",
)
def s3_origin_access(r: Resource, s: Settings) -> Iterator[str]:
    for where, origin in _origins(r):
        if not isinstance(origin, dict):
            continue
        domain = origin.get("domainName")
        if is_unknown(domain) and isinstance(origin.get("customOriginConfig"), dict):
            # website endpoints can only be custom origins; a computed domain cannot be told
            yield unknown(f"{where}.domainName", "the origin is not a public S3 website")
        elif _s3_website(domain):
            yield (f"{where} is the S3 website endpoint {domain}: the bucket must be public "
                   "and is read over HTTP")
        elif origin.get("s3OriginConfig") is not None \
                and origin.get("originAccessControlId") is None:
            yield f"{where} reads S3 without origin access control"


@resource_policy(
    "cloudfront-logging",
    types=(DISTRIBUTION,),
    description="Distributions write access logs.",
    severity="medium", fsbp=("CloudFront.5",), refs=("checkov CKV_AWS_86",),
    remediation="Set loggingConfig {bucket: <log bucket domain name>} (or CloudWatch "
                "standard logging v2).",
)
def logging(r: Resource, s: Settings) -> Iterator[str]:
    bucket = r.get("loggingConfig.bucket")
    if is_unknown(bucket):
        return  # a log bucket's computed name: logging is on
    if bucket is None:
        yield "loggingConfig is not set"


@resource_policy(
    "cloudfront-waf",
    types=(DISTRIBUTION,),
    description="Distributions are protected by a WAF web ACL.",
    severity="medium", fsbp=("CloudFront.6",), refs=("checkov CKV_AWS_68",),
    remediation="Set webAclId to a CLOUDFRONT-scope wafv2 web ACL ARN (created in us-east-1).",
)
def waf(r: Resource, s: Settings) -> Iterator[str]:
    acl = r.get("webAclId")
    if acl is None or acl == "":
        yield "webAclId is not set"
