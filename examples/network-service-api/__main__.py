"""A small estate composed from the components.

One KMS key encrypts everything; a VPC over two availability zones with a NAT gateway in
each; an ECS cluster; an internet-facing HTTPS load balancer behind a WAF, routing to a
container service; a Lambda function, deployed only as signed code, answering an HTTP API;
a log bucket that receives every other bucket's access logs. Stateful resources are
protected unless the stack sets ``protect: false``.
"""

import pulumi

from components import (
    Api,
    Cluster,
    CodeSigning,
    ContainerService,
    EncryptionKey,
    FunctionService,
    ImageRepository,
    LoadBalancer,
    LogBucket,
    Network,
    key_alias,
)

config = pulumi.Config()
stack = pulumi.get_stack()
tags = {"app": "shop", "environment": stack}
retention = 30
protect = config.get_bool("protect")
protect = True if protect is None else protect

key = EncryptionKey("shop-key", {"description": f"shop {stack}", "protect": protect,
                                 "tags": tags})
# IAM statements name the key by its alias, so they are known before the key exists.
alias = key_alias("shop-key")

# Every other bucket sends its S3 access logs here.
logs = LogBucket("shop-logs", {"source_bucket_prefix": "shop-", "log_retention_days": 90,
                               "protect": protect, "tags": tags})

network = Network("shop-network", {
    "cidr": config.get("vpcCidr") or "10.20.0.0/16",
    "az_count": 2,
    # A NAT gateway per zone: losing one zone leaves the other's tasks their egress.
    "nat_strategy": "per-az",
    "kms_key_arn": key.key_arn,
    "log_retention_days": retention,
    "name_prefix": "shop",
    "tags": tags,
})

cluster = Cluster("shop-cluster", {
    "kms_key_arn": key.key_arn,
    "log_retention_days": retention,
    "name_prefix": "shop",
    "tags": tags,
})

public = LoadBalancer("shop-public", {
    "certificate_arn": config.require("certificateArn"),
    "internal": False,
    "deletion_protection": True,
    "waf": True,
    "log_bucket": logs.bucket_name,
    "protect": protect,
    "vpc_id": network.vpc_id,
    "vpc_cidr": network.vpc_cidr,
    "subnet_ids": network.public_subnet_ids,
    "kms_key_arn": key.key_arn,
    "log_retention_days": retention,
    "tags": tags,
})

images = ImageRepository("shop-web-images", {
    "repository_name": "shop-web",
    "kms_key_arn": key.key_arn,
    "protect": protect,
    "tags": tags,
})

web = ContainerService("shop-web", {
    "key": "web",
    "repository_url": images.repository_url,
    "repository_arn": images.repository_arn,
    "image_tag": config.get("webImageTag") or "bootstrap",
    "paths": ["/", "/*"],
    "priority": 49000,
    "cluster_arn": cluster.cluster_arn,
    "cluster_name": cluster.cluster_name,
    "vpc_id": network.vpc_id,
    "subnet_ids": network.private_subnet_ids,
    "listener_arn": public.https_listener_arn,
    "load_balancer_security_group_id": public.security_group_id,
    "load_balancer_arn_suffix": public.arn_suffix,
    "kms_key_arn": key.key_arn,
    "kms_key_alias": alias,
    "log_retention_days": retention,
    "tags": tags,
})

# Lambda deploys the function only as a package signed by this profile.
signing = CodeSigning("shop-signing", {"kms_key_arn": key.key_arn, "log_bucket": logs.bucket_name,
                                       "protect": protect, "tags": tags})

orders = FunctionService("shop-orders", {
    "source": "./functions/orders",
    "runtime": "python3.12",
    "handler": "handler.handle",
    "memory_mb": 256,
    "timeout_seconds": 10,
    "reserved_concurrency": 20,
    "function_name": "shop-orders",
    "code_signing": signing.ref(),
    "kms_key_arn": key.key_arn,
    "kms_key_alias": alias,
    "log_retention_days": retention,
    "tags": tags,
})

api = Api("shop-api", {
    "api_name": "shop-api",
    "routes": {
        "GET /orders": {"function": "orders", "authorization": "iam"},
    },
    "throttle": {"rate_limit": 50, "burst_limit": 100},
    "function_invoke_arns": {"orders": orders.invoke_arn},
    "function_names": {"orders": orders.function_name},
    "function_timeouts": {"orders": 10},
    "kms_key_arn": key.key_arn,
    "log_retention_days": retention,
    "tags": tags,
})

pulumi.export("url", public.dns_name.apply(lambda dns: f"https://{dns}"))
pulumi.export("apiEndpoint", api.api_endpoint)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("webRepositoryUrl", images.repository_url)
