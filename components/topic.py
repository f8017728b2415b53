"""Topics: one SNS topic (standard or FIFO) and, per subscriber, its own delivery path.

A :class:`Topic` is how one service tells others that something happened without calling
them. Every subscriber gets its own path, so a slow or failing consumer never holds up the
others:

- ``delivery: queue`` (the default, and the only choice on FIFO topics): a KMS-encrypted SQS
  queue with raw message delivery, a dead-letter queue it redrives to after
  ``max_receive_count`` receives, and a queue policy that admits exactly this topic (TLS
  only). A function subscriber is driven from that queue by an event source mapping that
  reports partial batch failures; a service reads it itself (``QUEUE_<TOPIC>_URL``).
- ``delivery: direct`` (functions on standard topics): SNS invokes the function, with an
  invoke permission scoped to the topic and a dead-letter queue for what SNS finally cannot
  deliver.

The topic is encrypted with the platform key, its policy denies publishing without TLS, and
only the EventBridge rules named in ``event_rule_arns`` may publish to it as a service;
publishers are granted exactly ``sns:Publish`` on it through their own roles.

Every physical name derives from ``topic_name`` and the subscriber key, and every ARN and URL
from those names, so the grants the platform gives publishers and consumers are known at
preview, before the topic exists.
"""


import json
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import Statement, child_opts, invoke_opts, policy_document, type_token
from .validation import Problem, check_choice, check_key, check_range, raise_for

DELIVERIES = ("queue", "direct")
FILTER_SCOPES = ("MessageAttributes", "MessageBody")
SQS_MAX_VISIBILITY_SECONDS = 43200
SQS_NAME_MAX = 80
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
"""Subscription queues keep a message four days (the SQS default)."""
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
"""Dead-letter queues keep the most SQS allows: longer than any source queue, since a
standard queue's message keeps its original enqueue time when it is dead-lettered."""
DEFAULT_VISIBILITY_SECONDS = 30
DEFAULT_MAX_RECEIVE_COUNT = 5


class WorkloadRef(TypedDict):
    """A service or a function of this stack, by key (exactly one of the two)."""

    service: NotRequired[str]
    """Key of a service under ``services``."""
    function: NotRequired[str]
    """Key of a function under ``functions``."""


class SubscriberSpec(WorkloadRef):
    """One subscription: a service or function that receives the topic's messages."""

    delivery: NotRequired[str]
    """``queue`` (default: its own queue with a dead-letter queue) or ``direct`` (SNS invokes
    a function; standard topics only)."""
    filter_policy: NotRequired[dict[str, Any]]
    """SNS filter policy: only messages matching it are delivered (default: all)."""
    filter_policy_scope: NotRequired[str]
    """What the filter policy matches: ``MessageAttributes`` (default) or ``MessageBody``."""
    max_receive_count: NotRequired[int]
    """Receives before a message moves to the dead-letter queue, 1-1000 (default 5)."""
    visibility_timeout_seconds: NotRequired[int]
    """How long a received message stays hidden, 0-43200; a function consumer needs at
    least 6 x its timeout (the default for functions; 30 for services)."""
    batch_size: NotRequired[int]
    """Messages per invocation of a function consumer, 1-10 (default 10)."""
    dead_letter: NotRequired[bool]
    """Keep undeliverable messages in a dead-letter queue (default true; a topic with more
    than one subscriber may not switch it off)."""


class TopicSpec(TypedDict):
    """A topic as a stack file describes it (under ``events.topics.<key>``)."""

    fifo: NotRequired[bool]
    """FIFO topic: ordered per message group and deduplicated; subscribers get FIFO queues
    (default false)."""
    content_based_deduplication: NotRequired[bool]
    """FIFO only: deduplicate on a hash of the body instead of a deduplication id."""
    publishers: NotRequired[list[WorkloadRef]]
    """Services and functions granted ``sns:Publish`` on the topic."""
    subscribers: NotRequired[dict[str, SubscriberSpec]]
    """Subscriptions by key (the key names the queue: ``<topic>-<key>``)."""


class TopicArgs(TopicSpec):
    """A topic plus its wiring."""

    topic_name: str
    """Physical topic name without ``.fifo`` (the platform uses ``<stack>-<key>``); the
    subscription queues are ``<topic_name>-<subscriber key>``."""
    kms_key_arn: pulumi.Input[str]
    """The platform key: topic, queues and dead-letter queues are encrypted with it."""
    function_arns: NotRequired[dict[str, pulumi.Input[str]]]
    """ARN of every function that subscribes, by function key."""
    function_timeouts: NotRequired[dict[str, int]]
    """Timeout in seconds of every function that subscribes through a queue, by key."""
    event_rule_arns: NotRequired[list[pulumi.Input[str]]]
    """EventBridge rules allowed to publish to the topic (rules that target it)."""
    queue_event_rule_arns: NotRequired[dict[str, list[pulumi.Input[str]]]]
    """EventBridge rules allowed to send to a subscription queue, by subscriber key."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every taggable child."""


