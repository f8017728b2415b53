"""Pulumi components for resilient microservices on AWS.

Every public component, its ``Args``/``Spec`` types, its ``check_*`` validation function and
the grants helpers are importable from here::

    from components import ContainerService, ContainerServiceArgs, Network

Names resolve on first use, so ``import components`` (and reading ``__version__``) stays
cheap: a program pays for ``pulumi_aws`` only when it touches a component.
"""

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
"""Package version (semantic versioning); the single source for the distribution, the
component package schema and the policy pack."""

# module -> the public names it defines (space-separated)
_EXPORTS: dict[str, str] = {
    "network": "Network NetworkArgs NetworkSpec check_network",
    "encryption": (
        "EncryptionKey EncryptionKeyArgs EncryptionKeySpec check_encryption_key "
        "key_alias"
    ),
    "cluster": "Cluster ClusterArgs ClusterSpec check_cluster",
    "eks_cluster": (
        "AccessEntrySpec EksCluster EksClusterArgs EksClusterSpec FargateProfileSpec "
        "NodeGroupSpec check_eks_cluster"
    ),
    "load_balancer_controller": (
        "LoadBalancerController LoadBalancerControllerArgs LoadBalancerControllerSpec "
        "check_load_balancer_controller"
    ),
    "kubernetes_service": (
        "KubernetesService KubernetesServiceArgs check_kubernetes_service"
    ),
    "load_balancer": "LoadBalancer LoadBalancerArgs LoadBalancerSpec check_load_balancer",
    "image_repository": (
        "ImageRepository ImageRepositoryArgs ImageRepositorySpec "
        "check_image_repository"
    ),
    "container_service": (
        "ContainerService ContainerServiceArgs CustomMetricSpec ServiceEgressArgs ServiceSpec "
        "check_container_service check_service"
    ),
    "function": (
        "FunctionArgs FunctionService FunctionSpec S3TriggerSpec ScheduleTriggerSpec "
        "SnsTriggerSpec SqsTriggerSpec TriggersSpec check_function"
    ),
    "api": (
        "Api ApiArgs ApiSpec AuthorizerSpec CorsSpec CustomDomainSpec RouteSpec ThrottleSpec "
        "check_api"
    ),
    "table": "CapacitySpec IndexSpec KeySpec Table TableArgs TableSpec check_table table_grant",
    "database": "Database DatabaseArgs DatabaseSpec check_database",
    "cache": "Cache CacheArgs CacheSpec check_cache",
    "secret": "Secret SecretArgs SecretSpec check_secret",
    "pipeline": "Pipeline PipelineArgs PipelineSpec check_pipeline",
    "github_oidc": "GitHubOidc GitHubOidcArgs GitHubOidcSpec GitHubTargetSpec check_github_oidc",
    "alerting": "Alerting AlertingArgs AlertingSpec check_alerting",
    "alarms": (
        "AlarmOverride ApiAlarms ApiAlarmsArgs ApiAlarmsSpec CacheAlarms CacheAlarmsArgs "
        "CacheAlarmsSpec DatabaseAlarms DatabaseAlarmsArgs DatabaseAlarmsSpec "
        "FunctionAlarms FunctionAlarmsArgs FunctionAlarmsSpec KubernetesServiceAlarms "
        "KubernetesServiceAlarmsArgs QueueAlarms QueueAlarmsArgs "
        "QueueAlarmsSpec RuleAlarms RuleAlarmsArgs RuleAlarmsSpec ServiceAlarms "
        "ServiceAlarmsArgs ServiceAlarmsSpec TopicAlarms TopicAlarmsArgs TopicAlarmsSpec "
        "WorkflowAlarms WorkflowAlarmsArgs WorkflowAlarmsSpec"
    ),
    "topic": "SubscriberSpec Topic TopicArgs TopicSpec WorkloadRef check_topic",
    "event_bus": (
        "EventBus EventBusArgs EventBusSpec InputTransformerSpec RuleSpec RuleTargetSpec "
        "check_event_bus"
    ),
    "workflow": (
        "Workflow WorkflowArgs WorkflowQueueArgs WorkflowServiceArgs WorkflowSpec "
        "check_workflow"
    ),
    "events": "EventsSpec check_events",
    "dashboard": "Dashboard DashboardArgs DashboardItem DashboardSpec check_dashboard",
    "tracing": "Tracing TracingArgs TracingSpec check_tracing",
    "log_shipping": "LogShipping LogShippingArgs LogShippingSpec check_log_shipping",
    "buckets": "LOG_BUCKET_EXCEPTION LogBucket LogBucketArgs",
    "code_signing": "CodeSigning CodeSigningArgs CodeSigningRef check_code_signing",
    "platform": "Platform",
    "spec": "PlatformSpec SpecError load_platform_spec parse_platform_spec",
    "grants": "ACCESS_LEVELS GrantConfigSpec GrantSpec actions_for check_grants grant_statements",
    "environment": "TIERS TagsSpec Tier",
    "validation": "ArgsError Problem",
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names.split()}

