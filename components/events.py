"""The stack file's ``events`` and ``workflows`` sections, checked as one flow.

Each part checks its own settings (:func:`components.topic.check_topic`,
:func:`components.event_bus.check_event_bus`, :func:`components.workflow.check_workflow`);
this module checks what needs the whole stack: every publisher, subscriber, target, starter
and task state names a service, function, topic, queue or workflow that exists; a function
that consumes through a queue leaves it a visibility timeout its retries fit in; and the flow
has no cycle.

A cycle is a path that brings an event back to where it started without anyone deciding to:
topic -> subscribing function -> topic it publishes to, rule -> workflow -> topic -> function
-> bus -> the same rule, and so on. The graph follows what runs *per event*: topics deliver
to their subscribers, rules to their targets, workflows call what their task states name,
and functions publish to their topics and bus (a function runs once per event it receives).
Services are where a path ends: they publish from their own requests, not as a reaction
inside the flow, so their consumption and publishing are not chained. A bus publisher feeds
every rule whose pattern could match its ``source`` (its key).
"""


from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NotRequired

import pulumi
from typing_extensions import TypedDict

from .event_bus import EventBusSpec, bus_arn, check_event_bus, rule_arn, target_of
from .function import SQS_VISIBILITY_FACTOR
from .grants import GrantSpec, key_actions_for
from .topic import (
    TopicSpec,
    check_topic,
    dlq_physical_name,
    queue_physical_name,
    sns_arn,
    sqs_arn,
    sqs_url,
    topic_physical_name,
    uses_queue,
    workload_of,
)
from .validation import PathItem, Problem, check_key, did_you_mean
from .workflow import check_definition, read_definition


class EventsSpec(TypedDict):
    """Asynchronous communication between the stack's services and functions."""

    topics: NotRequired[dict[str, TopicSpec]]
    """SNS topics by key (physical name ``<stack>-<key>``)."""
    bus: NotRequired[EventBusSpec]
    """The stack's EventBridge bus (``<stack>-events``)."""


def fifo_queues(events: Mapping[str, Any]) -> list[str]:
    """``<topic>/<subscriber>`` of the subscription queues that are FIFO."""
    return sorted(f"{t}/{s}" for t, topic in (events.get("topics") or {}).items()
                  if topic and topic.get("fifo")
                  for s, sub in topic.get("subscribers", {}).items() if uses_queue(sub))


def queue_keys(events: Mapping[str, Any]) -> list[str]:
    """``<topic>/<subscriber>`` of every subscription queue."""
    return sorted(f"{t}/{s}" for t, topic in (events.get("topics") or {}).items() if topic
                  for s, sub in topic.get("subscribers", {}).items() if uses_queue(sub))


def check_events(spec: EventsSpec) -> list[Problem]:
    """The section's own rules (keys, each topic, the bus)."""
    problems: list[Problem] = []
    for key, topic in sorted(spec.get("topics", {}).items()):
        problems += check_key(("topics", key), key)
        problems += [p.under("topics", key) for p in check_topic(topic)]
        for skey, sub in sorted(topic.get("subscribers", {}).items()):
            if uses_queue(sub) and len(f"{key}-{skey}") > 32:
                problems.append(Problem(("topics", key, "subscribers", skey),
                                        f"'{key}-{skey}' names the queue's alarms and must "
                                        "stay within 32 characters: shorten the topic or "
                                        "subscriber key"))
    if "bus" in spec:
        problems += [p.under("bus") for p in check_event_bus(spec["bus"], fifo_queues(spec))]
    return problems


def _missing(name: str, section: str, existing: Mapping[str, Any] | list[str]) -> str:
    have = sorted(existing)
    return (f"'{name}' is not defined under {section} (defined: {', '.join(have) or 'none'})"
            f"{did_you_mean(name, have)}")


