"""LoadBalancer: the TLS-terminating Application Load Balancer in front of the services.

HTTPS only: the 443 listener answers 404 until services add their rules; a public load
balancer also listens on 80 solely to redirect to HTTPS. Services' target groups speak
HTTPS to their tasks as well (see :mod:`components.container_service`), so the traffic is
encrypted from the client to the container. Access logs go to a private, TLS-only bucket
that logs its own access to the platform's log bucket; an optional WAF web ACL with AWS
managed rules logs to an encrypted group.
"""


import hashlib
import re
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, policy_document, type_token
from .buckets import private_bucket, tls_only_statement
from .encryption import AwsContext, aws_context, check_log_retention, tags_with
from .validation import Problem, check_choice, check_range, raise_for

DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Predefined ALB policies whose lowest protocol is TLS 1.2 or 1.3.
SSL_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
)
# Predefined policies that still accept TLS 1.0 or 1.1.
WEAK_SSL_POLICIES = (
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-2015-05",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-2021-06",
)
DESYNC_MODES = ("defensive", "strictest")
WAF_MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet",
                           "AWSManagedRulesKnownBadInputsRuleSet",
                           "AWSManagedRulesAmazonIpReputationList")
ELB_LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"
DEFAULT_LOG_RETENTION_DAYS = 365
LOG_PREFIX = "alb"
"""Key prefix of the access logs in the bucket."""
CERTIFICATE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:acm:[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d:\d{12}:certificate/"
    r"[0-9a-f-]{36}$")
CERTIFICATE_ARN_FORM = "arn:aws:acm:<region>:<account>:certificate/<id>"


class LoadBalancerSpec(TypedDict):
    """What a stack file says about the load balancer."""

    certificate_arn: str
    """ACM certificate for the HTTPS listener, ``arn:aws:acm:<region>:<account>:
    certificate/<id>``."""
    domain_name: NotRequired[str]
    """DNS name clients use for this load balancer, covered by the certificate (e.g.
    ``internal.example.com``); API Gateway's VPC link verifies TLS against it."""
    ssl_policy: NotRequired[str]
    """TLS policy of the HTTPS listener (TLS 1.2 or newer only); default
    ``ELBSecurityPolicy-TLS13-1-2-2021-06``."""
    internal: NotRequired[bool]
    """Internal load balancer in the private subnets, reachable from the VPC only (default
    false: internet-facing in the public subnets)."""
    deletion_protection: NotRequired[bool]
    """Refuse deletion at the AWS API (default true; the platform sets it from the tier)."""
    waf: NotRequired[bool]
    """Attach a WAF web ACL with AWS managed rule groups (default false)."""
    idle_timeout: NotRequired[int]
    """Connection idle timeout in seconds, 1-4000 (default 60)."""
    desync_mitigation_mode: NotRequired[str]
    """HTTP desync protection: ``defensive`` (default) or ``strictest``."""


class LoadBalancerArgs(LoadBalancerSpec):
    """Load balancer settings plus wiring."""

    protect: NotRequired[bool]
    """Protect the access-log bucket (and retain it on delete): the logs are audit records."""
    vpc_id: pulumi.Input[str]
    """VPC of the load balancer."""
    vpc_cidr: pulumi.Input[str]
    """VPC block: the only destination of the load balancer's egress (and, when internal, the
    only source of its ingress)."""
    subnet_ids: pulumi.Input[list[str]]
    """Public subnets (internet-facing) or private subnets (internal), one per zone."""
    kms_key_arn: pulumi.Input[str]
    """KMS key of the WAF log group."""
    log_retention_days: NotRequired[int]
    """Retention of access logs (bucket expiry) and WAF logs, in days (default 365)."""
    log_bucket: NotRequired[pulumi.Input[str]]
    """The platform's log bucket: the access-log bucket's own S3 access logs go there."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child."""


DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def check_load_balancer(spec: LoadBalancerSpec) -> list[Problem]:
    problems: list[Problem] = []
    domain = spec.get("domain_name")
    if domain is not None and not DOMAIN_RE.match(domain):
        problems.append(Problem(("domain_name",), f"'{domain}' is not a DNS name "
                                                  "(lowercase labels joined by dots)"))
    cert = spec.get("certificate_arn")
    if not cert:
        problems.append(Problem(("certificate_arn",),
                                "is required: the HTTPS listener needs an ACM certificate "
                                f"({CERTIFICATE_ARN_FORM})"))
    elif isinstance(cert, str) and not CERTIFICATE_ARN_RE.match(cert):
        problems.append(Problem(("certificate_arn",), f"'{cert}' is not an ACM certificate "
                                                      f"ARN ({CERTIFICATE_ARN_FORM})"))
    policy = spec.get("ssl_policy", DEFAULT_SSL_POLICY)
    if policy in WEAK_SSL_POLICIES:
        problems.append(Problem(("ssl_policy",), (
            f"'{policy}' accepts TLS versions older than 1.2: use one of "
            f"{', '.join(SSL_POLICIES)}")))
    else:
        problems += check_choice(("ssl_policy",), policy, SSL_POLICIES)
    problems += check_choice(("desync_mitigation_mode",),
                             spec.get("desync_mitigation_mode", "defensive"), DESYNC_MODES)
    if "idle_timeout" in spec:
        problems += check_range(("idle_timeout",), spec["idle_timeout"], 1, 4000,
                                "idleTimeout")
    return problems


def access_log_bucket_name(name: str, account_id: str, region: str) -> str:
    """``<name>-access-logs-<account>-<region>``, lowercased and at most 63 characters; a
    long name is cut and made unique again with a short hash of the full name."""
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "alb"
    suffix = f"-{account_id}-{region}"
    full = f"{slug}-access-logs{suffix}"
    if len(full) <= 63:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    room = 63 - len(suffix) - len("-logs-") - len(digest)
    return f"{slug[:room].rstrip('-')}-logs-{digest}{suffix}"


def bucket_policy(ctx: AwsContext, bucket_arn: str, prefix: str,
                  elb_account_arn: str) -> pulumi.Output[str]:
    """TLS only, and Elastic Load Balancing may put logs for this account's load balancers
    under ``<prefix>/AWSLogs/<account>/``: by the regional ELB account (regions opened
    before August 2022) or by the log-delivery service principal (newer regions). The
    service writes under the load balancer owner's account id, so the path scopes delivery
    to this account."""
    logs = f"{bucket_arn}/{prefix}/AWSLogs/{ctx.account_id}/*"
    statements: list[dict[str, Any]] = [
        tls_only_statement(bucket_arn),
        {"Sid": "ElbAccountWritesAccessLogs", "Effect": "Allow",
         "Principal": {"AWS": elb_account_arn}, "Action": "s3:PutObject", "Resource": logs},
        {"Sid": "ElbLogDeliveryWritesAccessLogs", "Effect": "Allow",
         "Principal": {"Service": ELB_LOG_DELIVERY_PRINCIPAL}, "Action": "s3:PutObject",
         "Resource": logs},
    ]
    return policy_document(statements)