__all__ = [
    "ACCESS_LEVELS",
    "LOG_BUCKET_EXCEPTION",
    "TIERS",
    "AccessEntrySpec",
    "AlarmOverride",
    "Alerting",
    "AlertingArgs",
    "AlertingSpec",
    "Api",
    "ApiAlarms",
    "ApiAlarmsArgs",
    "ApiAlarmsSpec",
    "ApiArgs",
    "ApiSpec",
    "ArgsError",
    "AuthorizerSpec",
    "Cache",
    "CacheAlarms",
    "CacheAlarmsArgs",
    "CacheAlarmsSpec",
    "CacheArgs",
    "CacheSpec",
    "CapacitySpec",
    "Cluster",
    "ClusterArgs",
    "ClusterSpec",
    "CodeSigning",
    "CodeSigningArgs",
    "CodeSigningRef",
    "ContainerService",
    "ContainerServiceArgs",
    "CorsSpec",
    "CustomDomainSpec",
    "CustomMetricSpec",
    "Dashboard",
    "DashboardArgs",
    "DashboardItem",
    "DashboardSpec",
    "Database",
    "DatabaseAlarms",
    "DatabaseAlarmsArgs",
    "DatabaseAlarmsSpec",
    "DatabaseArgs",
    "DatabaseSpec",
    "EksCluster",
    "EksClusterArgs",
    "EksClusterSpec",
    "EncryptionKey",
    "EncryptionKeyArgs",
    "EncryptionKeySpec",
    "EventBus",
    "EventBusArgs",
    "EventBusSpec",
    "EventsSpec",
    "FargateProfileSpec",
    "FunctionAlarms",
    "FunctionAlarmsArgs",
    "FunctionAlarmsSpec",
    "FunctionArgs",
    "FunctionService",
    "FunctionSpec",
    "GitHubOidc",
    "GitHubOidcArgs",
    "GitHubOidcSpec",
    "GitHubTargetSpec",
    "GrantConfigSpec",
    "GrantSpec",
    "ImageRepository",
    "ImageRepositoryArgs",
    "ImageRepositorySpec",
    "IndexSpec",
    "InputTransformerSpec",
    "KeySpec",
    "KubernetesService",
    "KubernetesServiceAlarms",
    "KubernetesServiceAlarmsArgs",
    "KubernetesServiceArgs",
    "LoadBalancer",
    "LoadBalancerArgs",
    "LoadBalancerController",
    "LoadBalancerControllerArgs",
    "LoadBalancerControllerSpec",
    "LoadBalancerSpec",
    "LogBucket",
    "LogBucketArgs",
    "LogShipping",
    "LogShippingArgs",
    "LogShippingSpec",
    "Network",
    "NetworkArgs",
    "NetworkSpec",
    "NodeGroupSpec",
    "Pipeline",
    "PipelineArgs",
    "PipelineSpec",
    "Platform",
    "PlatformSpec",
    "Problem",
    "QueueAlarms",
    "QueueAlarmsArgs",
    "QueueAlarmsSpec",
    "RouteSpec",
    "RuleAlarms",
    "RuleAlarmsArgs",
    "RuleAlarmsSpec",
    "RuleSpec",
    "RuleTargetSpec",
    "S3TriggerSpec",
    "ScheduleTriggerSpec",
    "Secret",
    "SecretArgs",
    "SecretSpec",
    "ServiceAlarms",
    "ServiceAlarmsArgs",
    "ServiceAlarmsSpec",
    "ServiceEgressArgs",
    "ServiceSpec",
    "SnsTriggerSpec",
    "SpecError",
    "SqsTriggerSpec",
    "SubscriberSpec",
    "Table",
    "TableArgs",
    "TableSpec",
    "TagsSpec",
    "ThrottleSpec",
    "Tier",
    "Topic",
    "TopicAlarms",
    "TopicAlarmsArgs",
    "TopicAlarmsSpec",
    "TopicArgs",
    "TopicSpec",
    "Tracing",
    "TracingArgs",
    "TracingSpec",
    "TriggersSpec",
    "Workflow",
    "WorkflowAlarms",
    "WorkflowAlarmsArgs",
    "WorkflowAlarmsSpec",
    "WorkflowArgs",
    "WorkflowQueueArgs",
    "WorkflowServiceArgs",
    "WorkflowSpec",
    "WorkloadRef",
    "__version__",
    "actions_for",
    "check_alerting",
    "check_api",
    "check_cache",
    "check_cluster",
    "check_code_signing",
    "check_container_service",
    "check_dashboard",
    "check_database",
    "check_eks_cluster",
    "check_encryption_key",
    "check_event_bus",
    "check_events",
    "check_function",
    "check_github_oidc",
    "check_grants",
    "check_image_repository",
    "check_kubernetes_service",
    "check_load_balancer",
    "check_load_balancer_controller",
    "check_log_shipping",
    "check_network",
    "check_pipeline",
    "check_secret",
    "check_service",
    "check_table",
    "check_topic",
    "check_tracing",
    "check_workflow",
    "grant_statements",
    "key_alias",
    "load_platform_spec",
    "parse_platform_spec",
    "table_grant",
]

