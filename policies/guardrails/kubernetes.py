"""Kubernetes workloads (pulumi-kubernetes): probes, resources, least privilege, pinned
images, zone spread, autoscaling, disruption budgets and how Services are exposed; the
namespaces, service accounts and network policies around them; target group bindings.

Inputs arrive as the Kubernetes API spells them (``spec.template.spec.containers``)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

from .core import (
    UNKNOWN,
    Param,
    Resource,
    Settings,
    Stack,
    as_list,
    at_least,
    is_unknown,
    num,
    resource_policy,
    stack_policy,
    unknown,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
POD = "kubernetes:core/v1:Pod"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
SERVICE = "kubernetes:core/v1:Service"
HPAS = ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "kubernetes:autoscaling/v1:HorizontalPodAutoscaler")
PDB = "kubernetes:policy/v1:PodDisruptionBudget"

LONG_RUNNING = (DEPLOYMENT, STATEFUL_SET, DAEMON_SET, REPLICA_SET, POD)
WORKLOADS = (*LONG_RUNNING, JOB, CRON_JOB)
REPLICATED = (DEPLOYMENT, STATEFUL_SET)
POD_SPEC_PATH = {POD: "spec", CRON_JOB: "spec.jobTemplate.spec.template.spec"}
ZONE_KEY = "topology.kubernetes.io/zone"
DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}$")
ECR_RE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")
SAFE_CAPABILITIES = ("NET_BIND_SERVICE",)
"""The only capability the Pod Security Standards' restricted profile lets a container add."""


def pod_spec_path(r: Resource) -> str:
    return POD_SPEC_PATH.get(r.type, "spec.template.spec")


