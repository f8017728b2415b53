"""AppSync GraphQL APIs: authentication, field logging and encrypted caches."""

from __future__ import annotations

from collections.abc import Iterator

from .core import (
    Resource,
    Settings,
    as_list,
    is_unknown,
    must_be_true,
    resource_policy,
    unknown,
)

API = "aws:appsync/graphQLApi:GraphQLApi"
CACHE = "aws:appsync/apiCache:ApiCache"


@resource_policy(
    "appsync-no-api-key-auth",
    types=(API,),
    description="GraphQL APIs authenticate callers (IAM, Cognito, OIDC or Lambda), not with "
                "a shared API key.",
    severity="high", fsbp=("AppSync.5",), refs=("checkov CKV_AWS_193",),
    remediation="Set authenticationType to AWS_IAM, AMAZON_COGNITO_USER_POOLS, OPENID_CONNECT "
                "or AWS_LAMBDA; drop API_KEY from additionalAuthenticationProviders.",
)
def no_api_key(r: Resource, s: Settings) -> Iterator[str]:
    kinds = [("authenticationType", r.get("authenticationType"))]
    kinds += [(f"additionalAuthenticationProviders[{i}]", p.get("authenticationType"))
              for i, p in enumerate(as_list(r.get("additionalAuthenticationProviders")))
              if isinstance(p, dict)]
    for where, kind in kinds:
        if is_unknown(kind):
            yield unknown(where, "callers are authenticated")
        elif kind == "API_KEY":
            yield f"{where} is API_KEY; anyone holding the key may call the API"


@resource_policy(
    "appsync-logging",
    types=(API,),
    description="GraphQL APIs log resolver errors (field log level ERROR or ALL) to "
                "CloudWatch Logs.",
    severity="medium", fsbp=("AppSync.2",), refs=("checkov CKV_AWS_194",),
    remediation="Set logConfig {cloudwatchLogsRoleArn, fieldLogLevel: ERROR (or ALL), "
                "excludeVerboseContent: true}.",
)
def logging(r: Resource, s: Settings) -> Iterator[str]:
    level = r.get("logConfig.fieldLogLevel")
    if is_unknown(level):
        yield unknown("logConfig.fieldLogLevel", "resolver errors are logged")
    elif level not in ("ERROR", "ALL", "INFO", "DEBUG"):
        yield f"logConfig.fieldLogLevel is {level or 'not set'}; resolver errors are not logged"


@resource_policy(
    "appsync-cache-encrypted",
    types=(CACHE,),
    description="API caches are encrypted at rest and in transit.",
    severity="medium", fsbp=("AppSync.1", "AppSync.6"), refs=("checkov CKV_AWS_214",),
    remediation="Set atRestEncryptionEnabled: true and transitEncryptionEnabled: true.",
)
def cache_encrypted(r: Resource, s: Settings) -> Iterator[str]:
    for key in ("atRestEncryptionEnabled", "transitEncryptionEnabled"):
        yield from must_be_true(r.get(key), key, "the cache is encrypted")
