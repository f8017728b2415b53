"""Workflows: a Step Functions state machine from an Amazon States Language file in the
repository, with a role that can do exactly what its task states do.

The definition (JSON or YAML) names this stack's resources by key instead of by ARN, as
whole-string placeholders; the component resolves them and derives the role from them:

=================================================  ========================================
task state                                         the role may
=================================================  ========================================
``arn:aws:states:::lambda:invoke`` with            ``lambda:InvokeFunction`` on that
``FunctionName: ${function:<key>}`` (or            function
``Resource: ${function:<key>}``)
``arn:aws:states:::sns:publish`` with              ``sns:Publish`` on that topic (and use
``TopicArn: ${topic:<key>}``                       the platform key to encrypt)
``arn:aws:states:::sqs:sendMessage`` with          ``sqs:SendMessage`` on that queue (and
``QueueUrl: ${queue:<topic>/<subscriber>}``        use the platform key)
``arn:aws:states:::ecs:runTask[.sync]`` with       ``ecs:RunTask`` on the service's task
``TaskDefinition: ${service:<key>}``               definition family in its cluster,
                                                   ``iam:PassRole`` of its two roles to ECS
                                                   only; ``.sync`` also watches and stops
                                                   those tasks
``arn:aws:states:::http:invoke`` with              ``states:InvokeHTTPEndpoint`` for that
``ApiEndpoint: ${service:<key>}/<path>``, a fixed  method on that URL only, and the
``Method`` and ``Authentication.ConnectionArn``    connection's credentials (public
                                                   services with a domain name only)
=================================================  ========================================

For an ECS task the component fills in the cluster, Fargate and the service's private
subnets and security group. Anything else (other integrations, literal ARNs, ``aws-sdk``
calls) is rejected: the role could not be scoped to it.

The definition is checked before anything is created: its structure by cfn-lint's Amazon
States Language schema (rule E3601), then what the schema cannot say: every ``Next``,
``Default`` and ``Catch`` target exists, every state is reachable, retries are possible
(``BackoffRate`` >= 1, ``MaxDelaySeconds`` >= ``IntervalSeconds``, ``States.ALL`` last),
heartbeats shorter than timeouts, a state does not time out before the function it calls,
and express workflows use no ``.sync``/``.waitForTaskToken`` and run within 5 minutes.

The state machine logs to its own encrypted log group (``ERROR`` by default, execution data
off unless asked), is traced with X-Ray and encrypted with the platform key.
"""


import copy
import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypeGuard

import pulumi
import pulumi_aws as aws
import yaml
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
from .environment import LOG_RETENTION_DAYS
from .topic import WorkloadRef, check_workload_ref
from .validation import PathItem, Problem, check_choice, did_you_mean, raise_for

TYPES = ("standard", "express")
LOG_LEVELS = ("ALL", "ERROR")
"""Levels that keep failures: FATAL and OFF would hide why an execution failed."""
EXPRESS_MAX_SECONDS = 300
DEFINITION_MAX_BYTES = 1024 * 1024
"""Step Functions accepts definitions up to 1 MiB."""
PLACEHOLDER_RE = re.compile(r"^\$\{(function|service|topic|queue):([a-z0-9/-]+)\}$")
ANY_PLACEHOLDER_RE = re.compile(r"\$\{[^}]*\}")
KINDS = ("function", "service", "topic", "queue")
_SECTION = {"function": "functions", "service": "services", "topic": "events.topics",
            "queue": "subscription queues (<topic>/<subscriber>)"}

LAMBDA = "arn:aws:states:::lambda:invoke"
SNS = "arn:aws:states:::sns:publish"
SQS = "arn:aws:states:::sqs:sendMessage"
ECS = "arn:aws:states:::ecs:runTask"
# integration -> (the Parameters field naming the resource, the kind it names)
INTEGRATIONS: dict[str, tuple[str, str]] = {
    LAMBDA: ("FunctionName", "function"),
    SNS: ("TopicArn", "topic"),
    SQS: ("QueueUrl", "queue"),
    ECS: ("TaskDefinition", "service"),
}
PATTERNS = ("", ".sync", ".waitForTaskToken")
HTTP = "arn:aws:states:::http:invoke"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
HTTP_ENDPOINT_RE = re.compile(r"^\$\{service:([a-z0-9-]+)\}(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$")
"""``${service:<key>}`` and an optional path: the one place a placeholder may start a value."""
CONNECTION_RE = re.compile(r"^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):connection/"
                           r"([A-Za-z0-9_.-]+)/[A-Za-z0-9-]+$")
