"""WAFv2 web ACLs: rules and logging."""

from __future__ import annotations

from collections.abc import Iterator

from .core import Resource, Settings, Stack, is_unknown, resource_policy, stack_policy, unknown

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"


@resource_policy(
    "wafv2-web-acl-has-rules",
    types=(WEB_ACL,),
    description="Web ACLs contain rules (an empty ACL only applies its default action) and "
                "publish CloudWatch metrics.",
    severity="medium", fsbp=("WAF.10",), refs=("checkov CKV_AWS_175",),
    remediation="Add managed rule groups (AWSManagedRulesCommonRuleSet, "
                "KnownBadInputsRuleSet) and a rate-based rule; set "
                "visibilityConfig.cloudwatchMetricsEnabled true.",
)
def has_rules(r: Resource, s: Settings) -> Iterator[str]:
    rules, rule_json = r.get("rules"), r.get("ruleJson")
    if is_unknown(rules) or is_unknown(rule_json):
        yield unknown("rules", "the web ACL has rules")
    elif not rules and not rule_json:
        yield "web ACL has no rules"
    if r.get("visibilityConfig.cloudwatchMetricsEnabled") is False:
        yield "visibilityConfig.cloudwatchMetricsEnabled is false"


@stack_policy(
    "wafv2-web-acl-logging",
    types=(WEB_ACL, WEB_ACL_LOGGING),
    description="Web ACLs log requests.",
    severity="medium", fsbp=("WAF.11",),
    refs=("cdk-nag WAFv2LoggingEnabled", "checkov CKV2_AWS_31"),
    remediation="Add aws.wafv2.WebAclLoggingConfiguration for the ACL, delivering to a log "
                "group named aws-waf-logs-*.",
)
def acl_logging(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for acl in stack.of_type(WEB_ACL):
        if not stack.referencing(acl, (WEB_ACL_LOGGING,), "resourceArn"):
            yield acl, "web ACL has no logging configuration"