# --- names, known before anything exists -------------------------------------------------------

def fifo_suffix(fifo: bool) -> str:
    return ".fifo" if fifo else ""


def topic_physical_name(topic_name: str, fifo: bool) -> str:
    return topic_name + fifo_suffix(fifo)


def queue_physical_name(topic_name: str, subscriber: str, fifo: bool) -> str:
    return f"{topic_name}-{subscriber}{fifo_suffix(fifo)}"


def dlq_physical_name(topic_name: str, subscriber: str, fifo: bool) -> str:
    return f"{topic_name}-{subscriber}-dlq{fifo_suffix(fifo)}"


def sns_arn(region: pulumi.Input[str], account: pulumi.Input[str],
            name: str) -> pulumi.Output[str]:
    return pulumi.Output.format("arn:aws:sns:{0}:{1}:{2}", region, account, name)


def sqs_arn(region: pulumi.Input[str], account: pulumi.Input[str],
            name: str) -> pulumi.Output[str]:
    return pulumi.Output.format("arn:aws:sqs:{0}:{1}:{2}", region, account, name)


def sqs_url(region: pulumi.Input[str], account: pulumi.Input[str],
            name: str) -> pulumi.Output[str]:
    return pulumi.Output.format("https://sqs.{0}.amazonaws.com/{1}/{2}", region, account, name)


def uses_queue(subscriber: SubscriberSpec) -> bool:
    return subscriber.get("delivery", "queue") == "queue"


def workload_of(ref: WorkloadRef) -> tuple[str, str] | None:
    """``("services", key)`` or ``("functions", key)``; None unless exactly one is set."""
    if ("service" in ref) == ("function" in ref):
        return None
    return ("services", ref["service"]) if "service" in ref else ("functions", ref["function"])


# --- validation ----------------------------------------------------------------------------------

def check_workload_ref(path: tuple[Any, ...], ref: WorkloadRef) -> list[Problem]:
    if workload_of(ref) is None:
        return [Problem(path, "set exactly one of service or function")]
    return []


def check_filter_policy(path: tuple[Any, ...], policy: Any, scope: str) -> list[Problem]:
    """SNS filter policies: attribute -> list of values or matchers; nested objects only
    when the policy matches the message body."""
    if not isinstance(policy, dict) or not policy:
        return [Problem(path, "must be a non-empty mapping of attribute to a list of values")]
    problems: list[Problem] = []
    for name, value in sorted(policy.items()):
        if isinstance(value, dict) and scope == "MessageBody":
            problems += check_filter_policy((*path, name), value, scope)
        elif not isinstance(value, list) or not value:
            nested = " (nested attributes need filterPolicyScope MessageBody)" \
                if isinstance(value, dict) else ""
            problems.append(Problem((*path, name), f"must be a non-empty list of values or "
                                                   f"matchers{nested}"))
    return problems


def check_fan_out_dead_letter(path: tuple[Any, ...], dead_letter: bool, fan_out: int,
                              whole: str, part: str) -> list[Problem]:
    """A destination of a fan-out (a topic's subscriber, a rule's target) may not drop its
    dead-letter queue: what it fails would be lost while the others got it."""
    if dead_letter or fan_out < 2:
        return []
    return [Problem((*path, "dead_letter"),
                    f"fan-out without a dead-letter queue: the {whole} has {fan_out} {part}s, "
                    f"and a message this {part} fails would be lost while the others got it; "
                    "remove deadLetter: false")]


