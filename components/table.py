"""Table: a DynamoDB table with point-in-time recovery, the platform key, deletion protection
per tier and, for provisioned capacity, target-tracking autoscaling of the table and every
global secondary index.

The table's physical name is the component name (the platform prefixes it with the
environment), so its ARN, and every grant built from it, is known at preview.
"""


from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, invoke_opts, merge_tags, type_token
from .grants import GrantSpec
from .validation import Problem, check_choice, check_range, config_path, raise_for

KEY_TYPES = ("S", "N", "B")
BILLING_MODES = ("on-demand", "provisioned")
STREAM_VIEW_TYPES = ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
_BILLING = {"on-demand": "PAY_PER_REQUEST", "provisioned": "PROVISIONED"}


class KeySpec(TypedDict):
    """One key attribute."""

    name: str
    """Attribute name, e.g. ``pk``."""
    type: str
    """``S`` (string), ``N`` (number) or ``B`` (binary)."""


class CapacitySpec(TypedDict):
    """Provisioned capacity bounds and the utilisation autoscaling aims for."""

    read_min: int
    """Fewest read capacity units (1-40000); also the initial capacity."""
    read_max: int
    """Most read capacity units autoscaling may set."""
    write_min: int
    """Fewest write capacity units (1-40000); also the initial capacity."""
    write_max: int
    """Most write capacity units autoscaling may set."""
    target_utilisation: NotRequired[int]
    """Consumed/provisioned percentage autoscaling tracks, 20-90 (default 70)."""


class IndexSpec(TypedDict):
    """A global secondary index."""

    partition_key: KeySpec
    """The index's partition key."""
    sort_key: NotRequired[KeySpec]
    """The index's sort key, if any."""
    projection: NotRequired[str]
    """``ALL`` (default), ``KEYS_ONLY`` or ``INCLUDE`` (with ``non_key_attributes``)."""
    non_key_attributes: NotRequired[list[str]]
    """Attributes copied into the index with projection ``INCLUDE``."""


class TableSpec(TypedDict):
    """A DynamoDB table as a stack file describes it."""

    partition_key: KeySpec
    """The table's partition (hash) key."""
    sort_key: NotRequired[KeySpec]
    """The table's sort (range) key, if any."""
    billing: NotRequired[str]
    """``on-demand`` (default) or ``provisioned`` (then ``capacity`` is required)."""
    capacity: NotRequired[CapacitySpec]
    """Capacity bounds for ``provisioned`` billing, applied to the table and each index."""
    ttl_attribute: NotRequired[str]
    """Attribute holding an expiry epoch time; items expire after it."""
    stream_view_type: NotRequired[str]
    """Enable a stream with this view: NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY."""
    global_secondary_indexes: NotRequired[dict[str, IndexSpec]]
    """Indexes by name (3-255 letters, digits, ``_``, ``-``, ``.``)."""
    customer_key: NotRequired[bool]
    """Encrypt with the platform's customer managed key (default True); False uses the
    AWS owned key."""


class TableArgs(TableSpec):
    """A table plus its wiring and the tier's protection."""

    kms_key_arn: NotRequired[pulumi.Input[str]]
    """Customer managed KMS key; required unless ``customer_key`` is False."""
    protect: NotRequired[bool]
    """Pulumi-protect the table and retain it on delete (default False)."""
    deletion_protection: NotRequired[bool]
    """Make DynamoDB refuse ``DeleteTable`` (default True)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for every child, on top of the provider's default tags."""


def _check_key(path: tuple[str, ...], key: KeySpec) -> list[Problem]:
    problems = []
    if not key.get("name"):
        problems.append(Problem((*path, "name"), "must name the key attribute"))
    problems += check_choice((*path, "type"), key.get("type", ""), KEY_TYPES)
    return problems


def _index_name_ok(name: str) -> bool:
    return 3 <= len(name) <= 255 and all(c.isalnum() or c in "_-." for c in name)