def check_event_flow(spec: Mapping[str, Any], ok: set[str]) -> list[Problem]:
    """References across sections and cycles; sections that did not parse are skipped."""
    services = (spec.get("services") or {}) if "services" in ok else {}
    functions = (spec.get("functions") or {}) if "functions" in ok else {}
    events = (spec.get("events") or {}) if "events" in ok else {}
    workflows = (spec.get("workflows") or {}) if "workflows" in ok else {}
    # A section that is present but broken is already reported: references into it are
    # not judged (they would only repeat that it is broken).
    broken = {name for name in ("services", "functions", "events", "workflows")
              if name in spec and name not in ok}
    topics = {k: v for k, v in (events.get("topics") or {}).items() if v is not None}
    workloads = {"services": services, "functions": functions}
    problems: list[Problem] = []
    graph = _Graph()

    def ref_ok(path: tuple[PathItem, ...], ref: Mapping[str, Any]) -> tuple[str, str] | None:
        found = workload_of(ref)  # type: ignore[arg-type]
        if found is None:
            return None  # the section's own check reports it
        section, key = found
        if section in broken:
            return None
        if key not in workloads[section]:
            problems.append(Problem((*path, section[:-1]), _missing(key, section,
                                                                    workloads[section])))
            return None
        return found

    for tkey, topic in sorted(topics.items()):
        tpath = ("events", "topics", tkey)
        for i, ref in enumerate(topic.get("publishers", [])):
            found = ref_ok((*tpath, "publishers", i), ref)
            if found is not None:
                graph.edge(found, ("topic", tkey), tpath)
        consumers: dict[tuple[str, str], str] = {}
        for skey, sub in sorted(topic.get("subscribers", {}).items()):
            spath = (*tpath, "subscribers", skey)
            found = ref_ok(spath, sub)
            if found is None:
                continue
            if found in consumers:
                problems.append(Problem(spath, f"{found[0][:-1]} {found[1]} already subscribes "
                                               f"as '{consumers[found]}'; subscribe once per "
                                               "topic (one filter policy can match both)"))
            consumers.setdefault(found, skey)
            graph.edge(("topic", tkey), found, tpath)
            if found[0] == "functions" and uses_queue(sub):
                timeout = (functions[found[1]] or {}).get("timeout_seconds")
                visibility = sub.get("visibility_timeout_seconds")
                if isinstance(timeout, int) and visibility is not None \
                        and visibility < SQS_VISIBILITY_FACTOR * timeout:
                    problems.append(Problem((*spath, "visibility_timeout_seconds"),
                                            f"must be at least {SQS_VISIBILITY_FACTOR} x "
                                            f"function {found[1]}'s timeoutSeconds = "
                                            f"{SQS_VISIBILITY_FACTOR * timeout} (got "
                                            f"{visibility}), or a message is delivered again "
                                            "while its batch still runs"))
    queues = queue_keys(events)
    bus = events.get("bus")
    if bus:
        bpath: tuple[PathItem, ...] = ("events", "bus")
        sources: list[tuple[str, str]] = []
        for i, ref in enumerate(bus.get("publishers", [])):
            found = ref_ok((*bpath, "publishers", i), ref)
            if found is not None:
                sources.append(found)
        for rkey, rule in sorted(bus.get("rules", {}).items()):
            rpath = (*bpath, "rules", rkey)
            matched = rule["event_pattern"].get("source")
            for source in sources:
                if not isinstance(matched, list) or source[1] in matched \
                        or any(isinstance(m, dict) for m in matched):
                    graph.edge(source, ("rule", rkey), rpath)
            for tkey, target in sorted(rule["targets"].items()):
                found_t = target_of(target)
                if found_t is None:
                    continue
                kind, ref = found_t
                existing: Mapping[str, Any] | list[str] = {
                    "topic": topics, "queue": queues, "function": functions,
                    "workflow": workflows}[kind]
                owner = {"topic": "events", "queue": "events", "function": "functions",
                         "workflow": "workflows"}[kind]
                if ref not in existing and owner in broken:
                    continue
                if ref not in existing:
                    section = {"topic": "events.topics", "queue": "subscription queues "
                               "(<topic>/<subscriber>)", "function": "functions",
                               "workflow": "workflows"}[kind]
                    problems.append(Problem((*rpath, "targets", tkey, kind),
                                            _missing(ref, section, existing)))
                    continue
                graph.edge(("rule", rkey), _node(kind, ref, topics), rpath)
    for wkey, workflow in sorted(workflows.items()):
        if workflow is None:
            continue
        wpath: tuple[PathItem, ...] = ("workflows", wkey)
        for i, ref in enumerate(workflow.get("starters", [])):
            found = ref_ok((*wpath, "starters", i), ref)
            if found is not None:
                graph.edge(found, ("workflow", wkey), wpath)
        definition, found_problems = read_definition(workflow["definition"])
        problems += [p.under(*wpath) for p in found_problems]
        if definition is None:
            continue
        known: dict[str, Mapping[str, Any] | None] = {
            "function": {k: (f or {}).get("timeout_seconds") for k, f in functions.items()},
            "service": services, "topic": topics, "queue": dict.fromkeys(queues)}
        known["http"] = _https_services(spec, ok, services)
        for kind, section in (("function", "functions"), ("service", "services"),
                              ("topic", "events"), ("queue", "events")):
            if section in broken:
                known[kind] = None
        file = workflow["definition"]
        problems += [Problem((*wpath, *p.path), f"{file}: {p.message}")
                     for p in check_definition(definition, workflow, known)]
        for task in definition.tasks:
            if task.key in (known[task.kind] or {}):
                graph.edge(("workflow", wkey), _node(task.kind, task.key, topics), wpath)
    problems += graph.cycles()
    return problems