def check_topic(spec: TopicSpec, topic_name: str | None = None) -> list[Problem]:
    """Rules on one topic's own settings (and, given the physical ``topic_name``, the length
    of its queue names); references to services and functions are checked where the whole
    stack is known (``components.events``)."""
    problems: list[Problem] = []
    fifo = spec.get("fifo", False)
    if spec.get("content_based_deduplication") and not fifo:
        problems.append(Problem(("content_based_deduplication",),
                                "applies only to FIFO topics: set fifo: true or remove it"))
    seen: set[tuple[str, str]] = set()
    for i, ref in enumerate(spec.get("publishers", [])):
        problems += check_workload_ref(("publishers", i), ref)
        workload = workload_of(ref)
        if workload in seen:
            problems.append(Problem(("publishers", i), f"{workload[1]} is listed twice"))
        if workload is not None:
            seen.add(workload)
    subscribers = spec.get("subscribers", {})
    for key, sub in sorted(subscribers.items()):
        path = ("subscribers", key)
        problems += check_key(path, key)
        problems += check_workload_ref(path, sub)
        delivery = sub.get("delivery", "queue")
        problems += check_choice((*path, "delivery"), delivery, DELIVERIES)
        if delivery == "direct":
            if "service" in sub:
                problems.append(Problem((*path, "delivery"), "a service reads its own queue: "
                                                              "use delivery queue"))
            if fifo:
                problems.append(Problem((*path, "delivery"), "FIFO topics deliver only to "
                                                              "FIFO queues: use delivery queue"))
            for field in ("max_receive_count", "visibility_timeout_seconds", "batch_size"):
                if field in sub:
                    problems.append(Problem((*path, field), "applies only to delivery queue"))
        if "batch_size" in sub:
            if "service" in sub:
                problems.append(Problem((*path, "batch_size"), "applies only to function "
                                                                "subscribers"))
            problems += check_range((*path, "batch_size"), sub["batch_size"], 1, 10,
                                    "batchSize")
        problems += check_range((*path, "max_receive_count"),
                                sub.get("max_receive_count", DEFAULT_MAX_RECEIVE_COUNT), 1,
                                1000, "maxReceiveCount")
        if "visibility_timeout_seconds" in sub:
            problems += check_range((*path, "visibility_timeout_seconds"),
                                    sub["visibility_timeout_seconds"], 0,
                                    SQS_MAX_VISIBILITY_SECONDS, "visibilityTimeoutSeconds")
        scope = sub.get("filter_policy_scope", "MessageAttributes")
        problems += check_choice((*path, "filter_policy_scope"), scope, FILTER_SCOPES)
        if "filter_policy" in sub:
            problems += check_filter_policy((*path, "filter_policy"), sub["filter_policy"],
                                            scope)
        elif "filter_policy_scope" in sub:
            problems.append(Problem((*path, "filter_policy_scope"), "needs a filterPolicy"))
        problems += check_fan_out_dead_letter(path, sub.get("dead_letter", True),
                                              len(subscribers), "topic", "subscriber")
        longest = dlq_physical_name(topic_name, key, fifo) if topic_name else ""
        if len(longest) > SQS_NAME_MAX:
            problems.append(Problem(path, f"queue name '{longest}' would exceed "
                                          f"{SQS_NAME_MAX} characters: shorten the topic or "
                                          "subscriber key"))
    return problems


def subscriber_visibility(sub: SubscriberSpec, function_timeout: int | None) -> int:
    """A queue's visibility timeout: as set, else 6 x the consuming function's timeout
    (AWS's guidance for event source mappings), else 30 seconds."""
    if "visibility_timeout_seconds" in sub:
        return sub["visibility_timeout_seconds"]
    if function_timeout is not None:
        return 6 * function_timeout
    return DEFAULT_VISIBILITY_SECONDS


def _check_args(args: TopicArgs) -> list[Problem]:
    problems = check_topic(args, args["topic_name"])
    functions = args.get("function_arns", {})
    timeouts = args.get("function_timeouts", {})
    for key, sub in sorted(args.get("subscribers", {}).items()):
        fn = sub.get("function")
        if fn is None:
            continue
        if fn not in functions:
            problems.append(Problem(("function_arns", fn), f"subscriber '{key}' needs the "
                                                           "ARN of function " + fn))
        if uses_queue(sub) and fn not in timeouts:
            problems.append(Problem(("function_timeouts", fn), f"subscriber '{key}' needs "
                                                               "the timeout of function " + fn))
    return problems


# --- policies ------------------------------------------------------------------------------------

def deny_insecure_transport(action: str, resource: pulumi.Input[str]) -> Statement:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
            "Action": action, "Resource": resource,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def service_send(sid: str, service: str, action: str, resource: pulumi.Input[str],
                 sources: Sequence[pulumi.Input[str]]) -> Statement:
    """An AWS service may act on the resource for exactly the named sources."""
    return {"Sid": sid, "Effect": "Allow", "Principal": {"Service": service},
            "Action": action, "Resource": resource,
            "Condition": {"ArnEquals": {"aws:SourceArn": list(sources)}}}


