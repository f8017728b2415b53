"""Image repository: one private ECR repository per service, scanned, immutable, encrypted,
pruned, and writable only by the roles that deliver images.

Push control. When ``pusher_role_arns`` lists roles, the repository policy allows them to
push and explicitly denies the push actions to every other principal (a condition on
``aws:PrincipalArn``, which for an assumed-role session is the role's ARN). An explicit deny
beats any identity policy, so an administrator's broad ``ecr:*`` cannot push either. When the
list is empty no repository policy is created: pushing then needs an identity policy in this
account (a repository without a resource policy is not reachable from other accounts). A
deny-everyone policy was rejected for that case because it would also lock out the pipeline
that is added later, and it cannot be told apart from a forgotten setting.

Enhanced scanning (Amazon Inspector) is a registry-wide setting
(``aws.ecr.RegistryScanningConfiguration``), one per account and region, so a repository
cannot switch it on for itself. ``enhanced_scanning: true`` records the intent on the
repository's tags; the platform that owns the registry configures it once. Basic
scan-on-push is always on.
"""


import json
import re
from typing import NotRequired

import pulumi
import pulumi_aws as aws
from typing_extensions import TypedDict

from .base import child_opts, invoke_opts, type_token
from .validation import ARN_RE, Problem, check_arn, check_range, raise_for

PUSH_ACTIONS = ("ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage",
                "ecr:UploadLayerPart")
"""Actions that write to a repository; denied to everyone but the pushers."""

PUSHER_ACTIONS = ("ecr:BatchCheckLayerAvailability", *PUSH_ACTIONS)
"""What a pusher is allowed: the push actions plus the layer check every push starts with."""

REPOSITORY_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


class ImageRepositorySpec(TypedDict):
    """What a stack file may say about a service's image repository."""

    repository_name: NotRequired[str]
    """ECR repository name (default: the component name); lowercase, 2-256 characters."""
    enhanced_scanning: NotRequired[bool]
    """Ask for Amazon Inspector enhanced scanning (default false). Registry-wide: this only
    tags the repository; the registry scanning configuration is set once per account."""
    keep_images: NotRequired[int]
    """How many images to keep, newest first (default 50, 1-1000); older ones expire."""
    untagged_expiry_days: NotRequired[int]
    """Days after which untagged images expire (default 7, 1-365)."""


class ImageRepositoryArgs(ImageRepositorySpec):
    """An image repository's settings plus its wiring."""

    kms_key_arn: pulumi.Input[str]
    """Customer-managed KMS key that encrypts the images."""
    pusher_role_arns: NotRequired[list[pulumi.Input[str]]]
    """IAM roles allowed to push (e.g. the delivery pipeline); everyone else is denied.
    Empty or absent: no repository policy (push only through identity policies)."""
    protect: NotRequired[bool]
    """Protect the repository (and retain it on delete): images are the only copy of what
    runs (the Platform sets it from the tier)."""
    tags: NotRequired[pulumi.Input[dict[str, str]]]
    """Tags for the repository."""


def check_image_repository(spec: ImageRepositorySpec) -> list[Problem]:
    problems: list[Problem] = []
    name = spec.get("repository_name")
    if name is not None and not (2 <= len(name) <= 256 and REPOSITORY_NAME_RE.match(name)):
        problems.append(Problem(("repository_name",),
                                f"'{name}' is not an ECR repository name: use 2-256 lowercase "
                                "letters and digits separated by '.', '_', '-' or '/'"))
    problems += check_range(("keep_images",), spec.get("keep_images", 50), 1, 1000,
                            "keepImages")
    problems += check_range(("untagged_expiry_days",), spec.get("untagged_expiry_days", 7),
                            1, 365, "untaggedExpiryDays")
    return problems


def check_image_repository_args(args: ImageRepositoryArgs) -> list[Problem]:
    problems = check_image_repository(args)
    key_arn = args["kms_key_arn"]
    if isinstance(key_arn, str):
        problems += check_arn(("kms_key_arn",), key_arn, "kms", "a KMS key")
    for i, arn in enumerate(args.get("pusher_role_arns", [])):
        if isinstance(arn, str) and not (ARN_RE.match(arn) and ":iam::" in arn
                                         and ":role/" in arn and "*" not in arn):
            problems.append(Problem(("pusher_role_arns", i),
                                    f"'{arn}' is not an IAM role ARN "
                                    "(arn:aws:iam::<account>:role/<name>)"))
    return problems


