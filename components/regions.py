"""AWS regions the platform deploys to: partition and availability zones.

Zone counts are those every account can use (``us-west-1`` and ``ap-northeast-1`` have a
zone new accounts cannot). Zone *letters* map to physical zones per account, so only the
letters a region offers are checked, not which physical zone they are. A region missing
here is refused by the stack validation until it is added: its zone count is needed to
check ``network.azCount``.
"""


import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    name: str
    zone_letters: str
    """The letters of the zones every account can use, e.g. ``abc``."""

    @property
    def zones(self) -> list[str]:
        return [f"{self.name}{letter}" for letter in self.zone_letters]

    @property
    def partition(self) -> str:
        return partition_of(self.name)


REGION_RE = re.compile(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d")
"""The shape of a region name (``eu-west-1``); matched in full, never with ``$``, which
would let a trailing newline through."""

_ZONES = {
    "us-east-1": "abcdef", "us-east-2": "abc", "us-west-1": "ac", "us-west-2": "abcd",
    "af-south-1": "abc", "ap-east-1": "abc", "ap-east-2": "abc", "ap-south-1": "abc",
    "ap-south-2": "abc", "ap-southeast-1": "abc", "ap-southeast-2": "abc",
    "ap-southeast-3": "abc", "ap-southeast-4": "abc", "ap-southeast-5": "abc",
    "ap-southeast-7": "abc", "ap-northeast-1": "acd", "ap-northeast-2": "abcd",
    "ap-northeast-3": "abc", "ca-central-1": "abd", "ca-west-1": "abc",
    "eu-central-1": "abc", "eu-central-2": "abc", "eu-west-1": "abc", "eu-west-2": "abc",
    "eu-west-3": "abc", "eu-south-1": "abc", "eu-south-2": "abc", "eu-north-1": "abc",
    "il-central-1": "abc", "me-south-1": "abc", "me-central-1": "abc", "mx-central-1": "abc",
    "sa-east-1": "abc", "us-gov-west-1": "abc", "us-gov-east-1": "abc",
    "cn-north-1": "abc", "cn-northwest-1": "abc",
}
REGIONS: dict[str, Region] = {name: Region(name, letters) for name, letters in _ZONES.items()}


def partition_of(region: str) -> str:
    """``aws``, ``aws-cn`` or ``aws-us-gov``: the partition an ARN of the region names."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