ECS_EVENTS_RULE = "StepFunctionsGetEventsForECSTaskRule"
"""The managed rule Step Functions uses to learn that an ECS task it runs has stopped."""

LOG_DELIVERY_ACTIONS = ("logs:CreateLogDelivery", "logs:DeleteLogDelivery",
                        "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
                        "logs:GetLogDelivery", "logs:ListLogDeliveries",
                        "logs:PutResourcePolicy", "logs:UpdateLogDelivery")
"""What Step Functions needs to deliver execution logs; none of these actions supports
resource-level permissions, so "*" is the only form."""
XRAY_ACTIONS = ("xray:GetSamplingRules", "xray:GetSamplingTargets",
                "xray:PutTelemetryRecords", "xray:PutTraceSegments")


class WorkflowSpec(TypedDict):
    """A workflow as a stack file describes it (under ``workflows.<key>``)."""

    definition: str
    """Amazon States Language file (JSON or YAML), relative to the project directory."""
    type: NotRequired[str]
    """``standard`` (default: exactly-once, up to a year) or ``express`` (at-least-once,
    up to 5 minutes, no ``.sync`` or callbacks)."""
    log_level: NotRequired[str]
    """Execution log level: ``ERROR`` (default) or ``ALL``."""
    include_execution_data: NotRequired[bool]
    """Log state input and output too (default false: they may hold personal data)."""
    starters: NotRequired[list[WorkloadRef]]
    """Services and functions granted ``states:StartExecution`` on the workflow."""


class WorkflowServiceArgs(TypedDict):
    """What an ECS task state needs of the service whose task definition it runs."""

    task_definition_family: str
    """Family of the service's task definition (its name); the latest revision runs."""
    cluster_arn: pulumi.Input[str]
    """Cluster the task runs in."""
    cluster_name: pulumi.Input[str]
    """That cluster's name (task ARNs contain it)."""
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets for the task."""
    security_group_id: pulumi.Input[str]
    """The service's security group."""
    task_role_arn: pulumi.Input[str]
    """The service's task role (passed to ECS)."""
    execution_role_arn: pulumi.Input[str]
    """The service's execution role (passed to ECS)."""
    url: NotRequired[pulumi.Input[str]]
    """``https://<domain>`` of a public service, for ``http:invoke`` states."""


class WorkflowQueueArgs(TypedDict):
    """A queue a task state may send to."""

    arn: pulumi.Input[str]
    """Queue ARN (for the role)."""
    url: pulumi.Input[str]
    """Queue URL (for the state's QueueUrl)."""


class WorkflowArgs(WorkflowSpec):
    """A workflow plus the resources its definition may name."""

    state_machine_name: NotRequired[str]
    """Physical name (default: the component name)."""
    kms_key_arn: pulumi.Input[str]
    """The platform key: state machine data, log group and the messages it sends."""
    kms_key_alias: NotRequired[str]
    """That key's alias: the role names the key through it, so it is known at preview."""
    log_retention_days: NotRequired[int]
    """Retention of the execution log group (default 365)."""
    functions: NotRequired[dict[str, pulumi.Input[str]]]
    """Function ARN by key, for ``${function:<key>}``."""
    function_timeouts: NotRequired[dict[str, int]]
    """Function timeout in seconds by key (a state must not time out before it)."""
    services: NotRequired[dict[str, WorkflowServiceArgs]]
    """Services by key, for ``${service:<key>}``."""
    topics: NotRequired[dict[str, pulumi.Input[str]]]
    """Topic ARN by key, for ``${topic:<key>}``."""
    queues: NotRequired[dict[str, WorkflowQueueArgs]]
    """Queues by ``<topic>/<subscriber>``, for ``${queue:<topic>/<subscriber>}``."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every taggable child."""


# --- reading and checking a definition ----------------------------------------------------------

@dataclass
class Task:
    """One task state that touches a resource of the stack."""

    path: tuple[PathItem, ...]
    integration: str
    """One of :data:`INTEGRATIONS` (a bare ``${function:..}`` resource counts as lambda)."""
    pattern: str
    """``""``, ``.sync`` or ``.waitForTaskToken``."""
    kind: str
    key: str
    url_path: str = ""
    """HTTP tasks: what follows the service's URL."""
    method: str = ""
    """HTTP tasks: the request method."""
    connection: str = ""
    """HTTP tasks: the EventBridge connection that authenticates the call."""


