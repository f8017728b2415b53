"""Elastic Load Balancing: TLS listeners, header hygiene, logs, deletion protection, health
checks and WAF in front of internet-facing load balancers."""

from __future__ import annotations

from collections.abc import Iterator

from .core import (
    Param,
    Resource,
    Settings,
    Stack,
    as_list,
    is_unknown,
    resource_policy,
    stack_policy,
    unknown,
)

LB = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENER = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
TARGET_GROUP = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
WAF_ASSOC = "aws:wafv2/webAclAssociation:WebAclAssociation"
LISTENER_RULE = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")

TLS_POLICY_PREFIXES = ("ELBSecurityPolicy-TLS13-", "ELBSecurityPolicy-TLS-1-2-",
                       "ELBSecurityPolicy-FS-1-2-")
"""Listener security policies that refuse TLS 1.0/1.1."""


def _is_alb(r: Resource) -> object:
    return r.get("loadBalancerType", "application")


def _redirects_to_https(actions: object) -> bool:
    if not isinstance(actions, list) or not actions:
        return False
    for action in actions:
        if not isinstance(action, dict) or action.get("type") != "redirect":
            return False
        if str(action.get("redirect", {}).get("protocol", "")).upper() != "HTTPS":
            return False
    return True


@resource_policy(
    "lb-listener-no-plaintext",
    types=LISTENER,
    description="Load balancer listeners speak HTTPS or TLS; a plain HTTP listener may only "
                "redirect to HTTPS.",
    severity="high", guardrail="tls", fsbp=("ELB.1",),
    refs=("cdk-nag ALBHttpToHttpsRedirection", "checkov CKV2_AWS_20", "checkov CKV_AWS_2"),
    remediation="Serve on HTTPS (port 443) with an ACM certificate; keep port 80 only as a "
                "listener whose every default action is a redirect with protocol HTTPS.",
)
def listener_no_plaintext(r: Resource, s: Settings) -> Iterator[str]:
    protocol = r.get("protocol")
    if is_unknown(protocol):
        yield unknown("protocol", "the listener encrypts traffic")
        return
    if protocol is None:
        protocol = "HTTPS" if r.get("certificateArn") is not None else "HTTP"
    protocol = str(protocol).upper()
    if protocol == "HTTP":
        actions = r.get("defaultActions")
        if is_unknown(actions):
            yield unknown("defaultActions", "the HTTP listener only redirects to HTTPS")
        elif not _redirects_to_https(actions):
            yield "HTTP listener serves plaintext; its default actions must only redirect to HTTPS"
    elif protocol == "TCP":
        yield "TCP listener serves plaintext; use TLS"


@resource_policy(
    "lb-listener-tls12-policy",
    types=LISTENER,
    description="HTTPS and TLS listeners use a security policy that refuses TLS below 1.2.",
    severity="high", guardrail="tls", fsbp=("ELB.17",),
    refs=("checkov CKV_AWS_103", "Pulumi CP alb-listener-configure-secure-tls"),
    remediation="Set sslPolicy to ELBSecurityPolicy-TLS13-1-2-2021-06 (or another "
                "ELBSecurityPolicy-TLS13-*/TLS-1-2-*/FS-1-2-* policy).",
)
def listener_tls_policy(r: Resource, s: Settings) -> Iterator[str]:
    protocol = r.get("protocol")
    if is_unknown(protocol) or str(protocol or "").upper() not in ("HTTPS", "TLS"):
        return
    policy = r.get("sslPolicy")
    if is_unknown(policy):
        yield unknown("sslPolicy", "the listener refuses TLS below 1.2")
    elif policy is None:
        yield "sslPolicy is not set; the AWS default still accepts TLS 1.0"
    elif not str(policy).startswith(TLS_POLICY_PREFIXES):
        yield f"sslPolicy {policy} accepts TLS below 1.2"