def topic_policy_statements(topic_arn: pulumi.Input[str],
                            rule_arns: Sequence[pulumi.Input[str]]) -> list[Statement]:
    statements = [deny_insecure_transport("sns:Publish", topic_arn)]
    if rule_arns:
        statements.append(service_send("EventRules", "events.amazonaws.com", "sns:Publish",
                                       topic_arn, rule_arns))
    return statements


def queue_policy_statements(queue_arn: pulumi.Input[str], topic_arn: pulumi.Input[str],
                            rule_arns: Sequence[pulumi.Input[str]] = ()) -> list[Statement]:
    """TLS only; the topic (and the named rules) may send, nothing else."""
    statements = [deny_insecure_transport("sqs:*", queue_arn),
                  service_send("Topic", "sns.amazonaws.com", "sqs:SendMessage", queue_arn,
                               [topic_arn])]
    if rule_arns:
        statements.append(service_send("EventRules", "events.amazonaws.com",
                                       "sqs:SendMessage", queue_arn, rule_arns))
    return statements


def redrive(dlq_arn: pulumi.Input[str], max_receive_count: int | None = None
            ) -> pulumi.Output[str]:
    body: dict[str, Any] = {"deadLetterTargetArn": dlq_arn}
    if max_receive_count is not None:
        body["maxReceiveCount"] = max_receive_count
    return pulumi.Output.json_dumps(body)


# --- the component -------------------------------------------------------------------------------

