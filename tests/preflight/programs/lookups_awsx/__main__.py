"""A service in an existing VPC found by look-ups, with an awsx load balancer and service: the
data sources answered offline, the awsx components reported as not expanded."""

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

zones = aws.get_availability_zones(state="available")
vpc = aws.ec2.get_vpc(tags={"Name": "shared"})  # answered by preflight.invokes.yaml
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
ami = aws.ec2.get_ami(most_recent=True, owners=["amazon"],
                      filters=[{"name": "name", "values": ["al2023-ami-*-x86_64"]}])
zone = aws.route53.get_zone(name="example.com")
image_tag = aws.ssm.get_parameter(name="/orders/image-tag")
# No stand-in answer and none in the invokes file: reported as unanswered.
peering = aws.ec2.get_vpc_peering_connections(filters=[{"name": "status-code",
                                                         "values": ["active"]}])

group = aws.ec2.SecurityGroup("orders", vpc_id=vpc.id, description="orders service",
                              egress=[{"description": "HTTPS to the VPC", "protocol": "tcp",
                                       "from_port": 443, "to_port": 443,
                                       "cidr_blocks": [vpc.cidr_block]}])
lb = awsx.lb.ApplicationLoadBalancer("edge", subnet_ids=subnets.ids)
cluster = aws.ecs.Cluster("apps", settings=[{"name": "containerInsights", "value": "enabled"}])
awsx.ecs.FargateService("orders", cluster=cluster.arn,
                        network_configuration={"subnets": subnets.ids,
                                               "security_groups": [group.id]},
                        task_definition_args={"container": {
                            "name": "orders", "essential": True, "cpu": 256, "memory": 512,
                            "image": f"public.ecr.aws/orders/app:{image_tag.value}"}})
pulumi.export("zones", zones.names)
pulumi.export("subnets", subnets.ids)
pulumi.export("ami", ami.id)
pulumi.export("zone", zone.zone_id)
pulumi.export("peerings", peering.ids)
