"""Least-privilege IAM built from other resources' outputs: every document is unknown at a
first preview and concrete once the table, queue and bucket exist."""

import pulumi
import pulumi_aws as aws

table = aws.dynamodb.Table("orders", hash_key="id", billing_mode="PAY_PER_REQUEST",
                           attributes=[{"name": "id", "type": "S"}])
queue = aws.sqs.Queue("events")
bucket = aws.s3.Bucket("exports")
role = aws.iam.Role("worker", assume_role_policy=aws.iam.get_policy_document(statements=[{
    "actions": ["sts:AssumeRole"],
    "principals": [{"type": "Service", "identifiers": ["ecs-tasks.amazonaws.com"]}],
    "conditions": [{"test": "StringEquals", "variable": "aws:SourceAccount",
                    "values": [aws.get_caller_identity().account_id]}]}]).json)
aws.iam.RolePolicy("worker-data", role=role.id, policy=pulumi.Output.json_dumps({
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": [table.arn, pulumi.Output.concat(table.arn, "/index/*")]},
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": queue.arn},
    ]}))
aws.iam.RolePolicy("worker-exports", role=role.id,
                   policy=aws.iam.get_policy_document_output(statements=[{
                       "actions": ["s3:PutObject"],
                       "resources": [bucket.arn.apply(lambda arn: f"{arn}/*")]}]).json)
if pulumi.Config().get_bool("broad"):
    # The same grant, but every action on the table: wrong in any pass.
    aws.iam.RolePolicy("worker-broad", role=role.id, policy=pulumi.Output.json_dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": table.arn}]}))
