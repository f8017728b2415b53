"""ImageRepository under recording mocks: scanning, immutability, encryption, lifecycle and
who may push."""

import json

import pytest

from components.image_repository import (
    ImageRepository,
    ImageRepositoryArgs,
    check_image_repository,
)
from components.validation import ArgsError, config_path
from preflight.capture import UNKNOWN, Capture, capture

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CI = "arn:aws:iam::123456789012:role/delivery-orders"
RELEASE = "arn:aws:iam::123456789012:role/release"

REPO_TYPE = "aws:ecr/repository:Repository"
LIFECYCLE_TYPE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
POLICY_TYPE = "aws:ecr/repositoryPolicy:RepositoryPolicy"
COMPONENT_TYPE = "microservices:index:ImageRepository"


def run(args: ImageRepositoryArgs, name: str = "orders", preview: bool = False,
        seen: dict | None = None) -> Capture:
    def program() -> None:
        repo = ImageRepository(name, args)
        if seen is not None:
            repo.repository_url.apply(lambda v: seen.__setitem__("url", v))
            repo.repository_arn.apply(lambda v: seen.__setitem__("arn", v))
    return capture(program, preview=preview)


def test_children_with_pushers():
    cap = run({"kms_key_arn": KEY, "pusher_role_arns": [CI]})
    assert sorted((r.type, r.name) for r in cap.registrations) == sorted([
        (REPO_TYPE, "orders-repo"), (LIFECYCLE_TYPE, "orders-lifecycle"),
        (POLICY_TYPE, "orders-policy"), (COMPONENT_TYPE, "orders")])
    component_urn = cap.named("orders").urn
    assert all(r.parent == component_urn for r in cap.registrations if r.custom)


def test_repository_is_scanned_immutable_and_kms_encrypted():
    repo = run({"kms_key_arn": KEY}).named("orders-repo")
    assert repo.inputs == {
        "name": "orders",
        "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY}],
        "forceDelete": False,
        "tags": {},
    }


def test_explicit_repository_name_and_tags():
    repo = run({"kms_key_arn": KEY, "repository_name": "shop/orders",
                "tags": {"team": "orders"}}).named("orders-repo")
    assert repo.inputs["name"] == "shop/orders"
    assert repo.inputs["tags"] == {"team": "orders"}


def test_lifecycle_expires_untagged_then_keeps_newest():
    cap = run({"kms_key_arn": KEY, "keep_images": 20, "untagged_expiry_days": 3})
    lifecycle = cap.named("orders-lifecycle")
    assert lifecycle.inputs["repository"] == "orders"
    assert json.loads(lifecycle.inputs["policy"]) == {"rules": [
        {"rulePriority": 1, "description": "Expire untagged images after 3 days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                       "countUnit": "days", "countNumber": 3},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": "Keep the newest 20 images",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                       "countNumber": 20},
         "action": {"type": "expire"}},
    ]}


def test_lifecycle_defaults():
    rules = json.loads(run({"kms_key_arn": KEY}).named("orders-lifecycle").inputs["policy"])
    assert [r["selection"]["countNumber"] for r in rules["rules"]] == [7, 50]


def test_push_allowed_to_pushers_and_denied_to_everyone_else():
    policy = run({"kms_key_arn": KEY, "pusher_role_arns": [CI, RELEASE]}).named("orders-policy")
    assert policy.inputs["repository"] == "orders"
    assert json.loads(policy.inputs["policy"]) == {"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowPushers", "Effect": "Allow", "Principal": {"AWS": [CI, RELEASE]},
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:CompleteLayerUpload",
                    "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]},
        {"Sid": "DenyPushExceptPushers", "Effect": "Deny", "Principal": "*",
         "Action": ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage",
                    "ecr:UploadLayerPart"],
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [CI, RELEASE]}}},
    ]}


def test_no_pushers_means_no_repository_policy():
    cap = run({"kms_key_arn": KEY, "pusher_role_arns": []})
    assert cap.of_type(POLICY_TYPE) == []
    assert len(cap.registrations) == 3


def test_push_policy_known_at_preview():
    policy = run({"kms_key_arn": KEY, "pusher_role_arns": [CI]}, preview=True).named(
        "orders-policy")
    assert policy.inputs["policy"] is not UNKNOWN
    assert isinstance(policy.inputs["policy"], str)
    assert json.loads(policy.inputs["policy"])["Statement"][1]["Effect"] == "Deny"


@pytest.mark.parametrize("preview", [True, False])
def test_url_and_arn_are_built_from_known_parts(preview):
    seen: dict = {}
    run({"kms_key_arn": KEY}, preview=preview, seen=seen)
    assert seen == {"url": "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders",
                    "arn": "arn:aws:ecr:us-east-1:123456789012:repository/orders"}


def test_enhanced_scanning_only_records_intent():
    cap = run({"kms_key_arn": KEY, "enhanced_scanning": True, "tags": {"team": "orders"}})
    assert cap.named("orders-repo").inputs["tags"] == {"team": "orders",
                                                       "ScanningIntent": "enhanced"}
    assert len(cap.registrations) == 3


@pytest.mark.parametrize(("spec", "message"), [
    ({"keep_images": 0}, "keepImages: keepImages must be between 1 and 1000 (got 0)"),
    ({"untagged_expiry_days": 400},
     "untaggedExpiryDays: untaggedExpiryDays must be between 1 and 365 (got 400)"),
    ({"repository_name": "Orders"},
     "repositoryName: 'Orders' is not an ECR repository name: use 2-256 lowercase letters "
     "and digits separated by '.', '_', '-' or '/'"),
])
def test_check_messages(spec, message):
    problems = check_image_repository(spec)
    assert [f"{config_path(p.path)}: {p.message}" for p in problems] == [message]


def test_pusher_must_be_a_role_arn():
    with pytest.raises(ArgsError) as err:
        run({"kms_key_arn": KEY,
             "pusher_role_arns": ["arn:aws:iam::123456789012:user/alice",
                                  "arn:aws:iam::123456789012:role/*"]})
    assert str(err.value) == (
        "ImageRepository 'orders': pusherRoleArns[0]: 'arn:aws:iam::123456789012:user/alice' "
        "is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)\n"
        "ImageRepository 'orders': pusherRoleArns[1]: 'arn:aws:iam::123456789012:role/*' "
        "is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")


def test_validation_happens_before_any_child():
    registered: list[str] = []

    def program() -> None:
        ImageRepository("orders", {"kms_key_arn": KEY, "keep_images": 0})

    with pytest.raises(ArgsError):
        capture(program, preview=True, on_register=lambda r: registered.append(r.type))
    assert registered == [COMPONENT_TYPE]