def _https_services(spec: Mapping[str, Any], ok: set[str],
                    services: Mapping[str, Any]) -> dict[str, Any] | None:
    """Services Step Functions can call over HTTPS: public ones, when the public load
    balancer has a domain name its certificate covers. None when that cannot be judged."""
    if "load_balancer" not in ok or "services" not in ok:
        return None
    if not spec["load_balancer"].get("domain_name"):
        return {}
    return {k: 1 for k, svc in services.items()
            if svc is not None and svc.get("visibility", "internal") == "public"}


def _node(kind: str, key: str, topics: Mapping[str, Any]) -> tuple[str, str]:
    """Graph node of a reference; a queue leads to its subscriber."""
    if kind == "queue":
        topic, _, sub = key.partition("/")
        found = workload_of(topics[topic]["subscribers"][sub])
        assert found is not None
        return found
    return {"function": ("functions", key), "service": ("services", key)}.get(
        kind, (kind, key))


_LABEL = {"services": "service", "functions": "function", "topic": "topic", "rule": "rule",
          "workflow": "workflow"}


class _Graph:
    """Directed edges of the flow, with the stack-file path that declares each."""

    def __init__(self) -> None:
        self.edges: dict[tuple[str, str], dict[tuple[str, str], tuple[PathItem, ...]]] = {}

    def edge(self, a: tuple[str, str], b: tuple[str, str], path: tuple[PathItem, ...]) -> None:
        # Services end a path: what they receive does not make them publish.
        if a[0] == "services":
            return
        self.edges.setdefault(a, {}).setdefault(b, path)

    def cycles(self) -> list[Problem]:
        problems: list[Problem] = []
        seen: set[tuple[tuple[str, str], ...]] = set()

        def walk(node: tuple[str, str], trail: list[tuple[str, str]]) -> None:
            for nxt in sorted(self.edges.get(node, {})):
                if nxt == trail[0]:
                    loop = tuple(trail)
                    start = min(range(len(loop)), key=lambda i: loop[i])
                    canonical = loop[start:] + loop[:start]
                    if canonical not in seen:
                        seen.add(canonical)
                        problems.append(self._problem(canonical))
                elif nxt not in trail and nxt > trail[0]:
                    walk(nxt, [*trail, nxt])

        for node in sorted(self.edges):
            walk(node, [node])
        return problems

    def _problem(self, loop: tuple[tuple[str, str], ...]) -> Problem:
        names = [f"{_LABEL[kind]} {key}" for kind, key in (*loop, loop[0])]
        path = self.edges[loop[0]][loop[1 % len(loop)]]
        return Problem(path, "events cycle: " + " -> ".join(names) + ": an event could "
                             "circulate forever; break the loop (publish elsewhere or "
                             "narrow a rule's source)")


# --- wiring: names, ARNs and each workload's access, known before anything exists ---------------

@dataclass
class WorkloadAccess:
    """What a service or function gets from the flow: grants, environment, key use."""

    grants: list[GrantSpec] = field(default_factory=list)
    environment: dict[str, pulumi.Input[str]] = field(default_factory=dict)

    @property
    def key_actions(self) -> list[str]:
        return key_actions_for(self.grants)


