"""Helm releases (pulumi-kubernetes ``helm.v3.Release``): what the release resource itself
says. The chart's objects are rendered by Helm inside the provider at deploy time, so no
policy sees them; preflight reports every release as not expanded (its children were not
checked). What can be judged here is where the chart comes from, that its version is
pinned, and that its values carry no credential."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .core import Resource, Settings, credential_in, is_unknown, resource_policy, unknown

RELEASE = "kubernetes:helm.sh/v3:Release"
EXACT_VERSION_RE = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
LOCAL_CHART_PREFIXES = ("./", "../", "/")
TRUSTED_SCHEMES = ("https://", "oci://")
REFERENCE_SUFFIXES = ("name", "ref", "arn", "path", "file", "existingsecret", "enabled",
                      "create")
"""Value keys that name where a credential lives (a Secret's name, an ARN, a file) or
whether one is made, rather than holding it: only the value itself is judged."""


def _chart_url(r: Resource) -> Any:
    return r.get("chart")


@resource_policy(
    "helm-release-pinned",
    types=(RELEASE,),
    description="Helm releases pin the chart to one exact version, so a deploy installs the "
                "chart that was reviewed, not whatever the repository publishes next.",
    severity="high", refs=("OpenSSF Scorecard Pinned-Dependencies",),
    remediation="Set version to the exact chart version (e.g. 3.5.0), never a range, and "
                "bump it in a reviewed change.",
)
def release_pinned(r: Resource, s: Settings) -> Iterator[str]:
    chart, version = _chart_url(r), r.get("version")
    if is_unknown(chart) or is_unknown(version):
        yield unknown("chart/version", "the chart version is pinned")
        return
    chart = str(chart or "")
    if chart.startswith(LOCAL_CHART_PREFIXES) or chart.endswith(".tgz"):
        return  # a chart in the program's repository, or one archive named by its URL
    if version is None or version == "":
        yield ("version is not set: every deploy installs the newest chart the repository "
               "publishes")
    elif not EXACT_VERSION_RE.match(str(version)):
        yield f"version {version} is not one exact chart version; pin it (e.g. 1.2.3)"


@resource_policy(
    "helm-release-trusted-source",
    types=(RELEASE,),
    description="Helm releases fetch their chart over TLS from a repository the program "
                "names (https or an OCI registry), not over plain HTTP nor from a "
                "repository alias of whatever machine runs the deployment.",
    severity="high", guardrail="tls", refs=("Helm: chart repositories and OCI registries",),
    remediation="Set repositoryOpts.repo to the repository's https:// URL (or chart to an "
                "oci:// reference), and chart to the chart's name.",
)
def release_source(r: Resource, s: Settings) -> Iterator[str]:
    chart, repo = _chart_url(r), r.get("repositoryOpts.repo")
    if is_unknown(chart) or is_unknown(repo):
        yield unknown("chart/repositoryOpts.repo", "the chart comes over TLS")
        return
    chart = str(chart or "")
    if chart.startswith(LOCAL_CHART_PREFIXES):
        return
    if "://" in chart:
        if not chart.startswith(TRUSTED_SCHEMES):
            yield f"chart {chart} is fetched without TLS; use https:// or oci://"
        return
    if repo is None:
        if "/" in chart:
            yield (f"chart {chart} names a repository alias of the machine running the "
                   "deployment; set repositoryOpts.repo to the repository's https URL")
        else:
            yield f"chart {chart} names no repository (repositoryOpts.repo is not set)"
    elif not str(repo).startswith(TRUSTED_SCHEMES):
        yield f"repositoryOpts.repo {repo} is fetched without TLS; use https:// or oci://"


def _strings(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) for every scalar in nested values."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                yield from _strings(item, f"{path}.{key}")
            else:
                yield f"{path}.{key}", str(key), item
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


@resource_policy(
    "helm-release-no-credentials",
    types=(RELEASE,),
    description="Helm releases carry no credential in their values or repository options: "
                "those are stored in the Pulumi state and in the release's own history in "
                "the cluster, readable by whoever reads either.",
    severity="critical", guardrail="no-static-credentials",
    refs=("checkov CKV_SECRET_2", "Helm: values are stored in the release secret"),
    remediation="Reference credentials instead of passing them: an existing Kubernetes "
                "Secret by name (existingSecret), a Secrets Manager secret read by the "
                "workload's own role, or registry access through the node or pod role.",
)
def release_no_credentials(r: Resource, s: Settings) -> Iterator[str]:
    for key in ("password", "username"):
        if r.get(f"repositoryOpts.{key}") not in (None, ""):
            yield (f"repositoryOpts.{key} is set: the repository credential is stored in the "
                   "program's state")
            break
    values = r.get("values")
    if is_unknown(values):
        yield unknown("values", "they hold no credential")
    for path, key, value in _strings(values, "values"):
        if is_unknown(value):
            yield unknown(path, "it holds no credential")
        elif isinstance(value, str):
            reference = key.lower().endswith(REFERENCE_SUFFIXES)
            reason = credential_in("" if reference else key, value)
            if reason:
                yield f"{path}: {reason}"
    files = r.get("valueYamlFiles")
    if files:
        yield ("valueYamlFiles are files the pack cannot read; cannot prove they hold no "
               "credential (pass values instead)")
