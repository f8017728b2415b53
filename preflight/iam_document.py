"""``aws.iam.get_policy_document`` computed offline, byte for byte as the AWS provider renders it.

The data source is a pure function of its arguments, so preflight does not need AWS to answer
it: this module follows the provider's own rules (Terraform AWS provider,
``internal/service/iam/policy_document_data_source.go`` and ``policy_model.go``):

- ``source_policy_documents`` are merged in order, then the document's own statements, then
  ``override_policy_documents``; a statement with a ``Sid`` replaces the earlier one with the
  same ``Sid``, statements without one are appended. ``Id`` is taken from the last document that
  has one, ``Version`` is the highest seen (the document's own defaults to ``2012-10-17``).
- Configured ``actions``, ``resources`` and principal ``identifiers`` are sets: duplicates go,
  one item is written as a string, several as a list sorted in *reverse* order. ``effect``
  defaults to ``Allow``. ``&{var}`` becomes ``${var}`` in resources, identifiers and condition
  values. Condition values keep their order; one value is written as a string.
- ``{"*": ["*"]}`` as the only principal is written ``"*"``; principals are grouped by type.
- JSON as Go writes it: keys of maps sorted, HTML characters escaped (``\\u003c``), two-space
  indentation for ``json``, none for ``minifiedJson``; ``id`` is the CRC-32 of ``json``.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

VERSION = "2012-10-17"
_VERSIONS = ("2008-10-17", "2012-10-17")
_STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                   "Principal", "NotPrincipal", "Condition")


class PolicyDocumentError(ValueError):
    """The provider would reject these arguments (the message is the provider's)."""


def _set_list(values: Sequence[str]) -> str | list[str]:
    """A configured string set as the provider writes it."""
    unique = sorted(set(values), reverse=True)
    return unique[0] if len(unique) == 1 else unique


def _vars(value: Any, version: str) -> Any:
    if isinstance(value, list):
        return [_vars(v, version) for v in value]
    if version == "2008-10-17" and "&{" in value:
        raise PolicyDocumentError(f"found &{{ sequence in ({value}), which is not supported in "
                                  "document version 2008-10-17")
    return value.replace("&{", "${")


def _principals(blocks: Sequence[Mapping[str, Any]], version: str) -> list[tuple[str, Any]]:
    return [(str(b.get("type")), _vars(_set_list([str(i) for i in b.get("identifiers") or []]),
                                       version))
            for b in blocks]


def _conditions(blocks: Sequence[Mapping[str, Any]], version: str) -> list[tuple[str, str, Any]]:
    out = []
    for b in blocks:
        values = _vars([str(v) for v in b.get("values") or []], version)
        out.append((str(b.get("test")), str(b.get("variable")),
                    values[0] if len(values) == 1 else values))
    return out


def _statement(cfg: Mapping[str, Any], version: str) -> dict[str, Any]:
    st: dict[str, Any] = {"Sid": cfg.get("sid") or "", "Effect": cfg.get("effect") or "Allow"}
    if cfg.get("actions"):
        st["Action"] = _set_list(cfg["actions"])
    if cfg.get("notActions"):
        st["NotAction"] = _set_list(cfg["notActions"])
    if cfg.get("resources"):
        st["Resource"] = _vars(_set_list(cfg["resources"]), version)
    if cfg.get("notResources"):
        st["NotResource"] = _vars(_set_list(cfg["notResources"]), version)
    if cfg.get("principals"):
        st["Principal"] = _principals(cfg["principals"], version)
    if cfg.get("notPrincipals"):
        st["NotPrincipal"] = _principals(cfg["notPrincipals"], version)
    if cfg.get("conditions"):
        st["Condition"] = _conditions(cfg["conditions"], version)
    return st


def _parsed_principals(value: Any) -> list[tuple[str, Any]]:
    """A principal from a JSON document, as the provider reads it back."""
    if isinstance(value, str):
        return [("*", ["*"])]
    if not isinstance(value, dict):
        raise PolicyDocumentError(f"Unsupported data type {type(value).__name__} for "
                                  "IAMPolicyStatementPrincipalSet")
    out: list[tuple[str, Any]] = []
    for key, ids in value.items():
        if isinstance(ids, str):
            out.append((key, ids))
        elif isinstance(ids, list):
            out.append((key, sorted(str(i) for i in ids)))
        else:
            raise PolicyDocumentError(f"Unsupported data type {type(ids).__name__} for "
                                      "IAMPolicyStatementPrincipalSet.Identifiers")
    return out


def _parsed_conditions(value: Any) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    for test, variables in (value or {}).items():
        for variable, values in (variables or {}).items():
            if isinstance(values, bool):
                out.append((test, variable, "true" if values else "false"))
            elif isinstance(values, str):
                out.append((test, variable, [values]))
            elif isinstance(values, list):
                out.append((test, variable, [str(v) for v in values]))
            # numbers and objects are dropped, as the provider drops them
    return out


def _parsed_document(text: str, what: str) -> dict[str, Any]:
    try:
        raw = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise PolicyDocumentError(f"writing IAM Policy Document: {what}: {exc}") from None
    if not isinstance(raw, dict):
        raise PolicyDocumentError(f"writing IAM Policy Document: {what}: not a JSON object")
    statements = raw.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    parsed = []
    for st in statements:
        item: dict[str, Any] = {"Sid": st.get("Sid") or "", "Effect": st.get("Effect") or ""}
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if st.get(key) not in (None, "", []):
                item[key] = st[key]
        for key in ("Principal", "NotPrincipal"):
            if st.get(key):
                item[key] = _parsed_principals(st[key])
        if st.get("Condition"):
            item["Condition"] = _parsed_conditions(st["Condition"])
        parsed.append(item)
    return {"Version": raw.get("Version") or "", "Id": raw.get("Id") or "",
            "Statement": parsed}


def _merge(doc: dict[str, Any], new: dict[str, Any]) -> None:
    if new["Id"]:
        doc["Id"] = new["Id"]
    if new["Version"] > doc["Version"]:
        doc["Version"] = new["Version"]
    for st in new["Statement"]:
        if st["Sid"]:
            for i, existing in enumerate(doc["Statement"]):
                if existing["Sid"] == st["Sid"]:
                    doc["Statement"][i] = st
                    break
            else:
                doc["Statement"].append(st)
        else:
            doc["Statement"].append(st)


def _principal_json(principals: list[tuple[str, Any]]) -> Any:
    if len(principals) == 1 and principals[0][0] == "*" and principals[0][1] in ("*", ["*"]):
        return "*"
    raw: dict[str, Any] = {}
    for kind, ids in principals:
        if isinstance(ids, list):
            existing = raw.get(kind)
            merged = [] if existing is None else ([existing] if isinstance(existing, str)
                                                   else existing)
            raw[kind] = merged + sorted(ids, reverse=True)
        else:
            existing = raw.get(kind)
            if existing is None:
                raw[kind] = ids
            elif isinstance(existing, str):
                raw[kind] = [existing, ids]
            else:
                raw[kind] = [*existing, ids]
    return {k: raw[k] for k in sorted(raw)}


def _condition_json(conditions: list[tuple[str, str, Any]]) -> dict[str, Any]:
    raw: dict[str, dict[str, list[str]]] = {}
    for test, variable, values in conditions:
        bucket = raw.setdefault(test, {}).setdefault(variable, [])
        bucket.extend(values if isinstance(values, list) else [values])
    return {t: {v: (items[0] if len(items) == 1 else items)
                for v, items in sorted(raw[t].items())} for t in sorted(raw)}


def _document_json(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if doc["Version"]:
        out["Version"] = doc["Version"]
    if doc["Id"]:
        out["Id"] = doc["Id"]
    statements = []
    for st in doc["Statement"]:
        item: dict[str, Any] = {}
        for key in _STATEMENT_KEYS:
            value = st.get(key)
            if value in (None, "", [], {}):
                continue
            if key in ("Principal", "NotPrincipal"):
                value = _principal_json(value)
            elif key == "Condition":
                value = _condition_json(value)
                if not value:
                    continue
            item[key] = value
        statements.append(item)
    if statements:
        out["Statement"] = statements
    return out


def _go_json(value: Any, indent: int | None) -> str:
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def render(args: Mapping[str, Any]) -> dict[str, Any]:
    """The data source's result for engine-format (camelCase) arguments."""
    version = args.get("version") or VERSION
    if version not in _VERSIONS:
        raise PolicyDocumentError(f'expected version to be one of ["2008-10-17" "2012-10-17"], '
                                  f"got {version}")
    merged: dict[str, Any] = {"Version": "", "Id": "", "Statement": []}
    seen: set[str] = set()
    for index, source in enumerate(args.get("sourcePolicyDocuments") or []):
        if source is None:
            continue
        doc = _parsed_document(source, f"merging source document {index}")
        for st_index, st in enumerate(doc["Statement"]):
            if st["Sid"]:
                if st["Sid"] in seen:
                    raise PolicyDocumentError(
                        f"writing IAM Policy Document: merging source document {index}: "
                        f"duplicate Sid ({st['Sid']}) in source_policy_documents (statement "
                        f"{st_index}). Remove the Sid or ensure Sids are unique.")
                seen.add(st["Sid"])
        _merge(merged, doc)
    own: dict[str, Any] = {"Version": version, "Id": args.get("policyId") or "",
                           "Statement": []}
    sids: set[str] = set()
    for cfg in args.get("statements") or []:
        sid = cfg.get("sid") or ""
        if sid and sid in sids:
            raise PolicyDocumentError(f"writing IAM Policy Document: duplicate Sid ({sid}). "
                                      "Remove the Sid or ensure the Sid is unique.")
        sids.add(sid)
        own["Statement"].append(_statement(cfg, version))
    _merge(merged, own)
    for index, override in enumerate(args.get("overridePolicyDocuments") or []):
        if override is not None:
            _merge(merged, _parsed_document(override, f"merging override document {index}"))
    document = _document_json(merged)
    pretty = _go_json(document, 2)
    result: dict[str, Any] = {"id": str(zlib.crc32(pretty.encode())), "json": pretty,
                              "minifiedJson": _go_json(document, None)}
    for key in ("version", "policyId", "statements", "sourcePolicyDocuments",
                "overridePolicyDocuments"):
        if key in args:
            result[key] = args[key]
    result.setdefault("version", version)
    return result