def env_name(*parts: str) -> str:
    """``("topic", "order-events", "arn")`` -> ``TOPIC_ORDER_EVENTS_ARN``."""
    return "_".join(p.upper().replace("-", "_").replace("/", "_") for p in parts)


class EventFlow:
    """The physical names and ARNs of a stack's topics, queues, bus, rules and workflows
    (``<stack>-<key>`` throughout), derived from the spec alone."""

    def __init__(self, stack: str, spec: Mapping[str, Any], region: pulumi.Input[str],
                 account: pulumi.Input[str]):
        self.stack, self.region, self.account = stack, region, account
        events = spec.get("events") or {}
        self.topics: dict[str, TopicSpec] = dict(events.get("topics") or {})
        self.bus: EventBusSpec | None = events.get("bus")
        self.workflows: dict[str, Any] = dict(spec.get("workflows") or {})
        self.topic_arns = {k: sns_arn(region, account, topic_physical_name(
            f"{stack}-{k}", t.get("fifo", False))) for k, t in sorted(self.topics.items())}
        self.queues: dict[str, dict[str, Any]] = {}
        for tkey, topic in sorted(self.topics.items()):
            fifo = topic.get("fifo", False)
            for skey, sub in sorted(topic.get("subscribers", {}).items()):
                if not uses_queue(sub):
                    continue
                name = queue_physical_name(f"{stack}-{tkey}", skey, fifo)
                self.queues[f"{tkey}/{skey}"] = {
                    "name": name, "arn": sqs_arn(region, account, name),
                    "url": sqs_url(region, account, name), "fifo": fifo,
                    "dlq": dlq_physical_name(f"{stack}-{tkey}", skey, fifo)
                    if sub.get("dead_letter", True) else None}
        self.bus_name = f"{stack}-events"
        self.bus_arn = bus_arn(region, account, self.bus_name)
        self.rule_arns = {k: rule_arn(region, account, self.bus_name, k)
                          for k in sorted((self.bus or {}).get("rules", {}))}
        self.workflow_arns = {k: pulumi.Output.format(
            "arn:aws:states:{0}:{1}:stateMachine:{2}-{3}", region, account, stack, k)
            for k in sorted(self.workflows)}

    def rules_targeting(self, kind: str, key: str) -> list[pulumi.Input[str]]:
        """ARNs of the bus rules with a target of ``kind`` ``key``."""
        return [self.rule_arns[rkey] for rkey, rule in sorted(
            (self.bus or {}).get("rules", {}).items())
            if any(target_of(t) == (kind, key) for t in rule["targets"].values())]

    def access(self, section: str, key: str) -> WorkloadAccess:
        """Grants and environment of the service or function ``key`` (``section`` is
        ``services`` or ``functions``)."""
        me = (section, key)
        access = WorkloadAccess()
        for tkey, topic in sorted(self.topics.items()):
            if any(workload_of(ref) == me for ref in topic.get("publishers", [])):
                access.grants.append({"kind": "topic", "arn": self.topic_arns[tkey],
                                      "access": "write"})
                access.environment[env_name("topic", tkey, "arn")] = self.topic_arns[tkey]
            for skey, sub in sorted(topic.get("subscribers", {}).items()):
                queue = self.queues.get(f"{tkey}/{skey}")
                if workload_of(sub) != me or queue is None:
                    continue
                access.grants.append({"kind": "queue", "arn": queue["arn"], "access": "read"})
                if section == "services":
                    access.environment[env_name("queue", tkey, "url")] = queue["url"]
        if self.bus and any(workload_of(ref) == me for ref in self.bus.get("publishers", [])):
            access.grants.append({"kind": "event-bus", "arn": self.bus_arn, "access": "write",
                                  "event_source": key})
            access.environment["EVENT_BUS_NAME"] = self.bus_name
            access.environment["EVENT_SOURCE"] = key
        for wkey, workflow in sorted(self.workflows.items()):
            if any(workload_of(ref) == me for ref in workflow.get("starters", [])):
                access.grants.append({"kind": "workflow", "arn": self.workflow_arns[wkey],
                                      "access": "write"})
                access.environment[env_name("workflow", wkey, "arn")] = \
                    self.workflow_arns[wkey]
        return access