class Topic(pulumi.ComponentResource):
    """An encrypted SNS topic with a TLS-only policy and one isolated, dead-lettered delivery
    path per subscriber."""

    topic_arn: pulumi.Output[str]
    """ARN of the topic, known at preview."""
    topic_name: pulumi.Output[str]
    """Physical name (``.fifo`` on FIFO topics)."""
    queue_arns: pulumi.Output[dict[str, str]]
    """Subscription queue ARN by subscriber key (queue deliveries only)."""
    queue_urls: pulumi.Output[dict[str, str]]
    """Subscription queue URL by subscriber key (queue deliveries only)."""
    dead_letter_queue_names: pulumi.Output[dict[str, str]]
    """Dead-letter queue name by subscriber key."""

    def __init__(self, name: str, args: TopicArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Topic"), name, None, opts)
        raise_for("Topic", name, _check_args(args))

        fifo = args.get("fifo", False)
        base = args["topic_name"]
        kms = args["kms_key_arn"]
        tags = args.get("tags")
        account = aws.get_caller_identity_output(opts=invoke_opts(self)).account_id
        region = aws.get_region_output(opts=invoke_opts(self)).region
        physical = topic_physical_name(base, fifo)
        topic_arn = sns_arn(region, account, physical)

        topic = aws.sns.Topic(f"{name}-topic", aws.sns.TopicArgs(
            name=physical, fifo_topic=fifo or None,
            content_based_deduplication=args.get("content_based_deduplication") if fifo
            else None,
            kms_master_key_id=kms, tracing_config="Active", signature_version=2, tags=tags),
            opts=child_opts(self))
        policy = aws.sns.TopicPolicy(f"{name}-policy", aws.sns.TopicPolicyArgs(
            arn=topic.arn, policy=policy_document(topic_policy_statements(
                topic_arn, args.get("event_rule_arns", [])))), opts=child_opts(self))

        queue_arns: dict[str, pulumi.Output[str]] = {}
        queue_urls: dict[str, pulumi.Output[str]] = {}
        dlq_names: dict[str, str] = {}
        for key, sub in sorted(args.get("subscribers", {}).items()):
            sub_name = f"{name}-{key}"
            dead_letter = sub.get("dead_letter", True)
            dlq_arn = None
            dlq = None
            if dead_letter:
                dlq_names[key] = dlq_physical_name(base, key, fifo)
                dlq_arn = sqs_arn(region, account, dlq_names[key])
                dlq = aws.sqs.Queue(f"{sub_name}-dlq", aws.sqs.QueueArgs(
                    name=dlq_names[key], fifo_queue=fifo or None, kms_master_key_id=kms,
                    kms_data_key_reuse_period_seconds=300,
                    message_retention_seconds=DLQ_RETENTION_SECONDS, tags=tags),
                    opts=child_opts(self))
                # SNS parks what it cannot deliver (to the queue or the function) here.
                aws.sqs.QueuePolicy(f"{sub_name}-dlq-policy", aws.sqs.QueuePolicyArgs(
                    queue_url=dlq.url, policy=policy_document(
                        queue_policy_statements(dlq_arn, topic_arn))), opts=child_opts(self))
            filters: dict[str, Any] = {}
            if "filter_policy" in sub:
                filters = {"filter_policy": json.dumps(sub["filter_policy"], sort_keys=True),
                           "filter_policy_scope": sub.get("filter_policy_scope",
                                                          "MessageAttributes")}
            sns_redrive = redrive(dlq_arn) if dlq_arn is not None else None
            if uses_queue(sub):
                queue_arn, queue_url = self._queue_subscription(
                    sub_name, key, sub, args, base, fifo, topic, topic_arn, policy, dlq,
                    dlq_arn, sns_redrive, filters, region, account)
                queue_arns[key], queue_urls[key] = queue_arn, queue_url
            else:
                function_arn = args["function_arns"][sub["function"]]
                permission = aws.lambda_.Permission(f"{sub_name}-invoke",
                                                    aws.lambda_.PermissionArgs(
                    action="lambda:InvokeFunction", function=function_arn,
                    principal="sns.amazonaws.com", source_arn=topic_arn,
                    statement_id=f"sns-{physical.replace('.', '-')}-{key}"),
                    opts=child_opts(self))
                aws.sns.TopicSubscription(f"{sub_name}-subscription",
                                          aws.sns.TopicSubscriptionArgs(
                    topic=topic_arn, protocol="lambda", endpoint=function_arn,
                    redrive_policy=sns_redrive, **filters),
                    opts=child_opts(self, depends_on=[topic, permission, policy]))

        self.topic_arn = pulumi.Output.all(topic_arn, topic.urn, policy.urn).apply(
            lambda parts: parts[0])
        self.topic_name = pulumi.Output.from_input(physical)
        self.queue_arns = pulumi.Output.all(queue_arns).apply(lambda x: dict(x[0]))
        self.queue_urls = pulumi.Output.all(queue_urls).apply(lambda x: dict(x[0]))
        self.dead_letter_queue_names = pulumi.Output.from_input(dlq_names)
        self.register_outputs({"topic_arn": self.topic_arn, "topic_name": self.topic_name,
                               "queue_arns": self.queue_arns, "queue_urls": self.queue_urls,
                               "dead_letter_queue_names": self.dead_letter_queue_names})

    def _queue_subscription(self, sub_name: str, key: str, sub: SubscriberSpec,
                            args: TopicArgs, base: str, fifo: bool, topic: aws.sns.Topic,
                            topic_arn: pulumi.Output[str], policy: aws.sns.TopicPolicy,
                            dlq: aws.sqs.Queue | None, dlq_arn: pulumi.Output[str] | None,
                            sns_redrive: pulumi.Output[str] | None, filters: Mapping[str, Any],
                            region: pulumi.Input[str], account: pulumi.Input[str]
                            ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        tags = args.get("tags")
        queue_name = queue_physical_name(base, key, fifo)
        queue_arn = sqs_arn(region, account, queue_name)
        fn = sub.get("function")
        timeout = args.get("function_timeouts", {}).get(fn) if fn else None
        queue = aws.sqs.Queue(f"{sub_name}-queue", aws.sqs.QueueArgs(
            name=queue_name, fifo_queue=fifo or None, kms_master_key_id=args["kms_key_arn"],
            kms_data_key_reuse_period_seconds=300,
            visibility_timeout_seconds=subscriber_visibility(sub, timeout),
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            redrive_policy=redrive(dlq_arn, sub.get("max_receive_count",
                                                    DEFAULT_MAX_RECEIVE_COUNT))
            if dlq_arn is not None else None,
            tags=tags), opts=child_opts(self, depends_on=[dlq] if dlq else None))
        queue_policy = aws.sqs.QueuePolicy(f"{sub_name}-queue-policy", aws.sqs.QueuePolicyArgs(
            queue_url=queue.url, policy=policy_document(queue_policy_statements(
                queue_arn, topic_arn, args.get("queue_event_rule_arns", {}).get(key, [])))),
            opts=child_opts(self))
        aws.sns.TopicSubscription(f"{sub_name}-subscription", aws.sns.TopicSubscriptionArgs(
            topic=topic_arn, protocol="sqs", endpoint=queue_arn, raw_message_delivery=True,
            redrive_policy=sns_redrive, **filters),
            opts=child_opts(self, depends_on=[topic, queue, queue_policy, policy]))
        if fn is not None:
            aws.lambda_.EventSourceMapping(f"{sub_name}-source",
                                           aws.lambda_.EventSourceMappingArgs(
                function_name=args["function_arns"][fn], event_source_arn=queue_arn,
                batch_size=sub.get("batch_size", 10),
                function_response_types=["ReportBatchItemFailures"], tags=tags),
                opts=child_opts(self, depends_on=[queue]))
        return queue_arn, sqs_url(region, account, queue_name)
