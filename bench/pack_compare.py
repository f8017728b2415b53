"""Time two policy packs on the platform's own stacks: each stack's program runs once (under
preflight's mocks), then the same resources go to both packs over gRPC, interleaved, and
the median seconds of a full pass (Configure, every Analyze, AnalyzeStack) are printed.

    python bench/pack_compare.py <pack dir A> [<pack dir B>] [--runs 7]

B defaults to this repository's ``policies``. To compare with main's pack:
``git archive main policies | tar -x -C /tmp/main-pack`` and pass ``/tmp/main-pack/policies``.
Each pack runs as the CLI runs it (``python -u <pack dir> <engine address>``) with this
repository on ``PYTHONPATH``, so packs that still import the components run too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "policies"))

from analyzer_client import Engine, stack_config  # noqa: E402
from corpus_harness import analyze  # noqa: E402

from preflight.program import run_program  # noqa: E402
from preflight.project import load_project, load_stack_config  # noqa: E402

STACKS = ("dev", "staging", "prod")


def start(pack: Path) -> tuple[subprocess.Popen[str], Engine]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-u", str(pack), "127.0.0.1:1"], cwd=pack,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    assert proc.stdout is not None
    return proc, Engine(f"127.0.0.1:{proc.stdout.readline().strip()}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("packs", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    packs = [p.resolve() for p in args.packs]
    if len(packs) == 1:
        packs.append(ROOT / "policies")
    project = load_project(ROOT)
    stacks = {env: run_program(project, env, load_stack_config(project, env)).registrations
              for env in STACKS}
    servers = [start(p) for p in packs]
    times: dict[tuple[int, str], list[float]] = {(i, e): [] for i in range(2) for e in STACKS}
    try:
        for _ in range(args.runs):
            for env, registrations in stacks.items():
                for i, (_, engine) in enumerate(servers):
                    engine.configure(stack_config(env))
                    start_at = time.perf_counter()
                    analyze(engine.stub, registrations)
                    times[(i, env)].append(time.perf_counter() - start_at)
    finally:
        for proc, engine in servers:
            engine.close()
            proc.terminate()
    print(f"A: {packs[0]}\nB: {packs[1]}\nmedian of {args.runs} passes, seconds")
    for env in STACKS:
        a, b = (statistics.median(times[(i, env)]) for i in range(2))
        print(f"{env:8} {len(stacks[env]):4} resources  A {a:.3f}  B {b:.3f}  B/A {b / a:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