def check_table(spec: TableSpec) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_key(("partition_key",), spec["partition_key"])
    if "sort_key" in spec:
        problems += _check_key(("sort_key",), spec["sort_key"])

    ttl = spec.get("ttl_attribute")
    if ttl is not None and not 1 <= len(ttl) <= 255:
        problems.append(Problem(("ttl_attribute",), "must name the attribute holding the "
                                                    "expiry time (1-255 characters)"))
    billing = spec.get("billing", "on-demand")
    problems += check_choice(("billing",), billing, BILLING_MODES)
    capacity = spec.get("capacity")
    if billing == "provisioned" and capacity is None:
        problems.append(Problem(("capacity",), "provisioned billing needs capacity (readMin, "
                                               "readMax, writeMin, writeMax)"))
    if billing == "on-demand" and capacity is not None:
        problems.append(Problem(("capacity",), "applies only to provisioned billing"))
    if capacity is not None:
        for side in ("read", "write"):
            low, high = capacity[f"{side}_min"], capacity[f"{side}_max"]  # type: ignore[literal-required]
            problems += check_range(("capacity", f"{side}_min"), low, 1, 40000, f"{side}Min")
            if high < low:
                problems.append(Problem(("capacity", f"{side}_max"),
                                        f"{side}Max must be at least {side}Min ({low}), got "
                                        f"{high}"))
        problems += check_range(("capacity", "target_utilisation"),
                                capacity.get("target_utilisation", 70), 20, 90,
                                "targetUtilisation")

    if "stream_view_type" in spec:
        problems += check_choice(("stream_view_type",), spec["stream_view_type"],
                                 STREAM_VIEW_TYPES)

    # One type per attribute across the table and its indexes.
    types: dict[str, tuple[str, tuple[str, ...]]] = {}

    def declare(path: tuple[str, ...], key: KeySpec) -> None:
        name, kind = key.get("name", ""), key.get("type", "")
        if name in types and types[name][0] != kind:
            problems.append(Problem((*path, "type"),
                                    f"attribute '{name}' is already declared as "
                                    f"{types[name][0]} (at {config_path(types[name][1])}); "
                                    "an attribute has one type"))
        types.setdefault(name, (kind, path))

    declare(("partition_key",), spec["partition_key"])
    if "sort_key" in spec:
        declare(("sort_key",), spec["sort_key"])

    table_keys = (spec["partition_key"].get("name"), spec.get("sort_key", {}).get("name"))
    seen_lower: dict[str, str] = {}
    seen_keys: dict[tuple[str | None, str | None], str] = {}
    for index_name, index in spec.get("global_secondary_indexes", {}).items():
        path = ("global_secondary_indexes", index_name)
        if not _index_name_ok(index_name):
            problems.append(Problem(path, f"index name '{index_name}' must be 3-255 letters, "
                                          "digits, '_', '-' or '.'"))
        clash = seen_lower.get(index_name.lower())
        if clash is not None:
            problems.append(Problem(path, f"index name '{index_name}' clashes with "
                                          f"'{clash}'; index names must differ by more "
                                          "than case"))
        seen_lower.setdefault(index_name.lower(), index_name)
        problems += _check_key((*path, "partition_key"), index["partition_key"])
        declare((*path, "partition_key"), index["partition_key"])
        if "sort_key" in index:
            problems += _check_key((*path, "sort_key"), index["sort_key"])
            declare((*path, "sort_key"), index["sort_key"])
        keys = (index["partition_key"].get("name"), index.get("sort_key", {}).get("name"))
        if keys == table_keys:
            problems.append(Problem(path, "has the same keys as the table; query the table "
                                          "instead"))
        elif keys in seen_keys:
            problems.append(Problem(path, f"has the same keys as index '{seen_keys[keys]}'"))
        seen_keys.setdefault(keys, index_name)
        projection = index.get("projection", "ALL")
        problems += check_choice((*path, "projection"), projection, PROJECTIONS)
        if (projection == "INCLUDE") != bool(index.get("non_key_attributes")):
            problems.append(Problem((*path, "non_key_attributes"),
                                    "nonKeyAttributes is required with projection INCLUDE "
                                    "and allowed only with it"))
    return problems


def _check_args(args: TableArgs) -> list[Problem]:
    problems = check_table(args)
    if args.get("customer_key", True) and args.get("kms_key_arn") is None:
        problems.append(Problem(("kms_key_arn",), "customerKey needs the platform KMS key ARN"))
    return problems


def table_grant(table_arn: pulumi.Input[str], access: str) -> GrantSpec:
    """Access to a table and its indexes for a workload (``read``, ``write``, ``read_write``)."""
    return GrantSpec(kind="table", arn=table_arn, access=access)


