"""The components as a Pulumi component package, for programs in any Pulumi language.

``pulumi package add <path to this directory>`` starts this file (the Python language host
runs ``python <directory>``; ``python -m components`` works too), which serves the public
components over the provider protocol. Pulumi derives the package schema from the ``Args``
type annotations and docstrings and generates an SDK for the consumer's language.

``Platform`` is not hosted: it takes a whole stack file (``spec``), not ``args``, and is meant
for this repository's own program.
"""

import functools
import json
import os
import sys

if not __package__:
    # Run as ``python <this directory>``: the directory itself is sys.path[0], where its
    # modules (``platform``, ``secret``...) would shadow the standard library. Import the
    # package from its parent instead, before anything else is imported.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    sys.path.insert(0, os.path.dirname(_here))

from typing import Any

import pulumi
from pulumi.provider.experimental.analyzer import Analyzer

from components import (
    Alerting,
    Api,
    ApiAlarms,
    Cache,
    CacheAlarms,
    Cluster,
    CodeSigning,
    ContainerService,
    Dashboard,
    Database,
    DatabaseAlarms,
    EksCluster,
    EncryptionKey,
    EventBus,
    FunctionAlarms,
    FunctionService,
    GitHubOidc,
    ImageRepository,
    KubernetesService,
    KubernetesServiceAlarms,
    LoadBalancer,
    LoadBalancerController,
    LogBucket,
    LogShipping,
    Network,
    Pipeline,
    QueueAlarms,
    RuleAlarms,
    Secret,
    ServiceAlarms,
    Table,
    Topic,
    TopicAlarms,
    Tracing,
    Workflow,
    WorkflowAlarms,
    __version__,
)
from components.base import PACKAGE

COMPONENTS: list[type[pulumi.ComponentResource]] = [
    EncryptionKey, Network, Cluster, LoadBalancer, ImageRepository, ContainerService,
    FunctionService, Api, Table, Database, Cache, Secret, Pipeline, GitHubOidc, Alerting,
    ServiceAlarms, FunctionAlarms, ApiAlarms, DatabaseAlarms, CacheAlarms, Dashboard, Tracing,
    LogShipping, LogBucket, CodeSigning, Topic, EventBus, Workflow, QueueAlarms, TopicAlarms,
    WorkflowAlarms, RuleAlarms, EksCluster, LoadBalancerController, KubernetesService,
    KubernetesServiceAlarms,
]
"""Every component the package serves; each one's type token is ``microservices:index:<Class>``."""


def _declaring_classes(typ: type) -> list[type]:
    """``typ`` and the classes it inherits fields from, nearest first. A TypedDict's
    ``__mro__`` is just ``dict``; its declared bases are in ``__orig_bases__``."""
    seen: list[type] = []
    todo = [typ]
    while todo:
        cls = todo.pop(0)
        if not isinstance(cls, type) or cls in seen or cls.__module__ == "builtins":
            continue
        seen.append(cls)
        todo += [*getattr(cls, "__orig_bases__", ()), *cls.__bases__]
    return seen


def document_inherited_fields() -> None:
    """Pulumi's analyser reads a field's description only from the class it analyses, so
    every ``XArgs(XSpec)`` field declared on the Spec (and the outputs the alarm sets share)
    would reach the schema undocumented. Look the docstring up where the field is declared."""
    original = Analyzer.get_docstring
    if getattr(original, "__wrapped__", None) is not None:
        return

    @functools.wraps(original)
    def get_docstring(self: Analyzer, typ: type, name: str) -> Any:
        for cls in _declaring_classes(typ):
            doc = original(self, cls, name)
            if doc:
                return doc
        return None

    Analyzer.get_docstring = get_docstring  # type: ignore[method-assign]


def schema() -> dict[str, Any]:
    """The package schema exactly as the provider serves it (no engine needed)."""
    from pulumi.provider.experimental.component import ComponentProvider

    document_inherited_fields()
    provider = ComponentProvider(COMPONENTS, PACKAGE, None, __version__)
    return json.loads(provider.schema)  # type: ignore[arg-type]


def main() -> None:
    from pulumi.provider.experimental import component_provider_host

    document_inherited_fields()
    component_provider_host(COMPONENTS, PACKAGE, version=__version__)


if __name__ == "__main__":
    main()
