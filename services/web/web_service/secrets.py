"""Secrets are fetched from Secrets Manager at start, by ARN from the environment; they are
never baked into the image, never logged, and a missing one stops the task from starting."""

from collections.abc import Callable, Mapping


def fetch_secrets(arns: Mapping[str, str],
                  fetch: Callable[[str], str] | None = None) -> dict[str, str]:
    if not arns:
        return {}
    if fetch is None:
        import boto3  # only tasks that use secrets need the AWS SDK

        client = boto3.client("secretsmanager")

        def fetch(arn: str) -> str:
            return str(client.get_secret_value(SecretId=arn)["SecretString"])

    return {name: fetch(arn) for name, arn in arns.items()}