@dataclass
class Definition:
    """A parsed definition and what its task states use."""

    document: dict[str, Any]
    tasks: list[Task] = field(default_factory=list)

    def uses(self, kind: str) -> list[str]:
        return sorted({t.key for t in self.tasks if t.kind == kind})


class _NoAliases(yaml.SafeLoader):
    """YAML without anchors and aliases: a small file could otherwise expand into an
    enormous definition."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _AliasUsed(self.peek_event().start_mark.line + 1)
        return super().compose_node(parent, index)


class _AliasUsed(Exception):
    def __init__(self, line: int):
        self.line = line


def read_definition(path: str) -> tuple[Definition | None, list[Problem]]:
    """Load ``path`` (relative to the working directory, the project) as JSON or YAML."""
    where = ("definition",)
    try:
        size = os.path.getsize(path)
        if size > DEFINITION_MAX_BYTES:
            return None, [Problem(where, f"{path} is {size} bytes; Step Functions accepts "
                                         f"at most {DEFINITION_MAX_BYTES}")]
        with open(path, encoding="utf-8") as fh:
            document = yaml.load(fh, Loader=_NoAliases)  # a SafeLoader: no object tags
    except FileNotFoundError:
        return None, [Problem(where, f"{path} does not exist (paths are relative to the "
                                     "project directory)")]
    except _AliasUsed as exc:
        return None, [Problem(where, f"{path} uses a YAML alias at line {exc.line}; write "
                                     "the value out (aliases are not allowed in definitions)")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(where, f"{path} cannot be read ({exc})")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        return None, [Problem(where, f"{path} is not valid JSON or YAML{at}")]
    if not isinstance(document, dict):
        return None, [Problem(where, f"{path} must hold a state machine (a mapping with "
                                     "StartAt and States)")]
    return Definition(document), []


def check_workflow(spec: WorkflowSpec) -> list[Problem]:
    """The plain settings (the definition is checked by :func:`check_definition`)."""
    problems = check_choice(("type",), spec.get("type", "standard"), TYPES)
    problems += check_choice(("log_level",), spec.get("log_level", "ERROR"), LOG_LEVELS)
    for i, ref in enumerate(spec.get("starters", [])):
        problems += check_workload_ref(("starters", i), ref)
    return problems


def _fake_value(kind: str, key: str) -> str:
    """A well-formed stand-in for a placeholder, for the schema check."""
    return {"function": f"arn:aws:lambda:us-east-1:123456789012:function:{key}",
            "service": key.replace("/", "-"),
            "topic": f"arn:aws:sns:us-east-1:123456789012:{key}",
            "queue": f"https://sqs.us-east-1.amazonaws.com/123456789012/{key}"}[kind]


def substitute(value: Any, resolve: Callable[[str, str], Any]) -> Any:
    """``value`` with every whole-string placeholder replaced by ``resolve(kind, key)``."""
    if isinstance(value, dict):
        return {k: substitute(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, resolve) for v in value]
    if isinstance(value, str):
        match = PLACEHOLDER_RE.match(value)
        if match:
            return resolve(match.group(1), match.group(2))
    return value


@functools.lru_cache(maxsize=64)
def _schema_problems(text: str) -> tuple[tuple[tuple[PathItem, ...], str], ...]:
    """cfn-lint's States Language structure check (E3601) of one definition."""
    from cfnlint.api import ManualArgs, lint

    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Workflow": {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/workflow",
                       "Definition": json.loads(text)}}}}
    found = []
    for match in lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"])):
        if match.rule.id != "E3601":
            continue
        path = list(match.path)
        at = tuple(path[path.index("Definition") + 1:]) if "Definition" in path else ()
        message = re.sub(r" at '[^']*'$", "", match.message)
        found.append((at, message))
    return tuple(sorted(set(found), key=lambda item: (str(item[0]), item[1])))


def _scopes(doc: Mapping[str, Any], path: tuple[PathItem, ...] = ()
            ) -> Iterator[tuple[tuple[PathItem, ...], Mapping[str, Any]]]:
    """The definition and every nested state machine (Parallel branches, Map processors)."""
    yield path, doc
    for name, state in (doc.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        for i, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                yield from _scopes(branch, (*path, "States", name, "Branches", i))
        for field_ in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(field_), dict):
                yield from _scopes(state[field_], (*path, "States", name, field_))