class LoadBalancer(pulumi.ComponentResource):
    """An Application Load Balancer with an HTTPS listener (TLS 1.2+), an HTTP-to-HTTPS
    redirect when public, header hardening, access logs and optional WAF."""

    arn: pulumi.Output[str]
    """Load balancer ARN."""
    arn_suffix: pulumi.Output[str]
    """ARN suffix, the ``LoadBalancer`` dimension of CloudWatch metrics."""
    dns_name: pulumi.Output[str]
    """DNS name to point a record at."""
    zone_id: pulumi.Output[str]
    """Hosted zone of ``dns_name`` (for alias records)."""
    security_group_id: pulumi.Output[str]
    """Security group of the load balancer; targets allow traffic from it."""
    https_listener_arn: pulumi.Output[str]
    """HTTPS listener that services add their rules to."""
    access_log_bucket_name: pulumi.Output[str]
    """Bucket holding the access logs."""

    def __init__(self, name: str, args: LoadBalancerArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("LoadBalancer"), name, None, opts)
        raise_for("LoadBalancer", name, check_load_balancer(args)
                  + check_log_retention(args.get("log_retention_days")))

        ctx = aws_context(self)
        internal = bool(args.get("internal", False))
        retention = args.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
        tags = args.get("tags")

        # SSE-S3 and not the platform's KMS key: Elastic Load Balancing delivers access logs
        # only to buckets encrypted with S3-managed keys (SSE-S3); SSE-KMS makes it fail.
        bucket_name = access_log_bucket_name(name, ctx.account_id, ctx.region)
        _, policy = private_bucket(
            self, lambda _kind: f"{name}-access-logs", bucket_name,
            policy=bucket_policy(ctx, f"arn:{ctx.partition}:s3:::{bucket_name}", LOG_PREFIX,
                                 aws.elb.get_service_account(
                                     opts=pulumi.InvokeOptions(parent=self)).arn),
            expire_days=retention, rule_id="expire-access-logs",
            log_bucket=args.get("log_bucket"), protect=args.get("protect", False), tags=tags)
        sg = self._security_group(name, args, internal, tags)

        alb = aws.lb.LoadBalancer(f"{name}-alb", aws.lb.LoadBalancerArgs(
            load_balancer_type="application",
            internal=internal,
            subnets=args["subnet_ids"],
            security_groups=[sg.id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode=args.get("desync_mitigation_mode", "defensive"),
            enable_deletion_protection=bool(args.get("deletion_protection", True)),
            enable_http2=True,
            enable_waf_fail_open=False,
            idle_timeout=args.get("idle_timeout", 60),
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=bucket_name, prefix=LOG_PREFIX, enabled=True),
            tags=tags_with(tags, {"Name": name})),
            # The ALB checks that it can write to the bucket when logging is switched on.
            opts=child_opts(self, depends_on=[policy]))

        https = aws.lb.Listener(f"{name}-https", aws.lb.ListenerArgs(
            load_balancer_arn=alb.arn, port=443, protocol="HTTPS",
            ssl_policy=args.get("ssl_policy", DEFAULT_SSL_POLICY),
            certificate_arn=args["certificate_arn"],
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="fixed-response",
                fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                    content_type="text/plain", message_body="Not Found",
                    status_code="404"))],
            tags=tags_with(tags, {"Name": f"{name}-https"})), opts=child_opts(self))
        if not internal:
            aws.lb.Listener(f"{name}-http-redirect", aws.lb.ListenerArgs(
                load_balancer_arn=alb.arn, port=80, protocol="HTTP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"))],
                tags=tags_with(tags, {"Name": f"{name}-http-redirect"})),
                opts=child_opts(self))

        if args.get("waf", False):
            self._waf(name, ctx, alb, args["kms_key_arn"], retention, tags)

        self.arn = alb.arn
        self.arn_suffix = alb.arn_suffix
        self.dns_name = alb.dns_name
        self.zone_id = alb.zone_id
        self.security_group_id = sg.id
        self.https_listener_arn = https.arn
        self.access_log_bucket_name = pulumi.Output.from_input(bucket_name)
        self.register_outputs({
            "arn": self.arn, "arn_suffix": self.arn_suffix, "dns_name": self.dns_name,
            "zone_id": self.zone_id, "security_group_id": self.security_group_id,
            "https_listener_arn": self.https_listener_arn,
            "access_log_bucket_name": self.access_log_bucket_name,
        })

    def _security_group(self, name: str, args: LoadBalancerArgs, internal: bool,
                        tags: pulumi.Input[dict[str, str]] | None) -> aws.ec2.SecurityGroup:
        sg = aws.ec2.SecurityGroup(f"{name}-sg", aws.ec2.SecurityGroupArgs(
            vpc_id=args["vpc_id"],
            description=(f"{name}: HTTPS from the VPC" if internal
                         else f"{name}: HTTPS and HTTP redirect from the internet"),
            tags=tags_with(tags, {"Name": f"{name}-alb"})), opts=child_opts(self))
        vpc_cidr = args["vpc_cidr"]

        def ingress(key: str, port: int, cidr: pulumi.Input[str], description: str) -> None:
            aws.vpc.SecurityGroupIngressRule(f"{name}-{key}", aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=sg.id, ip_protocol="tcp", from_port=port, to_port=port,
                cidr_ipv4=cidr, description=description), opts=child_opts(self))

        # The load balancer and VPC are IPv4 only, so there is nothing to open for ::/0.
        if internal:
            ingress("https-vpc", 443, vpc_cidr, "HTTPS from inside the VPC")
        else:
            ingress("https-ipv4", 443, "0.0.0.0/0", "HTTPS from the internet")
            ingress("http-ipv4", 80, "0.0.0.0/0",
                    "HTTP from the internet, answered only with a redirect to HTTPS")
        aws.vpc.SecurityGroupEgressRule(f"{name}-egress-vpc", aws.vpc.SecurityGroupEgressRuleArgs(
            security_group_id=sg.id, ip_protocol="tcp", from_port=0, to_port=65535,
            cidr_ipv4=vpc_cidr, description="To targets and health checks inside the VPC"),
            opts=child_opts(self))
        return sg

    def _waf(self, name: str, ctx: AwsContext, alb: aws.lb.LoadBalancer,
             kms_key_arn: pulumi.Input[str], retention: int,
             tags: pulumi.Input[dict[str, str]] | None) -> None:
        metric = re.sub(r"[^A-Za-z0-9-]", "-", name)

        def visibility(metric_name: str) -> dict[str, Any]:
            return {"cloudwatch_metrics_enabled": True, "metric_name": metric_name,
                    "sampled_requests_enabled": True}

        rules = [aws.wafv2.WebAclRuleArgs(
            name=group, priority=(i + 1) * 10,
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2
                .WebAclRuleStatementManagedRuleGroupStatementArgs(
                    name=group, vendor_name="AWS")),
            visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                **visibility(f"{metric}-{group}")))
            for i, group in enumerate(WAF_MANAGED_RULE_GROUPS)]
        acl = aws.wafv2.WebAcl(f"{name}-waf", aws.wafv2.WebAclArgs(
            name=metric, scope="REGIONAL",
            description=f"{name}: AWS managed protections in front of the load balancer",
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=rules,
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(**visibility(metric)),
            tags=tags_with(tags, {"Name": f"{name}-waf"})), opts=child_opts(self))
        # WAF only logs to groups whose name starts with aws-waf-logs-.
        group_name = f"aws-waf-logs-{metric}"
        group = aws.cloudwatch.LogGroup(f"{name}-waf-logs", aws.cloudwatch.LogGroupArgs(
            name=group_name, kms_key_id=kms_key_arn, retention_in_days=retention,
            tags=tags_with(tags, {"Name": group_name})), opts=child_opts(self))
        group_arn = (f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account_id}:"
                     f"log-group:{group_name}")
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logs", aws.wafv2.WebAclLoggingConfigurationArgs(
                resource_arn=acl.arn, log_destination_configs=[group_arn]),
            opts=child_opts(self, depends_on=[group]))
        aws.wafv2.WebAclAssociation(f"{name}-waf", aws.wafv2.WebAclAssociationArgs(
            resource_arn=alb.arn, web_acl_arn=acl.arn), opts=child_opts(self))


