"""Log shipping: subscription filters that copy the environment's log groups to a central
Firehose stream, Kinesis stream or (cross-account) CloudWatch Logs destination.

For a Firehose or Kinesis destination, CloudWatch Logs assumes a role trusted only by
``logs.amazonaws.com`` acting for this account (``aws:SourceAccount``) and from this
account's log resources in this region (``aws:SourceArn``), allowed to put records on that
one stream. A CloudWatch Logs destination authorises senders with its own policy, so no role
is created for it.
"""


from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import allow, child_opts, invoke_opts, policy_document, service_trust, type_token
from .environment import TIERS
from .validation import Problem, check_arn, check_choice, check_key, raise_for

PUT_ACTIONS = {
    "firehose": ("firehose:PutRecord", "firehose:PutRecordBatch"),
    "kinesis": ("kinesis:PutRecord", "kinesis:PutRecords"),
}
DESTINATION_SERVICES = ("firehose", "kinesis", "logs")


class LogShippingSpec(TypedDict):
    """Where the environment's logs are copied to."""

    destination_arn: str
    """Firehose delivery stream, Kinesis stream or CloudWatch Logs destination ARN, in the
    same region as the log groups."""
    filter_pattern: NotRequired[str]
    """CloudWatch Logs filter pattern; default empty (every event)."""


class LogShippingArgs(LogShippingSpec):
    """Shipping settings plus the log groups to ship."""

    environment: str
    """Tier name; names the role (``<environment>-log-shipping``) and the filters."""
    log_groups: dict[str, pulumi.Input[str]]
    """Log group names keyed by the owning service's key."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for the role."""


def destination_service(arn: str) -> str:
    return arn.split(":")[2] if arn.count(":") >= 5 else ""


def check_log_shipping(spec: LogShippingSpec) -> list[Problem]:
    arn = spec["destination_arn"]
    service = destination_service(arn)
    if service not in DESTINATION_SERVICES:
        return [Problem(("destination_arn",), f"'{arn}' is not a Firehose stream, Kinesis "
                                              "stream or CloudWatch Logs destination ARN")]
    resource = {"firehose": "deliverystream/", "kinesis": "stream/", "logs": "destination:"}
    what = {"firehose": "a Firehose delivery stream", "kinesis": "a Kinesis stream",
            "logs": "a CloudWatch Logs destination"}[service]
    problems = check_arn(("destination_arn",), arn, service, what)
    if not problems and not arn.split(":", 5)[5].startswith(resource[service]):
        problems.append(Problem(("destination_arn",), f"'{arn}' is not {what} ARN (resource "
                                                      f"must start with {resource[service]})"))
    return problems


class LogShipping(pulumi.ComponentResource):
    """Subscription filters from every given log group to one central destination, with the
    delivery role they need."""

    role_arn: pulumi.Output[str]
    """ARN of the delivery role (empty for a CloudWatch Logs destination)."""

    def __init__(self, name: str, args: LogShippingArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("LogShipping"), name, None, opts)
        problems = check_log_shipping(args)
        problems += check_choice(("environment",), args["environment"], list(TIERS))
        for key in sorted(args["log_groups"]):
            problems += check_key(("log_groups", key), key)
        raise_for("LogShipping", name, problems)

        environment = args["environment"]
        destination = args["destination_arn"]
        service = destination_service(destination)
        depends: list[pulumi.Resource] = []
        role_arn: pulumi.Input[str] | None = None
        if service in PUT_ACTIONS:
            account_id = aws.get_caller_identity_output(opts=invoke_opts(self)).account_id
            region = aws.get_region_output(opts=invoke_opts(self)).region
            source = pulumi.Output.concat("arn:aws:logs:", region, ":", account_id, ":*")
            role = aws.iam.Role(f"{name}-role", aws.iam.RoleArgs(
                name=f"{environment}-log-shipping",
                description="CloudWatch Logs delivers subscription events to the central "
                            "log stream",
                assume_role_policy=service_trust("logs.amazonaws.com", account_id, source),
                tags=args.get("tags")), opts=child_opts(self))
            depends.append(aws.iam.RolePolicy(f"{name}-put-records", aws.iam.RolePolicyArgs(
                role=role.name, name="put-records",
                policy=policy_document([allow("PutRecords", PUT_ACTIONS[service],
                                              [destination])])),
                opts=child_opts(self)))
            role_arn = role.arn
        for key in sorted(args["log_groups"]):
            aws.cloudwatch.LogSubscriptionFilter(
                f"{name}-{key}", aws.cloudwatch.LogSubscriptionFilterArgs(
                    name=f"{environment}-{key}-ship",
                    log_group=args["log_groups"][key],
                    filter_pattern=args.get("filter_pattern", ""),
                    destination_arn=destination,
                    role_arn=role_arn),
                # IAM is eventually consistent: the filter is validated by a test delivery.
                opts=child_opts(self, depends_on=depends))
        self.role_arn = pulumi.Output.from_input(role_arn if role_arn is not None else "")
        self.register_outputs({"role_arn": self.role_arn})