@resource_policy(
    "alb-drop-invalid-headers",
    types=LB,
    description="Application load balancers drop HTTP headers with invalid names.",
    severity="medium", fsbp=("ELB.4",),
    refs=("cdk-nag ALBHttpDropInvalidHeaderEnabled", "checkov CKV_AWS_131"),
    remediation="Set dropInvalidHeaderFields: true.",
)
def alb_drop_invalid_headers(r: Resource, s: Settings) -> Iterator[str]:
    if _is_alb(r) != "application":
        return
    value = r.get("dropInvalidHeaderFields")
    if is_unknown(value):
        yield unknown("dropInvalidHeaderFields", "invalid headers are dropped")
    elif value is not True:
        yield "dropInvalidHeaderFields is not true"


@resource_policy(
    "alb-desync-mitigation",
    types=LB,
    description="Application load balancers use defensive or strictest HTTP desync mitigation.",
    severity="medium", fsbp=("ELB.12",), refs=("checkov CKV_AWS_328",),
    remediation="Leave desyncMitigationMode unset (defensive) or set defensive/strictest.",
)
def alb_desync(r: Resource, s: Settings) -> Iterator[str]:
    if _is_alb(r) != "application":
        return
    mode = r.get("desyncMitigationMode", "defensive")
    if is_unknown(mode):
        yield unknown("desyncMitigationMode", "desync mitigation is defensive or strictest")
    elif mode not in ("defensive", "strictest"):
        yield f"desyncMitigationMode is {mode}; use defensive or strictest"


@resource_policy(
    "lb-access-logs",
    types=LB,
    description="Load balancers write access logs to S3.",
    severity="medium", fsbp=("ELB.5",), refs=("cdk-nag AS-ELB2", "checkov CKV_AWS_91"),
    remediation="Set accessLogs {bucket, enabled: true} to the platform's log bucket (SSE-S3, "
                "with the regional ELB log-delivery principal allowed).",
)
def lb_access_logs(r: Resource, s: Settings) -> Iterator[str]:
    enabled = r.get("accessLogs.enabled")
    if is_unknown(enabled):
        yield unknown("accessLogs.enabled", "access logs are written")
    elif enabled is not True or r.get("accessLogs.bucket") is None:
        yield "access logs are not enabled (accessLogs.enabled with a bucket)"


