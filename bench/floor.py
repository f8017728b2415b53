"""The floor: the bare Pulumi SDK running the same program under plain mocks (preview), as a
unit test would, with nothing recorded and no policy pack.

Usage: python floor.py <project> <N> [--fast-exit]   (--fast-exit skips interpreter teardown,
as preflight's command line does, so the two can be compared like for like)"""

import os
import runpy
import sys

import pulumi
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return None, args.inputs

    def call(self, args):
        return {}, []


project = os.path.abspath(sys.argv[1])
n = sys.argv[2]
os.chdir(project)
sys.path.insert(0, project)
set_all_config({"bench:services": n, "aws:region": "us-east-1"}, [])
pulumi.runtime.set_mocks(Mocks(), project="bench", stack="bench", preview=True)
pulumi.runtime.settings.ROOT.set(None)
_sync_await(run_in_stack(lambda: runpy.run_path(project, run_name="__main__")))

if "--fast-exit" in sys.argv:
    sys.stdout.flush()
    os._exit(0)