def _targets(state: Mapping[str, Any]) -> Iterator[tuple[tuple[PathItem, ...], Any]]:
    if "Next" in state:
        yield ("Next",), state["Next"]
    if "Default" in state:
        yield ("Default",), state["Default"]
    for i, choice in enumerate(state.get("Choices") or []):
        if isinstance(choice, dict) and "Next" in choice:
            yield ("Choices", i, "Next"), choice["Next"]
    for i, catch in enumerate(state.get("Catch") or []):
        if isinstance(catch, dict) and "Next" in catch:
            yield ("Catch", i, "Next"), catch["Next"]


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_retries(where: tuple[PathItem, ...], state: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for field_ in ("Retry", "Catch"):
        rules = state.get(field_) or []
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            errors = rule.get("ErrorEquals") or []
            if "States.ALL" in errors and (len(errors) > 1 or i != len(rules) - 1):
                problems.append(Problem((*where, field_, i, "ErrorEquals"),
                                        "States.ALL must be alone and in the last rule"))
            if field_ != "Retry":
                continue
            attempts = rule.get("MaxAttempts", 3)
            if not isinstance(attempts, int) or isinstance(attempts, bool) \
                    or not 0 <= attempts <= 99_999_999:
                problems.append(Problem((*where, field_, i, "MaxAttempts"),
                                        f"must be a whole number 0-99999999 (got {attempts!r})"))
            interval = rule.get("IntervalSeconds", 1)
            if not isinstance(interval, int) or isinstance(interval, bool) \
                    or not 1 <= interval <= 99_999_999:
                problems.append(Problem((*where, field_, i, "IntervalSeconds"),
                                        f"must be a whole number 1-99999999 (got {interval!r})"))
            backoff = rule.get("BackoffRate", 2.0)
            if not _number(backoff) or backoff < 1.0:
                problems.append(Problem((*where, field_, i, "BackoffRate"),
                                        f"must be at least 1.0 (got {backoff!r}): retries "
                                        "never wait less than the one before"))
            delay = rule.get("MaxDelaySeconds")
            if delay is not None and (not isinstance(delay, int) or delay < 1
                                      or (isinstance(interval, int) and delay < interval)):
                problems.append(Problem((*where, field_, i, "MaxDelaySeconds"),
                                        f"must be a whole number at least IntervalSeconds "
                                        f"({interval}) (got {delay!r})"))
    return problems


def _check_scope(where: tuple[PathItem, ...], scope: Mapping[str, Any]) -> list[Problem]:
    """Targets exist, every state is reachable, a terminal state exists."""
    states = scope.get("States")
    if not isinstance(states, dict) or not states:
        return []  # the schema check reports it
    names = sorted(states)
    problems: list[Problem] = []
    edges: dict[str, list[str]] = {}
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        edges[name] = []
        for at, target in _targets(state):
            if target in states:
                edges[name].append(target)
            else:
                problems.append(Problem((*where, "States", name, *at),
                                        f"'{target}' is not a state here (states: "
                                        f"{', '.join(names)}){did_you_mean(str(target), names)}"))
        problems += _check_retries((*where, "States", name), state)
        timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
        if _number(timeout) and _number(heartbeat) and heartbeat >= timeout:
            problems.append(Problem((*where, "States", name, "HeartbeatSeconds"),
                                    f"must be less than TimeoutSeconds ({timeout}) "
                                    f"(got {heartbeat})"))
    start = scope.get("StartAt")
    if isinstance(start, str) and start in states:
        seen: set[str] = {start}
        todo: list[str] = [start]
        while todo:
            for nxt in edges.get(todo.pop(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        for name in names:
            if name not in seen:
                problems.append(Problem((*where, "States", name),
                                        f"is not reachable from StartAt ({start})"))
    terminal = [n for n, s in states.items() if isinstance(s, dict)
                and (s.get("End") is True or s.get("Type") in ("Succeed", "Fail"))]
    if not terminal:
        problems.append(Problem((*where, "States"), "no state ends the workflow (End: true, "
                                                    "Succeed or Fail)"))
    return problems


def _task_of(where: tuple[PathItem, ...], state: Mapping[str, Any]
             ) -> tuple[Task | None, list[Problem]]:
    resource = state.get("Resource")
    if not isinstance(resource, str):
        return None, []
    at = (*where, "Resource")
    match = PLACEHOLDER_RE.match(resource)
    if match:
        if match.group(1) != "function":
            return None, [Problem(at, f"{resource} cannot be a state's Resource: use the "
                                      f"integration for it ({_integration_hint()})")]
        return Task(where, LAMBDA, "", "function", match.group(2)), []
    base, _, pattern = resource.partition(".")
    pattern = f".{pattern}" if pattern else ""
    params: dict[str, Any] = state["Parameters"] \
        if isinstance(state.get("Parameters"), dict) else {}
    if base == HTTP:
        if pattern:
            return None, [Problem(at, f"HTTP tasks call and take the answer: drop {pattern}")]
        return _http_task(where, params)
    if base not in INTEGRATIONS or pattern not in PATTERNS:
        return None, [Problem(at, f"'{resource}' is not an integration the platform can "
                                  f"grant; use one of {_integration_hint()}")]
    field_, kind = INTEGRATIONS[base]
    value = params.get(field_)
    ref = PLACEHOLDER_RE.match(value) if isinstance(value, str) else None
    if ref is None or ref.group(1) != kind:
        return None, [Problem((*where, "Parameters", field_),
                              f"must name a {kind} of this stack as ${{{kind}:<key>}} "
                              f"(got {value!r})")]
    return Task(where, base, pattern, kind, ref.group(2)), []


def _http_task(where: tuple[PathItem, ...], params: Mapping[str, Any]
               ) -> tuple[Task | None, list[Problem]]:
    """An HTTPS call to a service: the endpoint, method and connection must be fixed, or the
    role could not be held to them."""
    at = (*where, "Parameters")
    problems: list[Problem] = []
    endpoint = params.get("ApiEndpoint")
    match = HTTP_ENDPOINT_RE.match(endpoint) if isinstance(endpoint, str) else None
    if match is None:
        problems.append(Problem((*at, "ApiEndpoint"),
                                "must be ${service:<key>} and an optional /path, fixed in the "
                                f"definition so the role can be held to it (got {endpoint!r})"))
    method = params.get("Method")
    if method not in HTTP_METHODS:
        problems.append(Problem((*at, "Method"), f"must be one of {', '.join(HTTP_METHODS)}, "
                                                 f"fixed in the definition (got {method!r})"))
    auth = params.get("Authentication")
    connection = auth.get("ConnectionArn") if isinstance(auth, dict) else None
    if not isinstance(connection, str) or not CONNECTION_RE.match(connection):
        problems.append(Problem((*at, "Authentication", "ConnectionArn"),
                                "must be an EventBridge connection ARN (arn:aws:events:<region>"
                                ":<account>:connection/<name>/<id>): HTTP tasks authenticate "
                                f"through one (got {connection!r})"))
    if problems or match is None:
        return None, problems
    return Task(where, HTTP, "", "service", match.group(1), url_path=match.group(2) or "",
                method=str(method), connection=str(connection)), []


def _integration_hint() -> str:
    return ", ".join([*(f"{arn} ({field_}: ${{{kind}:<key>}})"
                        for arn, (field_, kind) in INTEGRATIONS.items()),
                      f"{HTTP} (ApiEndpoint: ${{service:<key>}}/<path>)"])


def check_definition(definition: Definition, spec: WorkflowSpec,
                     known: Mapping[str, Mapping[str, Any] | None]) -> list[Problem]:
    """Structure, flow, retries and references of a definition. ``known`` maps each
    placeholder kind to the keys the stack defines (for functions: key -> timeout), or to
    None when they cannot be known (their section is broken): those are not judged."""
    doc = definition.document
    problems: list[Problem] = []
    stray: list[tuple[tuple[PathItem, ...], str]] = []

    def collect(value: Any, at: tuple[PathItem, ...]) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                collect(v, (*at, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                collect(v, (*at, i))
        elif isinstance(value, str) and ANY_PLACEHOLDER_RE.search(value) \
                and not PLACEHOLDER_RE.match(value) and not (
                    at[-1:] == ("ApiEndpoint",) and HTTP_ENDPOINT_RE.match(value)):
            stray.append((at, value))

    collect(doc, ())
    stray_problems = [Problem(("definition", *at), f"'{value}' is not a placeholder the "
                                                   "platform resolves: use a whole value "
                                                   "${function|service|topic|queue:<key>}")
                      for at, value in stray]

    faked = substitute(doc, _fake_value)
    try:
        text = json.dumps(faked, sort_keys=True)
    except (TypeError, ValueError) as exc:
        return [*problems, Problem(("definition",), f"holds values JSON cannot represent "
                                                    f"({exc})")]
    problems += [Problem(("definition", *at), message) for at, message in _schema_problems(text)
                 if not _parallel_parameters(doc, at, message)]

    express = spec.get("type", "standard") == "express"
    if express:
        timeout = doc.get("TimeoutSeconds")
        if _number(timeout) and timeout > EXPRESS_MAX_SECONDS:
            problems.append(Problem(("definition", "TimeoutSeconds"),
                                    f"express workflows run at most {EXPRESS_MAX_SECONDS} "
                                    f"seconds (got {timeout})"))
    tasks: list[Task] = []
    for where, scope in _scopes(doc):
        problems += [p.under("definition") for p in _check_scope(where, scope)]
        for name, state in (scope.get("States") or {}).items():
            if not isinstance(state, dict) or state.get("Type") != "Task":
                continue
            at = (*where, "States", name)
            task, found = _task_of(at, state)
            problems += [p.under("definition") for p in found]
            if task is None:
                continue
            tasks.append(task)
            if express and task.pattern:
                problems.append(Problem(("definition", *at, "Resource"),
                                        f"express workflows cannot wait ({task.pattern}): "
                                        "use type standard or drop the suffix"))
            defined = known.get(task.kind, {})
            if defined is None:
                continue
            if task.key not in defined:
                problems.append(Problem(("definition", *at),
                                        f"'{task.key}' is not defined under "
                                        f"{_SECTION[task.kind]} (defined: "
                                        f"{', '.join(sorted(defined)) or 'none'})"
                                        f"{did_you_mean(task.key, defined)}"))
                continue
            reachable = known.get("http")
            if task.integration == HTTP and reachable is not None \
                    and task.key not in reachable:
                problems.append(Problem(("definition", *at, "Parameters", "ApiEndpoint"),
                                        f"service {task.key} cannot be called over HTTPS from "
                                        "Step Functions: http:invoke reaches public services "
                                        "with a domain name (loadBalancer.domainName) only; "
                                        "use ecs:runTask, or a topic or queue, for internal "
                                        "services"))
                continue
            state_timeout = state.get("TimeoutSeconds")
            fn_timeout = defined[task.key] if task.kind == "function" else None
            if _number(state_timeout) and isinstance(fn_timeout, int) \
                    and state_timeout < fn_timeout:
                problems.append(Problem(("definition", *at, "TimeoutSeconds"),
                                        f"{state_timeout} is shorter than function "
                                        f"{task.key}'s timeout ({fn_timeout}): the state "
                                        "would give up (and retry) while the function still "
                                        "runs"))
    definition.tasks = tasks
    # A task's resource field is reported by the task check; other stray placeholders here.
    reported = {p.path for p in problems}
    return problems + [p for p in stray_problems if p.path not in reported]


def _parallel_parameters(doc: Mapping[str, Any], at: tuple[PathItem, ...],
                         message: str) -> bool:
    """cfn-lint's schema has no ``Parameters`` on Parallel states, which the States
    Language allows (they shape the input every branch receives): not a problem."""
    if at[-1:] != ("Parameters",) or "'Parameters' was unexpected" not in message:
        return False
    node: Any = doc
    for part in at[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(node, dict) and node.get("Type") == "Parallel"


# --- the role ------------------------------------------------------------------------------------

def _arn(service: str, region: pulumi.Input[str], account: pulumi.Input[str],
         resource: str) -> pulumi.Output[str]:
    return pulumi.Output.format("arn:aws:{0}:{1}:{2}:{3}", service, region, account, resource)


def role_statements(definition: Definition, args: WorkflowArgs, state_machine_arn:
                    pulumi.Input[str], region: pulumi.Input[str],
                    account: pulumi.Input[str]) -> list[Statement]:
    """Exactly what the task states do, on exactly the resources they name, plus logging,
    tracing and the state machine's own encryption."""
    kms, alias = args["kms_key_arn"], args.get("kms_key_alias")
    statements: list[Statement] = [
        allow("LogDelivery", LOG_DELIVERY_ACTIONS, ["*"]),
        allow("Tracing", XRAY_ACTIONS, ["*"]),
        key_statement("StateMachineData", ["kms:Decrypt", "kms:GenerateDataKey"], kms,
                      alias=alias, region=region, account=account,
                      condition={"StringEquals": {
                          "kms:EncryptionContext:aws:states:stateMachineArn":
                              state_machine_arn}}),
    ]
    functions = definition.uses("function")
    if functions:
        statements.append(allow("InvokeFunctions", ["lambda:InvokeFunction"],
                                [args.get("functions", {})[k] for k in functions]))
    topics, queues = definition.uses("topic"), definition.uses("queue")
    if topics:
        statements.append(allow("PublishTopics", ["sns:Publish"],
                                [args.get("topics", {})[k] for k in topics]))
    if queues:
        statements.append(allow("SendQueues", ["sqs:SendMessage"],
                                [args.get("queues", {})[k]["arn"] for k in queues]))
    if topics or queues:
        statements.append(key_statement("EncryptMessages", ["kms:Decrypt",
                                                            "kms:GenerateDataKey"],
                                        kms, alias=alias, region=region, account=account))
    for key in sorted({t.key for t in definition.tasks if t.integration == ECS}):
        svc = args.get("services", {})[key]
        sid = "".join(part.title() for part in key.split("-"))
        family = svc["task_definition_family"]
        statements.append(allow(f"RunTask{sid}", ["ecs:RunTask"],
                                [_arn("ecs", region, account, f"task-definition/{family}:*")],
                                {"ArnEquals": {"ecs:cluster": svc["cluster_arn"]}}))
        statements.append(allow(f"PassRoles{sid}", ["iam:PassRole"],
                                [svc["task_role_arn"], svc["execution_role_arn"]],
                                {"StringEquals": {"iam:PassedToService":
                                                  "ecs-tasks.amazonaws.com"}}))
        if any(t.kind == "service" and t.key == key and t.pattern == ".sync"
               for t in definition.tasks):
            tasks_arn = pulumi.Output.format("arn:aws:ecs:{0}:{1}:task/{2}/*", region,
                                             account, svc["cluster_name"])
            statements.append(allow(f"WatchTasks{sid}", ["ecs:DescribeTasks", "ecs:StopTask"],
                                    [tasks_arn], {"ArnEquals": {"ecs:cluster":
                                                                svc["cluster_arn"]}}))
    if any(t.kind == "service" and t.pattern == ".sync" for t in definition.tasks):
        statements.append(allow("TaskStateEvents", ["events:DescribeRule", "events:PutRule",
                                                    "events:PutTargets"],
                                [_arn("events", region, account, f"rule/{ECS_EVENTS_RULE}")]))
    statements += _http_statements(definition, args, state_machine_arn)
    return statements


def _http_statements(definition: Definition, args: WorkflowArgs,
                     state_machine_arn: pulumi.Input[str]) -> list[Statement]:
    """Each method on exactly the endpoints called with it; the connections' credentials."""
    http = [t for t in definition.tasks if t.integration == HTTP]
    services = args.get("services", {})
    statements: list[Statement] = []
    for method in sorted({t.method for t in http}):
        targets = sorted({(t.key, t.url_path) for t in http if t.method == method})
        statements.append(allow(f"Http{method.title()}", ["states:InvokeHTTPEndpoint"],
                                [state_machine_arn], {
            "StringEquals": {"states:HTTPMethod": method},
            "StringLike": {"states:HTTPEndpoint": [
                pulumi.Output.concat(services[key]["url"], path) for key, path in targets]}}))
    connections = sorted({t.connection for t in http})
    if connections:
        statements.append(allow("HttpConnections", ["events:RetrieveConnectionCredentials"],
                                connections))
        secrets = []
        for arn in connections:
            match = CONNECTION_RE.match(arn)
            assert match is not None  # checked with the definition
            region, account, name = match.groups()
            secrets.append(f"arn:aws:secretsmanager:{region}:{account}:secret:"
                           f"events!connection/{name}/*")
        statements.append(allow("HttpConnectionSecrets", ["secretsmanager:DescribeSecret",
                                                          "secretsmanager:GetSecretValue"],
                                secrets))
    return statements


def resolved_definition(definition: Definition, args: WorkflowArgs) -> Any:
    """The document with placeholders replaced, ECS task states completed."""
    doc = copy.deepcopy(definition.document)
    services = args.get("services", {})
    for _, scope in _scopes(doc):
        for state in (scope.get("States") or {}).values():
            if isinstance(state, dict) and state.get("Resource") == HTTP:
                params = state["Parameters"]
                match = HTTP_ENDPOINT_RE.match(params["ApiEndpoint"])
                assert match is not None  # checked with the definition
                params["ApiEndpoint"] = pulumi.Output.concat(
                    services[match.group(1)]["url"], match.group(2) or "")
                continue
            if not isinstance(state, dict) or not str(state.get("Resource", "")).startswith(ECS):
                continue
            params = state.setdefault("Parameters", {})
            ref = PLACEHOLDER_RE.match(str(params.get("TaskDefinition", "")))
            if ref is None:
                continue
            svc = services[ref.group(2)]
            params.setdefault("Cluster", svc["cluster_arn"])
            params.setdefault("LaunchType", "FARGATE")
            params.setdefault("NetworkConfiguration", {"AwsvpcConfiguration": {
                "Subnets": svc["subnet_ids"], "SecurityGroups": [svc["security_group_id"]],
                "AssignPublicIp": "DISABLED"}})

    def resolve(kind: str, key: str) -> Any:
        if kind == "function":
            return args.get("functions", {})[key]
        if kind == "topic":
            return args.get("topics", {})[key]
        if kind == "queue":
            return args.get("queues", {})[key]["url"]
        return services[key]["task_definition_family"]

    return substitute(doc, resolve)


def _check_args(name: str, args: WorkflowArgs) -> tuple[Definition | None, list[Problem]]:
    problems = check_workflow(args)
    days = args.get("log_retention_days", 365)
    if days not in LOG_RETENTION_DAYS:
        problems.append(Problem(("log_retention_days",), f"{days} is not a CloudWatch Logs "
                                                         "retention"))
    definition, found = read_definition(args["definition"])
    problems += found
    if definition is not None:
        known: dict[str, Mapping[str, Any] | None] = {
            "function": {k: args.get("function_timeouts", {}).get(k)
                         for k in args.get("functions", {})},
            "service": dict(args.get("services", {})),
            "http": {k: 1 for k, svc in args.get("services", {}).items() if "url" in svc},
            "topic": dict(args.get("topics", {})),
            "queue": dict(args.get("queues", {}))}
        problems += check_definition(definition, args, known)
    return definition, problems


# --- the component -------------------------------------------------------------------------------

class Workflow(pulumi.ComponentResource):
    """A logged, traced, encrypted Step Functions state machine whose role is derived from
    its own task states."""

    state_machine_arn: pulumi.Output[str]
    """ARN of the state machine, known at preview."""
    state_machine_name: pulumi.Output[str]
    """Physical name."""
    role_arn: pulumi.Output[str]
    """The state machine's execution role."""
    log_group_name: pulumi.Output[str]
    """Execution log group."""

    def __init__(self, name: str, args: WorkflowArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Workflow"), name, None, opts)
        definition, problems = _check_args(name, args)
        raise_for("Workflow", name, problems)
        assert definition is not None

        physical = args.get("state_machine_name", name)
        kms = args["kms_key_arn"]
        tags = args.get("tags")
        account = aws.get_caller_identity_output(opts=invoke_opts(self)).account_id
        region = aws.get_region_output(opts=invoke_opts(self)).region
        sm_arn = _arn("states", region, account, f"stateMachine:{physical}")
        # Vended-logs prefix: Step Functions then needs no log resource policy per group.
        log_group_name = f"/aws/vendedlogs/states/{physical}"

        log_group = aws.cloudwatch.LogGroup(f"{name}-logs", aws.cloudwatch.LogGroupArgs(
            name=log_group_name, retention_in_days=args.get("log_retention_days", 365),
            kms_key_id=kms, tags=tags), opts=child_opts(self))
        role = aws.iam.Role(f"{name}-role", aws.iam.RoleArgs(
            name=f"{physical}-workflow"[:64],
            assume_role_policy=service_trust("states.amazonaws.com", account, sm_arn),
            description=f"Execution role of workflow {physical}", tags=tags),
            opts=child_opts(self))
        role_policy = aws.iam.RolePolicy(f"{name}-policy", aws.iam.RolePolicyArgs(
            role=role.name, name="least-privilege", policy=policy_document(
                role_statements(definition, args, sm_arn, region, account))),
            opts=child_opts(self))
        machine = aws.sfn.StateMachine(f"{name}-state-machine", aws.sfn.StateMachineArgs(
            name=physical, type=args.get("type", "standard").upper(), role_arn=role.arn,
            definition=pulumi.Output.json_dumps(resolved_definition(definition, args)),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                level=args.get("log_level", "ERROR"),
                include_execution_data=args.get("include_execution_data", False),
                log_destination=pulumi.Output.format("arn:aws:logs:{0}:{1}:log-group:{2}:*",
                                                     region, account, log_group_name)),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
            encryption_configuration=aws.sfn.StateMachineEncryptionConfigurationArgs(
                type="CUSTOMER_MANAGED_KMS_KEY", kms_key_id=kms,
                kms_data_key_reuse_period_seconds=300),
            tags=tags), opts=child_opts(self, depends_on=[log_group, role_policy]))

        self.state_machine_arn = pulumi.Output.all(sm_arn, machine.urn).apply(lambda p: p[0])
        self.state_machine_name = pulumi.Output.from_input(physical)
        self.role_arn = role.arn
        self.log_group_name = log_group.name
        self.register_outputs({"state_machine_arn": self.state_machine_arn,
                               "state_machine_name": self.state_machine_name,
                               "role_arn": self.role_arn,
                               "log_group_name": self.log_group_name})