@resource_policy(
    "lb-deletion-protection",
    types=LB,
    description="Load balancers have deletion protection enabled.",
    severity="low", fsbp=("ELB.6",),
    refs=("cdk-nag ELBDeletionProtectionEnabled", "checkov CKV_AWS_150"),
    remediation="Set enableDeletionProtection: true (the tier default in staging and prod).",
)
def lb_deletion_protection(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("enableDeletionProtection")
    if is_unknown(value):
        yield unknown("enableDeletionProtection", "the load balancer is deletion-protected")
    elif value is not True:
        yield "enableDeletionProtection is not true"


@resource_policy(
    "lb-target-group-health-check",
    types=TARGET_GROUP,
    description="Target groups have an enabled health check; HTTP(S) groups name a path and "
                "the expected status codes.",
    severity="medium", refs=("checkov CKV_AWS_261",),
    remediation="Set healthCheck {enabled: true, path: '/healthz', matcher: '200-299', "
                "interval, healthyThreshold, unhealthyThreshold}.",
)
def target_group_health(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("targetType") == "lambda":
        return
    check = r.get("healthCheck")
    if is_unknown(check):
        yield unknown("healthCheck", "the target group checks target health")
        return
    if not isinstance(check, dict):
        yield "healthCheck is not configured"
        return
    if check.get("enabled") is False:
        yield "healthCheck is disabled"
        return
    protocol = str(check.get("protocol") or r.get("protocol") or "HTTP").upper()
    if protocol in ("HTTP", "HTTPS"):
        for key in ("path", "matcher"):
            if check.get(key) is None:
                yield f"healthCheck.{key} is not set"


PLAINTEXT_TARGET_PROTOCOLS = {"HTTP": "HTTPS", "TCP": "TLS", "UDP": "TLS", "TCP_UDP": "TLS"}
"""Target-group protocols that carry traffic unencrypted, and what to use instead."""
UNJUDGED_TARGET_TYPES = ("lambda", "alb")
"""Lambda targets are invoked, not connected to; an ``alb`` target is another load balancer
whose own listeners (and their rules) apply."""


@resource_policy(
    "lb-target-group-https",
    types=TARGET_GROUP,
    description="Load balancers reach their targets over TLS and health-check them over "
                "HTTPS: target groups use HTTPS (or TLS), so traffic stays encrypted on the "
                "last hop inside the VPC.",
    severity="high", guardrail="tls", refs=("checkov CKV_AWS_378",),
    remediation="Set protocol HTTPS (TLS for Network Load Balancers) and healthCheck.protocol "
                "HTTPS, and serve TLS in the target; an Application Load Balancer does not "
                "validate target certificates, so a key pair the task generates at start "
                "is enough.",
)
def target_group_https(r: Resource, s: Settings) -> Iterator[str]:
    if r.get("targetType") in UNJUDGED_TARGET_TYPES:
        return
    protocol = r.get("protocol")
    if is_unknown(protocol):
        yield unknown("protocol", "targets are reached over TLS")
        return
    protocol = None if protocol is None else str(protocol).upper()
    if protocol is None:
        yield "protocol is not set; the load balancer must reach targets over HTTPS or TLS"
    elif protocol in PLAINTEXT_TARGET_PROTOCOLS:
        yield (f"protocol is {protocol}; the load balancer must reach targets over "
               f"{PLAINTEXT_TARGET_PROTOCOLS[protocol]}")
    check = r.get("healthCheck.protocol")
    if is_unknown(check):
        yield unknown("healthCheck.protocol", "health checks use HTTPS")
    elif check is None and protocol in (None, "HTTP", "HTTPS"):
        yield "healthCheck.protocol is not set; AWS then checks over HTTP: set HTTPS"
    elif check is not None and str(check).upper() == "HTTP":
        yield "healthCheck.protocol is HTTP; health checks must use HTTPS"


@stack_policy(
    "alb-waf-attached",
    types=(*LB, WAF_ASSOC),
    description="Internet-facing application load balancers are protected by a WAF web ACL.",
    severity="medium", fsbp=("ELB.16",), refs=("cdk-nag ALBWAFEnabled", "checkov CKV2_AWS_28"),
    remediation="Associate the platform's regional web ACL with the load balancer "
                "(aws.wafv2.WebAclAssociation resourceArn=lb.arn).",
)
def alb_waf(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for lb in stack.of_type(*LB):
        if _is_alb(lb) != "application":
            continue
        internal = lb.get("internal", False)
        if is_unknown(internal):
            yield lb, unknown("internal", "the load balancer is protected by WAF")
            continue
        if internal is True:
            continue
        if not stack.referencing(lb, (WAF_ASSOC,), "resourceArn"):
            yield lb, "internet-facing load balancer has no WAF web ACL association"


@stack_policy(
    "alb-rule-quota",
    types=(*LB, *LISTENER, *LISTENER_RULE),
    description="An application load balancer carries no more listener rules than the "
                "default quota of 100 per load balancer, beyond which AWS refuses new rules.",
    severity="medium",
    remediation="Request a higher 'Rules per Application Load Balancer' quota in Service "
                "Quotas before deploying (and raise maxRules), or spread the services over "
                "more load balancers.",
    params={"maxRules": Param("integer", 100, "Rules one load balancer may carry (the "
                                              "account's quota).", minimum=1)},
    default_level="advisory",
)
def alb_rule_quota(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    limit = s["maxRules"]
    rules: dict[str, int] = {}
    for rule in stack.of_type(*LISTENER_RULE):
        for listener in rule.deps("listenerArn", LISTENER):
            for lb in listener.deps("loadBalancerArn", LB):
                rules[lb.urn] = rules.get(lb.urn, 0) + 1
    for lb in stack.of_type(*LB):
        if rules.get(lb.urn, 0) > limit:
            yield lb, (f"{rules[lb.urn]} listener rules exceed the quota of {limit} rules per "
                       "application load balancer: request a higher quota or spread the "
                       "services over more load balancers")


__all__ = ["LB", "LISTENER", "TARGET_GROUP", "as_list"]
