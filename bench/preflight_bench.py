"""Benchmark preflight against the bare Pulumi SDK floor and (optionally) the CDK peer.

Generates a temporary Pulumi project with the estate in ``estate_program.py`` for each N,
then times fresh processes, interleaved, and prints medians:

- ``preflight``: ``python -m preflight bench --timings`` (program + policy pack + report,
  with the AZ-loss, cost and diagram insights; ``no-insights`` the same with --no-insights);
- ``floor``: ``floor.py``, the same program under plain SDK mocks, no pack, nothing recorded;
- ``peer``: /work/shared/peers/cdk/app.py with cdk-nag, ``CDK_VALIDATION=false`` (its fastest
  setting) and CDK defaults, when ``--peer-venv`` points at a venv with aws-cdk-lib + cdk-nag;
- ``baseline``: with ``--baseline REF``, preflight (and its pack) as of git ref REF, extracted
  with ``git archive``, to measure what a change costs in the same run;
- ``off:<lever>``: with ``--levers``, preflight with one of its runtime levers switched off
  (``PREFLIGHT_DISABLE``, :mod:`preflight.runtime`), and ``off:all`` with every one off.

Ratios against the peer, the baseline and the levers are taken per round (the two processes
ran back to back, under the same load), then the median and range over rounds is printed:
on a shared machine they are the figures to read, not the medians' ratio.

Both sides run compiled: the repository's packages are byte-compiled first, as an installed
wheel has them, and as the peer's libraries are (a machine that sets
``PYTHONDONTWRITEBYTECODE`` would otherwise leave an editable checkout compiling each of its
modules on every run, in the main process and in the pack).

Peak memory: the largest single process (``ru_maxrss`` from ``wait4``, what GNU time
reports) and the process tree's summed RSS sampled every 20 ms.

Usage::

    python bench/preflight_bench.py [--n 1 10 50 100] [--runs 5] [--pack fixture|real|DIR]
                                    [--peer-venv /tmp/cdk-peer] [--peer-n 1 10 50]
                                    [--baseline REF] [--levers] [--skip floor no-insights]
    python bench/preflight_bench.py --multi-stack [--runs 5] [--stacks dev staging prod]
    python bench/preflight_bench.py --multi-stack --estate 50 [--peer-venv /tmp/cdk-peer]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER = Path("/work/shared/peers/cdk/app.py")


def compile_sources(root: Path) -> None:
    """Byte-compile ``root``'s packages, as installing a wheel does."""
    import compileall

    for package in ("preflight", "policies", "components"):
        if (root / package).is_dir():
            compileall.compile_dir(str(root / package), quiet=1)


def make_project(base: Path, n: int) -> Path:
    project = base / f"estate-{n}"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(HERE / "estate_program.py", project / "__main__.py")
    (project / "Pulumi.yaml").write_text("name: bench\nruntime: python\nstackConfigDir: stacks\n")
    (project / "stacks" / "Pulumi.bench.yaml").write_text(
        f"config:\n  services: {n}\n  aws:region: us-east-1\n")
    return project


def extract(ref: str, dest: Path) -> Path:
    """The repository as of ``ref`` (``git archive``), to run its preflight."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def _tree_rss(root: int) -> int:
    """Summed RSS (KiB) of ``root`` and its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    peak_tree = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.wait(0.02):
            peak_tree = max(peak_tree, _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stderr is not None
    err_chunks = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    reader.join()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    # CPU seconds of the process and the children it reaped (the policy pack): what a run
    # costs, whatever else the machine is doing.
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": usage.ru_maxrss / 1024, "tree": peak_tree / 1024,
            "code": proc.returncode, "stderr": b"".join(err_chunks).decode()}


def phases(stderr: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r"^\s+(\S[\w ]*?)\s+([\d.]+)", stderr, re.M)}


def resources(project: Path, pack: Path, env: dict[str, str]) -> int:
    out = subprocess.run([sys.executable, "-m", "preflight", "bench", "--policy-pack", str(pack),
                          "--format", "json"], cwd=project, env=env, capture_output=True,
                         text=True, check=False)
    import json

    data = json.loads(out.stdout)
    return data["summary"]["resources"]


