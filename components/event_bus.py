"""Event bus: a custom EventBridge bus with rules, targets, an archive to replay from, and
dead-letter handling for every target.

Publishers put events with ``source`` set to their own key (their role may put no other
source), rules match events by pattern, and each rule's targets are topics, subscription
queues, functions or workflows of the same stack, named by key:

- a topic or queue admits the rule through its resource policy (``aws:SourceArn`` the
  rule), a function through an invoke permission scoped to the rule;
- a workflow is started through a role that only that rule's targets may use and that may
  only ``states:StartExecution`` the workflows that rule targets;
- every target has an explicit retry policy and sends what it finally cannot deliver to the
  bus's dead-letter queue (which admits only this bus's rules); input transformers reshape
  the event per target.

The bus and its archive are encrypted with the platform key; the archive keeps every event
``archive_retention_days`` (default 30) so a fixed consumer can replay them
(``aws events start-replay``). Schema discovery is off unless asked for: it copies event
structures into the schema registry.
"""


import json
from collections.abc import Sequence
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import (
    Statement,
    allow,
    child_opts,
    invoke_opts,
    key_statement,
    policy_document,
    service_trust,
    type_token,
)
from .topic import (
    DLQ_RETENTION_SECONDS,
    WorkloadRef,
    check_fan_out_dead_letter,
    check_workload_ref,
    deny_insecure_transport,
    service_send,
    sqs_arn,
)
from .validation import Problem, check_key, check_range, raise_for

TARGET_KINDS = ("topic", "queue", "function", "workflow")
DEFAULT_RETRIES = 185
DEFAULT_EVENT_AGE_SECONDS = 86400
"""EventBridge's own defaults (24 hours, 185 attempts), written down explicitly."""


class InputTransformerSpec(TypedDict):
    """Reshape the matched event before it reaches a target."""

    input_paths: NotRequired[dict[str, str]]
    """Variable name -> JSON path into the event, e.g. ``{"order": "$.detail.orderId"}``."""
    input_template: str
    """The target's input, with ``<variable>`` placeholders."""


class RuleTargetSpec(TypedDict):
    """One target of a rule: exactly one of topic, queue, function or workflow."""

    topic: NotRequired[str]
    """Key of a topic under ``events.topics``."""
    queue: NotRequired[str]
    """A subscription queue, ``<topic>/<subscriber>``."""
    function: NotRequired[str]
    """Key of a function."""
    workflow: NotRequired[str]
    """Key of a workflow."""
    input_transformer: NotRequired[InputTransformerSpec]
    """Reshape the event for this target."""
    message_group_id: NotRequired[str]
    """Message group for a FIFO queue target (required there, refused elsewhere)."""
    max_retry_attempts: NotRequired[int]
    """Delivery retries, 0-185 (default 185)."""
    max_event_age_seconds: NotRequired[int]
    """Give up on an event after this long, 60-86400 (default 86400)."""
    dead_letter: NotRequired[bool]
    """Send what finally fails to the bus's dead-letter queue (default true; a rule with
    more than one target may not switch it off)."""


class RuleSpec(TypedDict):
    """A rule: which events (pattern) go where (targets)."""

    event_pattern: dict[str, Any]
    """EventBridge event pattern, e.g. ``{"source": ["orders"], "detail-type": [...]}``."""
    description: NotRequired[str]
    """What the rule is for."""
    enabled: NotRequired[bool]
    """Whether the rule delivers (default true)."""
    targets: dict[str, RuleTargetSpec]
    """Targets by key (1-5)."""


class EventBusSpec(TypedDict):
    """The stack's event bus (under ``events.bus``)."""

    publishers: NotRequired[list[WorkloadRef]]
    """Services and functions granted ``events:PutEvents`` for their own source (their
    key)."""
    rules: NotRequired[dict[str, RuleSpec]]
    """Rules by key."""
    archive: NotRequired[bool]
    """Archive every event for replay (default true)."""
    archive_retention_days: NotRequired[int]
    """Days the archive keeps events, 1-3650 (default 30)."""
    schema_discovery: NotRequired[bool]
    """Record event schemas in the schema registry (default false)."""