def routed_target_group(parent: pulumi.Resource, name: str, vpc_id: pulumi.Input[str],
                        port: int, readiness_path: str, *, protocol: str = "HTTPS",
                        deregistration_delay: int = 30, physical_name: str | None = None,
                        tags: Any = None) -> aws.lb.TargetGroup:
    """A service's target group, ``<name>-tg``: ip targets on ``port``, checked on
    ``readiness_path`` over the same protocol (2 passes to enter, 3 failures to leave)."""
    return aws.lb.TargetGroup(f"{name}-tg", aws.lb.TargetGroupArgs(
        name=physical_name, vpc_id=vpc_id, target_type="ip", protocol=protocol, port=port,
        deregistration_delay=deregistration_delay,
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            enabled=True, protocol=protocol, port="traffic-port", path=readiness_path,
            healthy_threshold=2, unhealthy_threshold=3, interval=15, timeout=5,
            matcher="200"),
        tags=tags), opts=child_opts(parent))


def listener_rule(parent: pulumi.Resource, name: str, listener_arn: pulumi.Input[str],
                  target_group_arn: pulumi.Input[str], paths: list[str], priority: int,
                  host: str | None = None, tags: Any = None) -> aws.lb.ListenerRule:
    """The rule that sends ``host`` (any host when None) and ``paths`` on a listener to a
    target group, named ``<name>-rule``."""
    conditions = []
    if host is not None:
        conditions.append(aws.lb.ListenerRuleConditionArgs(
            host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[host])))
    conditions.append(aws.lb.ListenerRuleConditionArgs(
        path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(paths))))
    return aws.lb.ListenerRule(f"{name}-rule", aws.lb.ListenerRuleArgs(
        listener_arn=listener_arn, priority=priority,
        actions=[aws.lb.ListenerRuleActionArgs(type="forward",
                                               target_group_arn=target_group_arn)],
        conditions=conditions, tags=tags), opts=child_opts(parent))
