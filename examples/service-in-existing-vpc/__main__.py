"""Add one HTTP service to infrastructure that already exists.

The VPC, its private subnets, the ECS cluster, the HTTPS load balancer and the KMS key
belong to someone else (another stack, another team, the console); this program only
adds the service: its image repository, task definition, roles, security group, target
group, listener rule, ECS service and autoscaling. The repository is protected unless the
stack sets ``protect: false``.
"""

import pulumi

from components import ContainerService, ContainerServiceArgs, ImageRepository

config = pulumi.Config()
subnet_ids: list[str] = config.require_object("privateSubnetIds")
cluster_arn = config.require("clusterArn")
listener_arn = config.require("listenerArn")
kms_key_arn = config.require("kmsKeyArn")
host = config.get("host") or None
protect = config.get_bool("protect")
protect = True if protect is None else protect

# ARNs carry the names the service needs: arn:...:cluster/<name> and
# arn:...:listener/app/<lb name>/<lb id>/<listener id> -> app/<lb name>/<lb id>.
cluster_name = cluster_arn.split(":cluster/")[-1]
load_balancer_arn_suffix = "/".join(listener_arn.split(":listener/")[-1].split("/")[:3])

images = ImageRepository("orders-images", {
    "repository_name": "orders",
    "kms_key_arn": kms_key_arn,
    "keep_images": 30,
    "protect": protect,
})

args: ContainerServiceArgs = {
    "cpu": 512,
    "memory": 1024,
    "port": 8080,
    "desired_count": len(subnet_ids),
    "max_count": 4 * len(subnet_ids),
    "image_tag": config.get("imageTag") or "bootstrap",
    "paths": ["/orders", "/orders/*"],
    "environment": {"LOG_LEVEL": "info"},
    # Wiring to what already exists.
    "cluster_arn": cluster_arn,
    "cluster_name": cluster_name,
    "vpc_id": config.require("vpcId"),
    "subnet_ids": subnet_ids,
    "az_count": len(subnet_ids),
    "require_task_per_az": True,
    "listener_arn": listener_arn,
    "load_balancer_security_group_id": config.require("loadBalancerSecurityGroupId"),
    "load_balancer_arn_suffix": load_balancer_arn_suffix,
    "repository_url": images.repository_url,
    "repository_arn": images.repository_arn,
    "kms_key_arn": kms_key_arn,
    "log_retention_days": 30,
    "tags": {"team": "orders"},
}
if host:
    args["host"] = host
orders = ContainerService("orders", args)

pulumi.export("serviceName", orders.service_name)
pulumi.export("repositoryUrl", images.repository_url)
pulumi.export("targetGroupArn", orders.target_group_arn)
pulumi.export("logGroup", orders.log_group_name)