if TYPE_CHECKING:
    from .alarms import (
        AlarmOverride,
        ApiAlarms,
        ApiAlarmsArgs,
        ApiAlarmsSpec,
        CacheAlarms,
        CacheAlarmsArgs,
        CacheAlarmsSpec,
        DatabaseAlarms,
        DatabaseAlarmsArgs,
        DatabaseAlarmsSpec,
        FunctionAlarms,
        FunctionAlarmsArgs,
        FunctionAlarmsSpec,
        KubernetesServiceAlarms,
        KubernetesServiceAlarmsArgs,
        QueueAlarms,
        QueueAlarmsArgs,
        QueueAlarmsSpec,
        RuleAlarms,
        RuleAlarmsArgs,
        RuleAlarmsSpec,
        ServiceAlarms,
        ServiceAlarmsArgs,
        ServiceAlarmsSpec,
        TopicAlarms,
        TopicAlarmsArgs,
        TopicAlarmsSpec,
        WorkflowAlarms,
        WorkflowAlarmsArgs,
        WorkflowAlarmsSpec,
    )
    from .alerting import (
        Alerting,
        AlertingArgs,
        AlertingSpec,
        check_alerting,
    )
    from .api import (
        Api,
        ApiArgs,
        ApiSpec,
        AuthorizerSpec,
        CorsSpec,
        CustomDomainSpec,
        RouteSpec,
        ThrottleSpec,
        check_api,
    )
    from .buckets import LOG_BUCKET_EXCEPTION, LogBucket, LogBucketArgs
    from .cache import (
        Cache,
        CacheArgs,
        CacheSpec,
        check_cache,
    )
    from .cluster import (
        Cluster,
        ClusterArgs,
        ClusterSpec,
        check_cluster,
    )
    from .code_signing import CodeSigning, CodeSigningArgs, CodeSigningRef, check_code_signing
    from .container_service import (
        ContainerService,
        ContainerServiceArgs,
        CustomMetricSpec,
        ServiceEgressArgs,
        ServiceSpec,
        check_container_service,
        check_service,
    )
    from .dashboard import (
        Dashboard,
        DashboardArgs,
        DashboardItem,
        DashboardSpec,
        check_dashboard,
    )
    from .database import (
        Database,
        DatabaseArgs,
        DatabaseSpec,
        check_database,
    )
    from .eks_cluster import (
        AccessEntrySpec,
        EksCluster,
        EksClusterArgs,
        EksClusterSpec,
        FargateProfileSpec,
        NodeGroupSpec,
        check_eks_cluster,
    )
    from .encryption import (
        EncryptionKey,
        EncryptionKeyArgs,
        EncryptionKeySpec,
        check_encryption_key,
        key_alias,
    )
    from .environment import (
        TIERS,
        TagsSpec,
        Tier,
    )
    from .event_bus import (
        EventBus,
        EventBusArgs,
        EventBusSpec,
        InputTransformerSpec,
        RuleSpec,
        RuleTargetSpec,
        check_event_bus,
    )
    from .events import (
        EventsSpec,
        check_events,
    )
    from .function import (
        FunctionArgs,
        FunctionService,
        FunctionSpec,
        S3TriggerSpec,
        ScheduleTriggerSpec,
        SnsTriggerSpec,
        SqsTriggerSpec,
        TriggersSpec,
        check_function,
    )
    from .github_oidc import (
        GitHubOidc,
        GitHubOidcArgs,
        GitHubOidcSpec,
        GitHubTargetSpec,
        check_github_oidc,
    )
    from .grants import (
        ACCESS_LEVELS,
        GrantConfigSpec,
        GrantSpec,
        actions_for,
        check_grants,
        grant_statements,
    )
    from .image_repository import (
        ImageRepository,
        ImageRepositoryArgs,
        ImageRepositorySpec,
        check_image_repository,
    )
    from .kubernetes_service import (
        KubernetesService,
        KubernetesServiceArgs,
        check_kubernetes_service,
    )
    from .load_balancer import (
        LoadBalancer,
        LoadBalancerArgs,
        LoadBalancerSpec,
        check_load_balancer,
    )
    from .load_balancer_controller import (
        LoadBalancerController,
        LoadBalancerControllerArgs,
        LoadBalancerControllerSpec,
        check_load_balancer_controller,
    )
    from .log_shipping import (
        LogShipping,
        LogShippingArgs,
        LogShippingSpec,
        check_log_shipping,
    )
    from .network import (
        Network,
        NetworkArgs,
        NetworkSpec,
        check_network,
    )
    from .pipeline import (
        Pipeline,
        PipelineArgs,
        PipelineSpec,
        check_pipeline,
    )
    from .platform import (
        Platform,
    )
    from .secret import (
        Secret,
        SecretArgs,
        SecretSpec,
        check_secret,
    )
    from .spec import (
        PlatformSpec,
        SpecError,
        load_platform_spec,
        parse_platform_spec,
    )
    from .table import (
        CapacitySpec,
        IndexSpec,
        KeySpec,
        Table,
        TableArgs,
        TableSpec,
        check_table,
        table_grant,
    )
    from .topic import (
        SubscriberSpec,
        Topic,
        TopicArgs,
        TopicSpec,
        WorkloadRef,
        check_topic,
    )
    from .tracing import (
        Tracing,
        TracingArgs,
        TracingSpec,
        check_tracing,
    )
    from .validation import (
        ArgsError,
        Problem,
    )
    from .workflow import (
        Workflow,
        WorkflowArgs,
        WorkflowQueueArgs,
        WorkflowServiceArgs,
        WorkflowSpec,
        check_workflow,
    )


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