class EventBusArgs(EventBusSpec):
    """The bus plus the resources its rules may target."""

    bus_name: str
    """Physical bus name (the platform uses ``<stack>-events``); rules are
    ``<bus_name>-<rule key>``."""
    kms_key_arn: pulumi.Input[str]
    """The platform key: bus, archive and dead-letter queue."""
    kms_key_alias: NotRequired[str]
    """That key's alias (names the key in the workflow-starting roles' policies)."""
    topics: NotRequired[dict[str, pulumi.Input[str]]]
    """Topic ARN by key."""
    queues: NotRequired[dict[str, pulumi.Input[str]]]
    """Queue ARN by ``<topic>/<subscriber>``."""
    fifo_queues: NotRequired[list[str]]
    """Which of those queues are FIFO (their targets need a message group)."""
    functions: NotRequired[dict[str, pulumi.Input[str]]]
    """Function ARN by key."""
    workflows: NotRequired[dict[str, pulumi.Input[str]]]
    """State machine ARN by key."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every taggable child."""


def target_of(target: RuleTargetSpec) -> tuple[str, str] | None:
    """``(kind, key)`` of a target; None unless exactly one kind is set."""
    kinds = [k for k in TARGET_KINDS if k in target]
    if len(kinds) != 1:
        return None
    return kinds[0], target[kinds[0]]  # type: ignore[literal-required]


def rule_name(bus_name: str, rule: str) -> str:
    return f"{bus_name}-{rule}"


def rule_arn(region: pulumi.Input[str], account: pulumi.Input[str], bus_name: str,
             rule: str) -> pulumi.Output[str]:
    """Rules on a custom bus: ``arn:aws:events:<region>:<account>:rule/<bus>/<rule>``."""
    return pulumi.Output.format("arn:aws:events:{0}:{1}:rule/{2}/{3}", region, account,
                                bus_name, rule_name(bus_name, rule))


def bus_arn(region: pulumi.Input[str], account: pulumi.Input[str],
            bus_name: str) -> pulumi.Output[str]:
    return pulumi.Output.format("arn:aws:events:{0}:{1}:event-bus/{2}", region, account,
                                bus_name)


def check_event_bus(spec: EventBusSpec, fifo_queues: Sequence[str] = ()) -> list[Problem]:
    """The bus's own settings; references are checked where the stack is known."""
    problems: list[Problem] = []
    for i, ref in enumerate(spec.get("publishers", [])):
        problems += check_workload_ref(("publishers", i), ref)
    if "archive_retention_days" in spec:
        problems += check_range(("archive_retention_days",), spec["archive_retention_days"],
                                1, 3650, "archiveRetentionDays")
        if not spec.get("archive", True):
            problems.append(Problem(("archive_retention_days",), "applies only with the "
                                                                 "archive: remove it or set "
                                                                 "archive: true"))
    for key, rule in sorted(spec.get("rules", {}).items()):
        path = ("rules", key)
        problems += check_key(path, key)
        pattern = rule["event_pattern"]
        if not pattern:
            problems.append(Problem((*path, "event_pattern"), "must match something: an "
                                                              "empty pattern is rejected"))
        elif not all(isinstance(v, list | dict) for v in pattern.values()):
            problems.append(Problem((*path, "event_pattern"), "every field must be a list of "
                                                              "values or a nested pattern"))
        targets = rule["targets"]
        if not 1 <= len(targets) <= 5:
            problems.append(Problem((*path, "targets"), f"a rule has 1 to 5 targets (got "
                                                        f"{len(targets)})"))
        for tkey, target in sorted(targets.items()):
            tpath = (*path, "targets", tkey)
            problems += check_key(tpath, tkey)
            found = target_of(target)
            if found is None:
                problems.append(Problem(tpath, "set exactly one of topic, queue, function or "
                                               "workflow"))
            fifo = found is not None and found[0] == "queue" and found[1] in fifo_queues
            if fifo and "message_group_id" not in target:
                problems.append(Problem((*tpath, "message_group_id"),
                                        "required: the queue is FIFO"))
            if not fifo and "message_group_id" in target:
                problems.append(Problem((*tpath, "message_group_id"),
                                        "applies only to FIFO queue targets"))
            problems += check_range((*tpath, "max_retry_attempts"),
                                    target.get("max_retry_attempts", DEFAULT_RETRIES), 0, 185,
                                    "maxRetryAttempts")
            problems += check_range((*tpath, "max_event_age_seconds"),
                                    target.get("max_event_age_seconds",
                                               DEFAULT_EVENT_AGE_SECONDS), 60, 86400,
                                    "maxEventAgeSeconds")
            problems += check_fan_out_dead_letter(tpath, target.get("dead_letter", True),
                                                  len(targets), "rule", "target")
            transformer = target.get("input_transformer")
            if transformer is not None:
                for var, path_ in sorted(transformer.get("input_paths", {}).items()):
                    if not path_.startswith("$"):
                        problems.append(Problem((*tpath, "input_transformer", "input_paths",
                                                 var), f"'{path_}' is not a JSON path "
                                                       "($.detail...)"))
                    if f"<{var}>" not in transformer["input_template"]:
                        problems.append(Problem((*tpath, "input_transformer", "input_paths",
                                                 var), f"<{var}> is not used in "
                                                       "inputTemplate"))
    return problems