def _containers(r: Resource, claim: str, *, init: bool = False
                ) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(label, container) pairs; (message, None) when the pod spec cannot be read."""
    path = pod_spec_path(r)
    spec = r.get(path)
    if is_unknown(spec):
        yield unknown(path, claim), None
        return
    spec = spec if isinstance(spec, dict) else {}
    keys = ("containers", "initContainers") if init else ("containers",)
    for key in keys:
        listed = spec.get(key)
        if is_unknown(listed):
            yield unknown(f"{path}.{key}", claim), None
            continue
        for i, c in enumerate(as_list(listed)):
            if isinstance(c, dict):
                yield f"container {c.get('name') or i}", c


ContainerCheck = Callable[[Resource, Settings, str, dict[str, Any]], Iterator[str]]


def per_container(claim: str, *, init: bool = False
                  ) -> Callable[[ContainerCheck], Callable[[Resource, Settings], Iterator[str]]]:
    """Turn a check of one container into a rule over the workload's pod spec (its init
    containers too with ``init``): a pod spec unknown at preview is reported first."""
    def wrap(check: ContainerCheck) -> Callable[[Resource, Settings], Iterator[str]]:
        @functools.wraps(check)
        def rule(r: Resource, s: Settings) -> Iterator[str]:
            for label, c in _containers(r, claim, init=init):
                if c is None:
                    yield label
                else:
                    yield from check(r, s, label, c)
        return rule
    return wrap


@resource_policy(
    "k8s-container-probes",
    types=LONG_RUNNING,
    description="Every container of a long-running workload has a liveness and a readiness "
                "probe.",
    severity="medium", refs=("checkov CKV_K8S_8", "checkov CKV_K8S_9"),
    remediation="Add livenessProbe (is the process alive: restart it) and readinessProbe (can "
                "it serve: keep it behind the Service) to each container.",
)
@per_container("every container is probed")
def probes(r: Resource, s: Settings, label: str, c: dict[str, Any]) -> Iterator[str]:
    missing = [p for p in ("livenessProbe", "readinessProbe") if c.get(p) is None]
    if missing:
        yield f"{label} has no {' and no '.join(missing)}"


@resource_policy(
    "k8s-container-resources",
    types=WORKLOADS,
    description="Every container requests CPU and memory and has a memory limit.",
    severity="medium", refs=("checkov CKV_K8S_10", "checkov CKV_K8S_11", "checkov CKV_K8S_12",
                             "checkov CKV_K8S_13"),
    remediation="Set resources {requests: {cpu, memory}, limits: {memory}} on each container "
                "(and a CPU limit where noisy neighbours matter).",
)
@per_container("every container has requests and limits", init=True)
def resources(r: Resource, s: Settings, label: str, c: dict[str, Any]) -> Iterator[str]:
    spec: dict[str, Any] = c["resources"] if isinstance(c.get("resources"), dict) else {}
    missing = [f"{kind}.{what}" for kind, what in
               (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
               if (spec.get(kind) or {}).get(what) is None]
    if missing:
        yield f"{label} sets no {', '.join(missing)}"


def _security(c: dict[str, Any]) -> dict[str, Any]:
    value = c.get("securityContext")
    return value if isinstance(value, dict) else {}


@resource_policy(
    "k8s-pod-non-root",
    types=WORKLOADS,
    description="Pods run as a non-root user (runAsNonRoot, or a non-zero runAsUser).",
    severity="medium", refs=("checkov CKV_K8S_23", "checkov CKV_K8S_40",
                             "Pod Security Standards restricted"),
    remediation="Set securityContext {runAsNonRoot: true, runAsUser: 10001} on the pod (or "
                "every container) and build the image with a non-root USER.",
)
def non_root(r: Resource, s: Settings) -> Iterator[str]:
    pod = r.get(f"{pod_spec_path(r)}.securityContext")
    if is_unknown(pod):
        yield unknown("securityContext", "the pod runs as non-root")
        return
    pod = pod if isinstance(pod, dict) else {}
    for label, c in _containers(r, "containers run as non-root", init=True):
        if c is None:
            yield label
            continue
        ctx = _security(c)
        user = ctx.get("runAsUser", pod.get("runAsUser"))
        non_root_flag = ctx.get("runAsNonRoot", pod.get("runAsNonRoot"))
        if is_unknown(user) or is_unknown(non_root_flag):
            yield unknown(f"{label} runAsUser/runAsNonRoot", "it runs as non-root")
        elif user is not None and num(user) == 0:
            yield f"{label} runs as root (runAsUser 0)"
        elif non_root_flag is not True and user is None:
            yield f"{label} may run as root: neither runAsNonRoot nor runAsUser is set"


@resource_policy(
    "k8s-container-not-privileged",
    types=WORKLOADS,
    description="Containers are not privileged, cannot escalate privileges and add no "
                "capability beyond NET_BIND_SERVICE.",
    severity="high", refs=("checkov CKV_K8S_16", "checkov CKV_K8S_20", "checkov CKV_K8S_39",
                           "Pod Security Standards restricted"),
    remediation="Set securityContext {privileged: false, allowPrivilegeEscalation: false, "
                "capabilities: {drop: [ALL]}} on each container.",
)
@per_container("no container is privileged", init=True)
def not_privileged(r: Resource, s: Settings, label: str, c: dict[str, Any]) -> Iterator[str]:
    ctx = _security(c)
    if ctx.get("privileged") is True:
        yield f"{label} is privileged"
    escalation = ctx.get("allowPrivilegeEscalation")
    if is_unknown(escalation):
        yield unknown(f"{label} allowPrivilegeEscalation", "it cannot escalate")
    elif escalation is not False:
        yield f"{label} does not set allowPrivilegeEscalation: false"
    added = [a for a in as_list((ctx.get("capabilities") or {}).get("add"))
             if a not in SAFE_CAPABILITIES]
    if added:
        yield f"{label} adds capabilities {', '.join(map(str, added))}"


@resource_policy(
    "k8s-pod-no-host-access",
    types=WORKLOADS,
    description="Pods share no host namespace (network, PID, IPC) and mount no host path.",
    severity="high", refs=("checkov CKV_K8S_17", "checkov CKV_K8S_18", "checkov CKV_K8S_19",
                           "Pod Security Standards baseline"),
    remediation="Remove hostNetwork, hostPID, hostIPC and hostPath volumes; use a Service, "
                "an emptyDir or a persistent volume instead.",
)
def no_host_access(r: Resource, s: Settings) -> Iterator[str]:
    path = pod_spec_path(r)
    spec = r.get(path)
    if is_unknown(spec):
        yield unknown(path, "the pod shares nothing with its host")
        return
    spec = spec if isinstance(spec, dict) else {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            yield f"{key} is true"
    for volume in as_list(spec.get("volumes")):
        if isinstance(volume, dict) and volume.get("hostPath") is not None:
            yield f"volume {volume.get('name')} mounts a host path"


@resource_policy(
    "k8s-image-digest",
    types=WORKLOADS,
    description="Container images are pinned by digest and come from a trusted, scanned "
                "registry (ECR by default).",
    severity="high", guardrail="image-scanning", refs=("checkov CKV_K8S_43",),
    params={"trustedRegistries": Param(
        "array", [], "Registry prefixes trusted besides ECR (e.g. "
        "'registry.example.com/'); their images must still be pinned by digest.")},
    remediation="Push images to a scan-on-push ECR repository and reference them as "
                "<account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest>.",
)
@per_container("images are pinned by digest", init=True)
def image_digest(r: Resource, s: Settings, label: str, c: dict[str, Any]) -> Iterator[str]:
    trusted = tuple(s["trustedRegistries"])
    image = c.get("image")
    if image is None or is_unknown(image):
        yield unknown(f"{label} image", "it is pinned by digest from a trusted registry")
        return
    image = str(image)
    problems = []
    if not DIGEST_RE.search(image):
        problems.append("is not pinned by digest")
    if not (ECR_RE.match(image) or (trusted and image.startswith(trusted))):
        problems.append("is not from a trusted registry")
    if problems:
        yield f"{label} image {image} {' and '.join(problems)}"


def _replicas(r: Resource) -> Any:
    return r.get("spec.replicas", 1)


@resource_policy(
    "k8s-zone-spread",
    types=REPLICATED,
    description="Deployments and StatefulSets run at least minReplicas replicas spread "
                "across availability zones (a topology spread constraint or pod "
                "anti-affinity on topology.kubernetes.io/zone).",
    severity="medium", guardrail="multi-az",
    params={"minReplicas": Param("integer", 2, "Fewest replicas a workload may run (one per "
                                 "availability zone in prod).", minimum=1)},
    remediation="Set replicas to at least minReplicas and add topologySpreadConstraints "
                "[{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: "
                "DoNotSchedule, labelSelector: <the pod labels>}].",
)
def zone_spread(r: Resource, s: Settings) -> Iterator[str]:
    need = s["minReplicas"]
    yield from at_least(_replicas(r), "spec.replicas", need, f"the workload runs {need} replicas")
    spec = r.get("spec.template.spec")
    if is_unknown(spec):
        yield unknown("spec.template.spec", "replicas spread across zones")
        return
    spec = spec if isinstance(spec, dict) else {}
    keys = [c.get("topologyKey") for c in as_list(spec.get("topologySpreadConstraints"))
            if isinstance(c, dict)]
    anti = (spec.get("affinity") or {}).get("podAntiAffinity") or {}
    for kind in ("requiredDuringSchedulingIgnoredDuringExecution",
                 "preferredDuringSchedulingIgnoredDuringExecution"):
        for term in as_list(anti.get(kind)):
            if isinstance(term, dict):
                term = term.get("podAffinityTerm", term)
                keys.append(term.get("topologyKey") if isinstance(term, dict) else None)
    if ZONE_KEY not in keys:
        yield f"no topology spread or anti-affinity on {ZONE_KEY}; replicas may share a zone"


_INTERNAL = {"service.beta.kubernetes.io/aws-load-balancer-internal": ("true",),
             "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",)}
_TLS_CERT = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
_TLS_PORTS = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"


@resource_policy(
    "k8s-service-tls-or-internal",
    types=(SERVICE,),
    description="LoadBalancer Services are internal, or terminate TLS on every port with an "
                "ACM certificate.",
    severity="high", guardrail="tls",
    remediation="Annotate the Service with service.beta.kubernetes.io/aws-load-balancer-ssl-cert "
                "(an ACM certificate ARN) and aws-load-balancer-ssl-ports covering every port, "
                "or make it internal (aws-load-balancer-scheme: internal); better, expose it "
                "through an Ingress on an HTTPS ALB.",
)
def service_tls(r: Resource, s: Settings) -> Iterator[str]:
    kind = r.get("spec.type", "ClusterIP")
    if is_unknown(kind):
        yield unknown("spec.type", "the Service is not a public plaintext load balancer")
        return
    if kind != "LoadBalancer":
        return
    annotations = r.get("metadata.annotations")
    if is_unknown(annotations):
        yield unknown("metadata.annotations", "the load balancer is internal or uses TLS")
        return
    annotations = annotations if isinstance(annotations, dict) else {}
    if any(str(annotations.get(k, "")).lower() in v for k, v in _INTERNAL.items()):
        return
    ports = [p for p in as_list(r.get("spec.ports")) if isinstance(p, dict)]
    if annotations.get(_TLS_CERT) is None:
        shown = ", ".join(str(num(p.get("port"))) for p in ports) or "its ports"
        yield f"public LoadBalancer serves {shown} without TLS (no {_TLS_CERT} annotation)"
        return
    listed = [x.strip() for x in str(annotations.get(_TLS_PORTS, "*")).split(",")]
    if "*" in listed:
        return
    plain_ports = [str(num(p.get("port"))) for p in ports
                   if str(num(p.get("port"))) not in listed and p.get("name") not in listed]
    if plain_ports:
        yield f"public LoadBalancer serves port(s) {', '.join(plain_ports)} without TLS"


def _namespace(r: Resource) -> Any:
    return r.get("metadata.namespace", "default")


def _targets(stack: Stack, hpa: Resource, workload: Resource) -> bool:
    if _namespace(hpa) != _namespace(workload):
        return False
    ref = hpa.get("spec.scaleTargetRef")
    if not isinstance(ref, dict) or ref.get("kind") != workload.type.rsplit(":", 1)[-1]:
        return False
    name = workload.get("metadata.name")
    return workload in hpa.deps("spec") or (name is not None and ref.get("name") == name)


@stack_policy(
    "k8s-workload-autoscaling",
    types=(*REPLICATED, *HPAS),
    description="Deployments and StatefulSets are scaled by a HorizontalPodAutoscaler whose "
                "minReplicas keeps one replica per zone.",
    severity="medium",
    params={"minReplicas": Param("integer", 2, "Fewest replicas the autoscaler may scale "
                                 "down to.", minimum=1)},
    remediation="Add a HorizontalPodAutoscaler (autoscaling/v2) with scaleTargetRef naming "
                "the workload, minReplicas at least minReplicas and a CPU or request-rate "
                "target.",
)
def workload_autoscaling(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    need = s["minReplicas"]
    hpas = stack.of_type(*HPAS)
    for workload in stack.of_type(*REPLICATED):
        found = [h for h in hpas if _targets(stack, h, workload)]
        if not found:
            yield workload, "no HorizontalPodAutoscaler targets this workload"
        for hpa in found:
            for problem in at_least(hpa.get("spec.minReplicas", 1), "spec.minReplicas", need,
                                    f"at least {need} replicas stay"):
                yield hpa, problem


def _selects(pdb: Resource, workload: Resource) -> bool:
    if _namespace(pdb) != _namespace(workload):
        return False
    wanted = pdb.get("spec.selector.matchLabels")
    labels = workload.get("spec.template.metadata.labels")
    if not isinstance(wanted, dict) or not isinstance(labels, dict) or not wanted:
        return False
    return all(labels.get(k) == v for k, v in wanted.items())


@stack_policy(
    "k8s-workload-disruption-budget",
    types=(*REPLICATED, PDB),
    description="Deployments and StatefulSets with more than one replica have a "
                "PodDisruptionBudget, so node drains and upgrades keep some of them running.",
    severity="medium", refs=("kube-score poddisruptionbudget",),
    remediation="Add a policy/v1 PodDisruptionBudget whose selector.matchLabels match the "
                "pod template labels, with maxUnavailable 1 (or a minAvailable below "
                "replicas).",
)
def disruption_budget(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    pdbs = stack.of_type(PDB)
    for workload in stack.of_type(*REPLICATED):
        replicas = _replicas(workload)
        if not is_unknown(replicas) and replicas <= 1:
            continue
        if not any(_selects(p, workload) for p in pdbs):
            yield workload, "no PodDisruptionBudget selects this workload's pods"


NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
TARGET_GROUP_BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
PSS_LEVELS = ("privileged", "baseline", "restricted")


@resource_policy(
    "k8s-namespace-pod-security",
    types=(NAMESPACE,),
    description="Namespaces enforce a Pod Security Standard at least as strict as "
                "minLevel (restricted in prod), so the API server itself refuses privileged "
                "pods, whatever created them.",
    severity="high", refs=("Kubernetes Pod Security Admission", "CIS Kubernetes 5.2",
                           "EKS Best Practices: Pod Security Standards"),
    params={"minLevel": Param("string", "baseline", "Least strict Pod Security Standard a "
                              "namespace may enforce.", choices=("baseline", "restricted"))},
    remediation=f"Label the namespace {PSS_ENFORCE}: restricted (and the same level for warn "
                "and audit).",
)
def namespace_pod_security(r: Resource, s: Settings) -> Iterator[str]:
    need = s["minLevel"]
    labels = r.get("metadata.labels")
    if is_unknown(labels):
        yield unknown("metadata.labels", "the namespace enforces a Pod Security Standard")
        return
    level = (labels or {}).get(PSS_ENFORCE) if isinstance(labels, dict) else None
    if is_unknown(level):
        yield unknown(f"metadata.labels.{PSS_ENFORCE}", "pods are held to a standard")
    elif level is None:
        yield (f"the namespace enforces no Pod Security Standard (no {PSS_ENFORCE} label); "
               f"{need} required")
    elif level not in PSS_LEVELS or PSS_LEVELS.index(level) < PSS_LEVELS.index(need):
        yield f"the namespace enforces {level}; {need} required"


@resource_policy(
    "k8s-service-account-no-token-automount",
    types=(SERVICE_ACCOUNT,),
    description="Service accounts do not mount a Kubernetes API token into every pod that "
                "uses them; a pod that calls the API opts in itself.",
    severity="medium", refs=("CIS Kubernetes 5.1.6", "checkov CKV_K8S_38"),
    remediation="Set automountServiceAccountToken: false on the service account (AWS "
                "credentials come from EKS Pod Identity, not from this token).",
)
def no_token_automount(r: Resource, s: Settings) -> Iterator[str]:
    value = r.get("automountServiceAccountToken")
    if is_unknown(value):
        yield unknown("automountServiceAccountToken", "pods get no API token by default")
    elif value is not False:
        yield ("automountServiceAccountToken is not false: every pod using this account "
               "gets a Kubernetes API token")


def _default_deny(policy: Resource) -> Any:
    """Whether a NetworkPolicy selects every pod and denies all ingress and egress; UNKNOWN if
    its spec is unknown."""
    spec = policy.get("spec")
    if is_unknown(spec):
        return spec
    spec = spec if isinstance(spec, dict) else {}
    selector, types = spec.get("podSelector"), spec.get("policyTypes")
    if is_unknown(selector) or is_unknown(types):
        return UNKNOWN
    every_pod = isinstance(selector, dict) and not any(selector.values())
    return (every_pod and {"Ingress", "Egress"} <= set(as_list(types))
            and not spec.get("ingress") and not spec.get("egress"))


@stack_policy(
    "k8s-namespace-default-deny",
    types=(*WORKLOADS, NETWORK_POLICY, NAMESPACE),
    description="Every namespace that runs workloads has a default-deny NetworkPolicy (every "
                "pod, Ingress and Egress, no rule), so only traffic another policy names "
                "flows.",
    severity="high", refs=("EKS Best Practices: network policies", "CIS Kubernetes 5.3.2",
                           "NSA/CISA Kubernetes Hardening Guide"),
    remediation="Add a networking.k8s.io/v1 NetworkPolicy in the namespace with podSelector "
                "{} and policyTypes [Ingress, Egress] and no rules, then one policy per "
                "workload allowing exactly its traffic (the cluster's CNI must enforce "
                "network policies: the VPC CNI with enableNetworkPolicy).",
)
def namespace_default_deny(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    verdicts: dict[Any, list[Any]] = {}
    for policy in stack.of_type(NETWORK_POLICY):
        verdicts.setdefault(_namespace(policy), []).append(_default_deny(policy))
    namespaces = {ns.get("metadata.name"): ns for ns in stack.of_type(NAMESPACE)}
    # Each namespace once: on its Namespace resource, else on its first workload by name.
    first: dict[Any, Resource] = {}
    for workload in sorted(stack.of_type(*WORKLOADS), key=lambda r: (r.name, r.urn)):
        namespace = _namespace(workload)
        if is_unknown(namespace):
            yield workload, unknown("metadata.namespace",
                                    "its namespace denies traffic by default")
        else:
            first.setdefault(namespace, workload)
    for namespace, workload in first.items():
        found = verdicts.get(namespace, [])
        if True in found:
            continue
        holder = namespaces.get(namespace, workload)
        if any(is_unknown(v) for v in found):
            yield holder, unknown(f"spec of a NetworkPolicy in namespace {namespace}",
                                  "the namespace denies traffic by default")
        else:
            yield holder, (f"namespace {namespace} runs workloads but has no default-deny "
                           "NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, "
                           "no rules)")


@stack_policy(
    "k8s-target-group-binding-https",
    types=(TARGET_GROUP_BINDING, TARGET_GROUP),
    description="TargetGroupBindings register pods only in target groups of this stack that "
                "reach them over HTTPS, so traffic from the load balancer to the pods is "
                "encrypted and the pack sees the target group.",
    severity="high", guardrail="tls", refs=("AWS Load Balancer Controller: TargetGroupBinding",),
    remediation="Bind to an aws.lb.TargetGroup of this program with protocol HTTPS and an "
                "HTTPS health check (the platform's KubernetesService does), and serve TLS "
                "in the pod.",
)
def target_group_binding_https(stack: Stack, s: Settings) -> Iterator[tuple[Resource, str]]:
    for binding in stack.of_type(TARGET_GROUP_BINDING):
        groups = binding.deps("spec", (TARGET_GROUP,))
        if not groups:
            arn = binding.get("spec.targetGroupARN")
            if is_unknown(arn):
                yield binding, unknown("spec.targetGroupARN", "pods are reached over HTTPS")
            else:
                yield binding, (f"spec.targetGroupARN {arn or '(not set)'} is not a target "
                                "group of this stack; cannot prove pods are reached over HTTPS")
            continue
        for group in groups:
            protocol = group.get("protocol")
            if is_unknown(protocol):
                yield binding, unknown(f"protocol of target group {group.name}",
                                       "pods are reached over HTTPS")
            elif protocol not in ("HTTPS", "TLS"):
                yield binding, (f"target group {group.name} uses {protocol or 'no protocol'}: "
                                "the load balancer reaches the pods in plaintext")