class Table(pulumi.ComponentResource):
    """A DynamoDB table with PITR, KMS encryption, deletion protection and autoscaling."""

    table_name: pulumi.Output[str]
    """Physical table name (the component name)."""
    table_arn: pulumi.Output[str]
    """Table ARN, built from known parts so grants are known at preview."""
    stream_arn: pulumi.Output[str]
    """Stream ARN when ``stream_view_type`` is set, else empty."""

    def __init__(self, name: str, args: TableArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("Table"), name, None, opts)
        raise_for("Table", name, _check_args(args))

        billing = args.get("billing", "on-demand")
        capacity = args.get("capacity")
        indexes = args.get("global_secondary_indexes", {})
        tags = pulumi.Output.from_input(args.get("tags") or {}).apply(
            lambda t: merge_tags(t, {"Name": name}))

        attributes: dict[str, str] = {}
        keys = [args["partition_key"], args.get("sort_key")]
        for index in indexes.values():
            keys += [index["partition_key"], index.get("sort_key")]
        for key in keys:
            if key is not None:
                attributes.setdefault(key["name"], key["type"])

        def capacity_args(kind: str) -> int | None:
            return capacity[f"{kind}_min"] if capacity else None  # type: ignore[literal-required]

        gsis = [
            aws.dynamodb.TableGlobalSecondaryIndexArgs(
                name=index_name,
                key_schemas=[
                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                        attribute_name=key["name"], key_type=key_type)
                    for key, key_type in ((index["partition_key"], "HASH"),
                                          (index.get("sort_key"), "RANGE"))
                    if key is not None],
                projection_type=index.get("projection", "ALL"),
                non_key_attributes=index.get("non_key_attributes"),
                read_capacity=capacity_args("read"),
                write_capacity=capacity_args("write"))
            for index_name, index in sorted(indexes.items())]

        customer_key = args.get("customer_key", True)
        stream_view = args.get("stream_view_type")
        table = aws.dynamodb.Table(
            f"{name}-table",
            aws.dynamodb.TableArgs(
                name=name,
                billing_mode=_BILLING[billing],
                hash_key=args["partition_key"]["name"],
                range_key=args["sort_key"]["name"] if "sort_key" in args else None,
                attributes=[aws.dynamodb.TableAttributeArgs(name=n, type=t)
                            for n, t in sorted(attributes.items())],
                global_secondary_indexes=gsis or None,
                read_capacity=capacity_args("read"),
                write_capacity=capacity_args("write"),
                point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
                server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                    enabled=True, kms_key_arn=args["kms_key_arn"])
                if customer_key else None,
                deletion_protection_enabled=args.get("deletion_protection", True),
                ttl=aws.dynamodb.TableTtlArgs(attribute_name=args["ttl_attribute"],
                                              enabled=True)
                if "ttl_attribute" in args else None,
                stream_enabled=stream_view is not None,
                stream_view_type=stream_view,
                tags=tags),
            opts=child_opts(self, protect=args.get("protect", False),
                            # Autoscaling owns the capacity once the table exists.
                            ignore_changes=["readCapacity", "writeCapacity"] if capacity
                            else None))

        if capacity is not None:
            self._autoscale(name, f"table/{name}", "table", capacity, table)
            for index_name in sorted(indexes):
                self._autoscale(f"{name}-{index_name}", f"table/{name}/index/{index_name}",
                                "index", capacity, table)

        region = aws.get_region_output(opts=invoke_opts(self)).region
        account = aws.get_caller_identity_output(
            opts=invoke_opts(self)).account_id
        self.table_name = table.name
        self.table_arn = pulumi.Output.concat("arn:aws:dynamodb:", region, ":", account,
                                              ":table/", name)
        self.stream_arn = table.stream_arn if stream_view else pulumi.Output.from_input("")
        self.register_outputs({"table_name": self.table_name, "table_arn": self.table_arn,
                               "stream_arn": self.stream_arn})

    def _autoscale(self, prefix: str, resource_id: str, dimension: str,
                   capacity: CapacitySpec, table: aws.dynamodb.Table) -> None:
        target_value = float(capacity.get("target_utilisation", 70))
        for side, unit in (("read", "Read"), ("write", "Write")):
            target = aws.appautoscaling.Target(
                f"{prefix}-{side}-target",
                aws.appautoscaling.TargetArgs(
                    service_namespace="dynamodb",
                    resource_id=resource_id,
                    scalable_dimension=f"dynamodb:{dimension}:{unit}CapacityUnits",
                    min_capacity=capacity[f"{side}_min"],  # type: ignore[literal-required]
                    max_capacity=capacity[f"{side}_max"]),  # type: ignore[literal-required]
                opts=child_opts(self, depends_on=[table]))
            aws.appautoscaling.Policy(
                f"{prefix}-{side}-policy",
                aws.appautoscaling.PolicyArgs(
                    policy_type="TargetTrackingScaling",
                    service_namespace=target.service_namespace,
                    resource_id=target.resource_id,
                    scalable_dimension=target.scalable_dimension,
                    target_tracking_scaling_policy_configuration=aws.appautoscaling
                    .PolicyTargetTrackingScalingPolicyConfigurationArgs(
                        target_value=target_value,
                        predefined_metric_specification=aws.appautoscaling
                        .PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                            predefined_metric_type=f"DynamoDB{unit}CapacityUtilization"))),
                opts=child_opts(self))

    def grant(self, access: str) -> GrantSpec:
        """A ``table`` grant on this table (and its indexes) for a workload."""
        return table_grant(self.table_arn, access)