def lifecycle_policy(keep_images: int, untagged_expiry_days: int) -> str:
    """Expire untagged images after N days; keep only the newest ``keep_images`` images."""
    return json.dumps({"rules": [
        {"rulePriority": 1,
         "description": f"Expire untagged images after {untagged_expiry_days} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": untagged_expiry_days},
         "action": {"type": "expire"}},
        # tagStatus "any" must be the rule with the highest priority number.
        {"rulePriority": 2,
         "description": f"Keep the newest {keep_images} images",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                       "countNumber": keep_images},
         "action": {"type": "expire"}},
    ]})


def push_policy(pusher_role_arns: list[pulumi.Input[str]]) -> pulumi.Output[str]:
    """Allow the pushers to push; deny pushing to every other principal."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowPushers", "Effect": "Allow",
         "Principal": {"AWS": list(pusher_role_arns)},
         "Action": sorted(PUSHER_ACTIONS)},
        {"Sid": "DenyPushExceptPushers", "Effect": "Deny", "Principal": "*",
         "Action": sorted(PUSH_ACTIONS),
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": list(pusher_role_arns)}}},
    ]})


class ImageRepository(pulumi.ComponentResource):
    """A private ECR repository: scan on push, immutable tags, KMS encryption, a lifecycle
    policy and (when pushers are given) a push-only-by-these-roles repository policy."""

    repository_url: pulumi.Output[str]
    """``<account>.dkr.ecr.<region>.amazonaws.com/<name>``, known at preview."""
    repository_arn: pulumi.Output[str]
    """``arn:aws:ecr:<region>:<account>:repository/<name>``, known at preview."""
    repository_name: pulumi.Output[str]
    """The repository's name."""

    def __init__(self, name: str, args: ImageRepositoryArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_token("ImageRepository"), name, None, opts)
        raise_for("ImageRepository", name, check_image_repository_args(args))

        repo_name = args.get("repository_name", name)
        keep_images = args.get("keep_images", 50)
        untagged_days = args.get("untagged_expiry_days", 7)
        pushers = list(args.get("pusher_role_arns", []))
        tags: pulumi.Input[dict[str, str]] = args.get("tags") or {}
        if args.get("enhanced_scanning", False):
            tags = pulumi.Output.from_input(tags).apply(
                lambda t: {**t, "ScanningIntent": "enhanced"})

        repo = aws.ecr.Repository(
            f"{name}-repo",
            aws.ecr.RepositoryArgs(
                name=repo_name,
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=args["kms_key_arn"])],
                force_delete=False,
                tags=tags,
            ),
            opts=child_opts(self, protect=args.get("protect", False)))

        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            aws.ecr.LifecyclePolicyArgs(repository=repo.name,
                                        policy=lifecycle_policy(keep_images, untagged_days)),
            opts=child_opts(self))

        if pushers:
            aws.ecr.RepositoryPolicy(
                f"{name}-policy",
                aws.ecr.RepositoryPolicyArgs(repository=repo.name, policy=push_policy(pushers)),
                opts=child_opts(self))

        # Built from known parts (the name is an input) rather than read from the provider,
        # so the execution role's policy that scopes to this ARN is known at preview.
        identity = aws.get_caller_identity_output(opts=invoke_opts(self))
        region = aws.get_region_output(opts=invoke_opts(self))
        self.repository_name = repo.name
        self.repository_arn = pulumi.Output.concat(
            "arn:aws:ecr:", region.region, ":", identity.account_id, ":repository/", repo.name)
        self.repository_url = pulumi.Output.concat(
            identity.account_id, ".dkr.ecr.", region.region, ".amazonaws.com/", repo.name)
        self.register_outputs({"repository_url": self.repository_url,
                               "repository_arn": self.repository_arn,
                               "repository_name": self.repository_name})