def multi_stack(stacks: list[str], runs: int, estate: int | None = None,
                peer_venv: str | None = None) -> int:
    """Several stacks in one invocation, against the first stack alone and against one
    invocation per stack (one after another, as CI ran them), in interleaved rounds: this
    repository's stacks, or with ``estate`` three stacks of the estate at that N (the
    project's pack), then also against three runs of the peer's fastest setting."""
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    base = [sys.executable, "-m", "preflight"]
    cwd = ROOT
    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as tmp:
        if estate is not None:
            cwd = make_project(Path(tmp), estate)
            config = (cwd / "stacks" / "Pulumi.bench.yaml").read_text()
            stacks = [f"estate{i}" for i in (1, 2, 3)]
            for stack in stacks:
                (cwd / "stacks" / f"Pulumi.{stack}.yaml").write_text(config)
            base = [*base, "--policy-pack", str(ROOT / "policies")]
        jobs = {"one stack": [[*base, stacks[0]]], "batch": [base + stacks],
                "separate": [[*base, stack] for stack in stacks]}
        if estate is not None and peer_venv:
            jobs["peer x3"] = [[str(Path(peer_venv) / "bin" / "python"), str(PEER), str(estate)]
                               for _ in stacks]
        samples: dict[str, list[dict]] = {name: [] for name in jobs}
        for run in range(runs):
            for name, cmds in jobs.items():
                job_env = dict(env)
                if name.startswith("peer"):
                    job_env.update(NAG="1", CDK_VALIDATION="false",
                                   CDK_OUTDIR_BENCH=str(Path(tmp) / f"cdk-{run}"))
                results = [timed(cmd, job_env, cwd) for cmd in cmds]
                for result in results:
                    if result["code"] not in (0, 1):
                        print(result["stderr"], file=sys.stderr)
                        return 2
                samples[name].append({"wall": sum(r["wall"] for r in results),
                                      "cpu": sum(r["cpu"] for r in results),
                                      "tree": max(r["tree"] for r in results)})
            print(f"run {run + 1}/{runs} done", file=sys.stderr)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    what = f"estate N={estate} x 3" if estate is not None else " ".join(stacks)
    print(f"\nstacks: {what}  runs: {runs}  usable cores: {cores}  load average "
          f"now: {os.getloadavg()[0]:.2f}")
    print(f"{'':>10} {'wall s':>8} {'CPU s':>8} {'tree MiB':>9}   (median)")
    for name in jobs:
        print(f"{name:>10} " + " ".join(
            f"{statistics.median(s[k] for s in samples[name]):>8.2f}"
            for k in ("wall", "cpu")) +
            f" {statistics.median(s['tree'] for s in samples[name]):>9.0f}")
    for other in [name for name in jobs if name != "batch"]:
        ratios = [b["wall"] / o["wall"] for b, o in zip(samples["batch"], samples[other],
                                                           strict=True)]
        print(f"batch / {other}, per round: " + " ".join(f"{r:.2f}" for r in ratios) +
              f"  median {statistics.median(ratios):.2f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1, 10, 50, 100])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pack", default="fixture",
                    help="fixture (bench/pack), real (<repo>/policies) or a directory")
    ap.add_argument("--peer-venv", help="venv with aws-cdk-lib and cdk-nag")
    ap.add_argument("--peer-n", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--baseline", metavar="REF",
                    help="also time preflight as of this git ref (e.g. main)")
    ap.add_argument("--levers", action="store_true",
                    help="also time preflight with each runtime lever switched off")
    ap.add_argument("--skip", nargs="+", default=[], choices=["floor", "no-insights"],
                    help="jobs not to run (to keep a long run short)")
    ap.add_argument("--multi-stack", action="store_true",
                    help="time this repository's stacks in one invocation instead (against "
                         "one stack alone and one invocation per stack)")
    ap.add_argument("--stacks", nargs="+", default=["dev", "staging", "prod"])
    ap.add_argument("--estate", type=int, metavar="N",
                    help="with --multi-stack: three stacks of the estate at N instead")
    args = ap.parse_args()
    compile_sources(ROOT)
    if args.multi_stack:
        return multi_stack(args.stacks, args.runs, args.estate, args.peer_venv)
    from preflight.runtime import LEVERS
    pack = {"fixture": HERE / "pack", "real": ROOT / "policies"}.get(args.pack, Path(args.pack))
    if not (pack / "__main__.py").is_file():
        print(f"no policy pack at {pack}", file=sys.stderr)
        return 2
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    python = sys.executable
    rows = []
    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as tmp:
        base = Path(tmp)
        projects = {n: make_project(base, n) for n in args.n}
        baseline = extract(args.baseline, base / "baseline") if args.baseline else None
        if baseline is not None:
            compile_sources(baseline)
        base_pack = (baseline / pack.relative_to(ROOT)
                     if baseline and pack.is_relative_to(ROOT) else pack)
        counts = {n: resources(projects[n], pack, env) for n in args.n}
        samples: dict[tuple[int, str], list[dict]] = {}
        for run in range(args.runs):
            for n in args.n:
                project = projects[n]
                jobs = {
                    "preflight": [python, "-m", "preflight", "bench", "--policy-pack", str(pack),
                                  "--timings"],
                    "no-insights": [python, "-m", "preflight", "bench", "--policy-pack",
                                    str(pack), "--timings", "--no-insights"],
                    "floor": [python, str(HERE / "floor.py"), str(project), str(n)],
                    "floor-fast": [python, str(HERE / "floor.py"), str(project), str(n),
                                   "--fast-exit"],
                }
                for skipped in args.skip:
                    jobs.pop(skipped, None)
                    jobs.pop(f"{skipped}-fast", None)
                if args.levers:
                    for lever in (*LEVERS, "all"):
                        jobs[f"off:{lever}"] = jobs["preflight"]
                if baseline is not None:
                    jobs["baseline"] = [python, "-m", "preflight", "bench", "--policy-pack",
                                        str(base_pack), "--timings"]
                if args.peer_venv and n in args.peer_n:
                    peer_py = str(Path(args.peer_venv) / "bin" / "python")
                    jobs["peer-fast"] = [peer_py, str(PEER), str(n)]
                    jobs["peer-default"] = [peer_py, str(PEER), str(n)]
                for name, cmd in jobs.items():
                    job_env = dict(env)
                    if name.startswith("off:"):
                        job_env["PREFLIGHT_DISABLE"] = name[4:]
                    if name == "baseline":
                        job_env["PYTHONPATH"] = str(baseline)
                    if name.startswith("peer"):
                        job_env.update(NAG="1",
                                       CDK_OUTDIR_BENCH=str(base / f"cdk-{n}-{run}-{name}"))
                        if name == "peer-fast":
                            job_env["CDK_VALIDATION"] = "false"
                    result = timed(cmd, job_env, project)
                    if not name.startswith(("peer", "floor")) and result["code"] not in (0, 1):
                        print(result["stderr"], file=sys.stderr)
                        return 2
                    samples.setdefault((n, name), []).append(result)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

        def med(n: int, name: str, key: str) -> float:
            vals = [s[key] for s in samples.get((n, name), [])]
            return statistics.median(vals) if vals else float("nan")

        def per_round(n: int, top: str, bottom: str, key: str = "wall") -> str:
            """top / bottom in each round: median [min-max]."""
            pairs = zip(samples.get((n, top), []), samples.get((n, bottom), []), strict=False)
            ratios = sorted(a[key] / b[key] for a, b in pairs)
            if not ratios:
                return "-"
            return f"{statistics.median(ratios):.2f} [{ratios[0]:.2f}-{ratios[-1]:.2f}]"

        print(f"\npack: {pack}  runs per cell: {args.runs} (median)  cores: {os.cpu_count()}")
        head = (f"{'N':>4} {'res':>5} {'preflight s':>11} {'floor s':>8} {'floor-fx':>8} "
                f"{'ratio':>6} {'ratio-fx':>8} {'ms/res':>7} {'RSS MiB':>8} {'tree MiB':>9} "
                f"{'peer fast':>10} {'peer dflt':>10} {'x fast':>7} {'x dflt':>7}")
        print(head)
        print("-" * len(head))
        for n in args.n:
            pf, fl = med(n, "preflight", "wall"), med(n, "floor", "wall")
            ffx = med(n, "floor-fast", "wall")
            fast, dflt = med(n, "peer-fast", "wall"), med(n, "peer-default", "wall")
            rows.append((n, counts[n], pf, fl))
            print(f"{n:>4} {counts[n]:>5} {pf:>11.2f} {fl:>8.2f} {ffx:>8.2f} {pf / fl:>6.2f} "
                  f"{pf / ffx:>8.2f} "
                  f"{1000 * pf / counts[n]:>7.2f} {med(n, 'preflight', 'rss'):>8.0f} "
                  f"{med(n, 'preflight', 'tree'):>9.0f} {fast:>10.2f} {dflt:>10.2f} "
                  f"{fast / pf:>7.2f} {dflt / pf:>7.2f}")
        if args.peer_venv:
            print("\nagainst the peer, per-round ratios (median [min-max] over rounds): how many "
                  "times faster preflight is, and its peak RSS (tree) over the peer's fastest")
            print(f"{'N':>4} {'peer fast s':>11} {'peer dflt s':>11} {'x fast':>17} "
                  f"{'x default':>17} {'RSS tree / fast':>17} {'ours / peer MiB':>15}")
            for n in args.n:
                if n not in args.peer_n:
                    continue
                print(f"{n:>4} {med(n, 'peer-fast', 'wall'):>11.2f} "
                      f"{med(n, 'peer-default', 'wall'):>11.2f} "
                      f"{per_round(n, 'peer-fast', 'preflight'):>17} "
                      f"{per_round(n, 'peer-default', 'preflight'):>17} "
                      f"{per_round(n, 'preflight', 'peer-fast', 'tree'):>17} "
                      f"{med(n, 'preflight', 'tree'):>7.0f}/{med(n, 'peer-fast', 'tree'):<7.0f}")
        if args.levers:
            print("\nruntime levers, per-round ratios (median [min-max]): wall and CPU with every "
                  "lever on over the same with the named one off (below 1: the lever saves)")
            for n in args.n:
                for lever in (*LEVERS, "all"):
                    print(f"  N={n} {lever:<17} wall {per_round(n, 'preflight', f'off:{lever}')}"
                          f"  cpu {per_round(n, 'preflight', f'off:{lever}', 'cpu')}  "
                          f"tree RSS {per_round(n, 'preflight', f'off:{lever}', 'tree')}  "
                          f"(off: {med(n, f'off:{lever}', 'wall'):.2f} s)")
        if baseline is not None:
            print(f"\nagainst {args.baseline} (same run, same pack, medians):")
            for n in args.n:
                pf, bl = med(n, "preflight", "wall"), med(n, "baseline", "wall")
                pc, bc = med(n, "preflight", "cpu"), med(n, "baseline", "cpu")
                print(f"  N={n}: wall {pf:.2f} s vs {bl:.2f} s = {pf / bl:.2f}x; CPU {pc:.2f} s "
                      f"vs {bc:.2f} s = {pc / bc:.2f}x; peak RSS tree "
                      f"{med(n, 'preflight', 'tree'):.0f} vs {med(n, 'baseline', 'tree'):.0f} "
                      f"MiB")
        print("\npreflight phases (median s; in-process, interpreter start excluded):")
        keys = ["startup", "sdk import", "program", "insights", "resolved", "analyzer", "report",
                "total",
                "pack ready"]
        print(f"{'N':>4} " + " ".join(f"{k:>10}" for k in keys))
        for n in args.n:
            ph = [phases(s["stderr"]) for s in samples[(n, "preflight")]]
            print(f"{n:>4} " + " ".join(f"{statistics.median(p.get(k, 0) for p in ph):>10.3f}"
                                        for k in keys))
        print("\nAZ-loss, cost and diagram (preflight vs --no-insights, median wall s; the "
              "in-process insights phase):")
        for n in args.n:
            with_, without = med(n, "preflight", "wall"), med(n, "no-insights", "wall")
            inside = statistics.median(phases(s["stderr"]).get("insights", 0)
                                       for s in samples[(n, "preflight")])
            print(f"  N={n}: {with_:.2f} vs {without:.2f} s ({100 * (with_ / without - 1):+.1f}%);"
                  f" insights phase {inside:.3f} s = {100 * inside / with_:.1f}% of the run")
        print("\nfloor peak RSS MiB: " + ", ".join(
            f"N={n}: {med(n, 'floor', 'rss'):.0f}" for n in args.n))
        if args.peer_venv:
            print("peer peak RSS MiB (largest process / tree), fast setting: " + ", ".join(
                f"N={n}: {med(n, 'peer-fast', 'rss'):.0f}/{med(n, 'peer-fast', 'tree'):.0f}"
                for n in args.n if n in args.peer_n))
        if len(rows) > 1:
            n0, c0, p0, f0 = rows[0]
            print(f"marginal ms per resource over N={n0} (preflight / floor):")
            marg = {}
            for n, c, pf, fl in rows[1:]:
                marg[n] = 1000 * (pf - p0) / (c - c0)
                print(f"  N={n}: {marg[n]:.2f} / {1000 * (fl - f0) / (c - c0):.2f}")
            ten = [n for n in marg if n >= 10]
            if len(ten) > 1:
                spread = max(marg[n] for n in ten) / min(marg[n] for n in ten)
                print(f"marginal time per resource spread N>=10: {spread:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