def _check_args(args: EventBusArgs) -> list[Problem]:
    problems = check_event_bus(args, args.get("fifo_queues", []))
    wired = {"topic": args.get("topics", {}), "queue": args.get("queues", {}),
             "function": args.get("functions", {}), "workflow": args.get("workflows", {})}
    for key, rule in sorted(args.get("rules", {}).items()):
        for tkey, target in sorted(rule["targets"].items()):
            found = target_of(target)
            if found is not None and found[1] not in wired[found[0]]:
                problems.append(Problem(("rules", key, "targets", tkey, found[0]),
                                        f"no ARN given for {found[0]} '{found[1]}'"))
    return problems


def workflow_starter_statements(workflow_arns: Sequence[pulumi.Input[str]],
                                kms_key_arn: pulumi.Input[str], alias: str | None,
                                region: pulumi.Input[str],
                                account: pulumi.Input[str]) -> list[Statement]:
    """Start exactly these (encrypted) workflows."""
    return [allow("StartWorkflows", ["states:StartExecution"], list(workflow_arns)),
            key_statement("WorkflowData", ["kms:Decrypt", "kms:GenerateDataKey"], kms_key_arn,
                          alias=alias, region=region, account=account)]


class EventBus(pulumi.ComponentResource):
    """An encrypted custom EventBridge bus with archived events, rules and dead-lettered
    targets."""

    bus_name: pulumi.Output[str]
    """Physical bus name."""
    bus_arn: pulumi.Output[str]
    """Bus ARN, known at preview."""
    dead_letter_queue_name: pulumi.Output[str]
    """The targets' dead-letter queue."""
    rule_names: pulumi.Output[dict[str, str]]
    """Physical rule name by rule key."""

    def __init__(self, name: str, args: EventBusArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("EventBus"), name, None, opts)
        raise_for("EventBus", name, _check_args(args))

        physical = args["bus_name"]
        kms = args["kms_key_arn"]
        tags = args.get("tags")
        account = aws.get_caller_identity_output(opts=invoke_opts(self)).account_id
        region = aws.get_region_output(opts=invoke_opts(self)).region
        arn = bus_arn(region, account, physical)
        rules = args.get("rules", {})
        rule_arns = {key: rule_arn(region, account, physical, key) for key in sorted(rules)}

        dlq_name = f"{physical}-dlq"
        dlq_arn = sqs_arn(region, account, dlq_name)
        dlq = aws.sqs.Queue(f"{name}-dlq", aws.sqs.QueueArgs(
            name=dlq_name, kms_master_key_id=kms, kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=DLQ_RETENTION_SECONDS, tags=tags), opts=child_opts(self))
        aws.sqs.QueuePolicy(f"{name}-dlq-policy", aws.sqs.QueuePolicyArgs(
            queue_url=dlq.url, policy=policy_document([
                deny_insecure_transport("sqs:*", dlq_arn),
                service_send("BusAndRules", "events.amazonaws.com", "sqs:SendMessage",
                             dlq_arn, [arn, *rule_arns.values()])])), opts=child_opts(self))
        bus = aws.cloudwatch.EventBus(f"{name}-bus", aws.cloudwatch.EventBusArgs(
            name=physical, kms_key_identifier=kms,
            description=f"Events of {physical}'s services",
            dead_letter_config=aws.cloudwatch.EventBusDeadLetterConfigArgs(arn=dlq_arn),
            tags=tags), opts=child_opts(self, depends_on=[dlq]))
        if args.get("archive", True):
            aws.cloudwatch.EventArchive(f"{name}-archive", aws.cloudwatch.EventArchiveArgs(
                name=f"{physical}-archive"[:48], event_source_arn=bus.arn,
                retention_days=args.get("archive_retention_days", 30), kms_key_identifier=kms,
                description=f"Every event on {physical}, for replay"), opts=child_opts(self))
        if args.get("schema_discovery", False):
            aws.schemas.Discoverer(f"{name}-discoverer", aws.schemas.DiscovererArgs(
                source_arn=bus.arn, description=f"Schemas of {physical}'s events", tags=tags),
                opts=child_opts(self))

        for key, rule in sorted(rules.items()):
            self._rule(name, key, rule, args, bus, rule_arns[key], dlq_arn, region, account)

        self.bus_name = pulumi.Output.from_input(physical)
        self.bus_arn = pulumi.Output.all(arn, bus.urn).apply(lambda p: p[0])
        self.dead_letter_queue_name = pulumi.Output.from_input(dlq_name)
        self.rule_names = pulumi.Output.from_input(
            {key: rule_name(physical, key) for key in sorted(rules)})
        self.register_outputs({"bus_name": self.bus_name, "bus_arn": self.bus_arn,
                               "dead_letter_queue_name": self.dead_letter_queue_name,
                               "rule_names": self.rule_names})

    def _rule(self, name: str, key: str, rule: RuleSpec, args: EventBusArgs,
              bus: aws.cloudwatch.EventBus, arn: pulumi.Output[str],
              dlq_arn: pulumi.Output[str], region: pulumi.Input[str],
              account: pulumi.Input[str]) -> None:
        tags = args.get("tags")
        physical = rule_name(args["bus_name"], key)
        event_rule = aws.cloudwatch.EventRule(f"{name}-{key}", aws.cloudwatch.EventRuleArgs(
            name=physical, event_bus_name=bus.name,
            event_pattern=json.dumps(rule["event_pattern"], sort_keys=True),
            description=rule.get("description", f"Routes events of {args['bus_name']}"),
            state="ENABLED" if rule.get("enabled", True) else "DISABLED", tags=tags),
            opts=child_opts(self))
        targets = {tkey: target_of(t) for tkey, t in sorted(rule["targets"].items())}
        workflows = sorted({found[1] for found in targets.values()
                            if found is not None and found[0] == "workflow"})
        role = None
        if workflows:
            role = aws.iam.Role(f"{name}-{key}-targets", aws.iam.RoleArgs(
                name=f"{physical}-targets"[:64],
                assume_role_policy=service_trust("events.amazonaws.com", account, arn),
                description=f"Rule {physical} starts its workflows", tags=tags),
                opts=child_opts(self))
            aws.iam.RolePolicy(f"{name}-{key}-targets-policy", aws.iam.RolePolicyArgs(
                role=role.name, name="start-workflows", policy=policy_document(
                    workflow_starter_statements(
                        [args.get("workflows", {})[w] for w in workflows], args["kms_key_arn"],
                        args.get("kms_key_alias"), region, account))),
                opts=child_opts(self))
        for tkey, target in sorted(rule["targets"].items()):
            kind, ref = targets[tkey] or ("", "")
            target_arn = {"topic": args.get("topics", {}), "queue": args.get("queues", {}),
                          "function": args.get("functions", {}),
                          "workflow": args.get("workflows", {})}[kind][ref]
            depends: list[pulumi.Resource] = []
            if kind == "function":
                depends.append(aws.lambda_.Permission(f"{name}-{key}-{tkey}-invoke",
                                                      aws.lambda_.PermissionArgs(
                    action="lambda:InvokeFunction", function=target_arn,
                    principal="events.amazonaws.com", source_arn=arn,
                    source_account=account, statement_id=f"events-{physical}-{tkey}"[:100]),
                    opts=child_opts(self)))
            transformer = target.get("input_transformer")
            aws.cloudwatch.EventTarget(f"{name}-{key}-{tkey}", aws.cloudwatch.EventTargetArgs(
                rule=event_rule.name, event_bus_name=bus.name, target_id=tkey,
                arn=target_arn, role_arn=role.arn if kind == "workflow" and role else None,
                input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                    input_template=transformer["input_template"],
                    input_paths=transformer.get("input_paths"))
                if transformer is not None else None,
                sqs_target=aws.cloudwatch.EventTargetSqsTargetArgs(
                    message_group_id=target["message_group_id"])
                if "message_group_id" in target else None,
                retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                    maximum_retry_attempts=target.get("max_retry_attempts", DEFAULT_RETRIES),
                    maximum_event_age_in_seconds=target.get("max_event_age_seconds",
                                                            DEFAULT_EVENT_AGE_SECONDS)),
                dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dlq_arn)
                if target.get("dead_letter", True) else None),
                opts=child_opts(self, depends_on=depends or None))
