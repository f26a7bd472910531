"""`headless render FILE --ray [ADDRESS]`: the same job on a Ray cluster.

Ray is an optional extra (`pip install -r requirements-ray.txt`). Each Ray actor keeps one
render process (headless.worker: Blender warm, scene built once) and renders the chunks of
frames the driver hands it; actors request one GPU each where the cluster has GPUs (Ray
then sets CUDA_VISIBLE_DEVICES, so each render process sees exactly its GPU). A chunk
whose actor or render process dies goes to another actor, at most MAX_ATTEMPTS_PER_FRAME
times per frame; the driver prints one progress line.

Every node writes into the same output folder: it must be on storage every node sees (a
shared filesystem such as NFS, Lustre or a cloud file store mounted at the same path), and
the repository and its environment must be at the same path on every node. Each render
process logs to its own audit/frames.rNNN.jsonl, so nodes never append to one file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from headless.parallel import MAX_ATTEMPTS_PER_FRAME, ROOT, ParallelError, chunks, render_process_env

INSTALL_HINT = "--ray needs Ray, an optional extra: pip install -r requirements-ray.txt"


def import_ray():
    """The ray module, or ParallelError with the install hint.

    A folder named `ray` on sys.path (Ray's own session folder `ray` in the temp folder, next
    to a checkout there) imports as an empty namespace package: that is not Ray.
    """
    try:
        import ray
    except ImportError:
        ray = None
    if ray is None or not hasattr(ray, "init"):
        raise ParallelError(INSTALL_HINT)
    return ray


def ray_installed() -> bool:
    try:
        import_ray()
    except ParallelError:
        return False
    return True


class RenderActor:
    """A warm render process inside a Ray actor (one per GPU, or per CPU slot)."""

    def __init__(
        self,
        file: str,
        output: str,
        slot: int,
        device: str | None,
        workers: int,
        worker_mode: str,
        run_holder: str = "",
        time_parts: bool = False,
    ):
        cmd = [sys.executable, "-m", "headless.worker", file, "--out", output, "--tag", f".r{slot:03d}"]
        cmd += ["--slot", f"{slot}/{10**6}"]  # its own lock of the output folder
        cmd += ["--run-holder", run_holder] if run_holder else []  # let in by the driver's lock
        cmd += (["--device", device] if device else []) + ["--workers", str(workers), "--worker-mode", worker_mode]
        cmd += ["--time-parts"] if time_parts else []
        env = render_process_env()  # Ray has set this actor's CUDA_VISIBLE_DEVICES
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.wants_frames = False

    def _messages(self):
        for line in self.proc.stdout:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
        raise RuntimeError(f"render process exited with code {self.proc.wait()}")

    def render_chunk(self, frames: list[int]) -> list[int]:
        """Render and write these frames; return them once every one is logged."""
        messages = self._messages()
        while not self.wants_frames:  # the first request comes once the scene is built
            self.wants_frames = "need" in next(messages)
        self.proc.stdin.write(json.dumps({"frames": frames}) + "\n")
        self.proc.stdin.flush()
        self.wants_frames = False
        done: set[int] = set()
        while not (done >= set(frames) and self.wants_frames):
            msg = next(messages)
            if "done" in msg:
                done.add(msg["done"])
            elif "need" in msg:
                self.wants_frames = True
        return sorted(done)

    def close(self, interrupt: bool = False) -> int:
        if interrupt and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.stdin.write(json.dumps({"stop": True}) + "\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass
        return self.proc.wait()


def render(args, frames: list[int], output: Path, clip: int = 1, run_holder: str = "") -> tuple[int, dict]:
    """Run the job on Ray; return (exit code, summary for the manifest). run_holder: "HOST:PID"
    of the folder's lock held for this run (the render processes are let in by it)."""
    ray = import_ray()
    env_vars = {"PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=args.ray or None, runtime_env={"env_vars": env_vars}, log_to_driver=False)
    try:
        return _drive(ray, args, frames, output.resolve(), clip, run_holder)
    finally:
        if started_here:
            ray.shutdown()


def _drive(ray, args, frames: list[int], output: Path, clip: int, run_holder: str = "") -> tuple[int, dict]:
    gpus = int(ray.cluster_resources().get("GPU", 0))
    n = args.ray_workers or gpus or 2
    workers = args.workers or 1
    options = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": 1}
    actor_class = ray.remote(**options)(RenderActor)
    count = [0]

    def new_actor():
        count[0] += 1
        slot = count[0] - 1
        file = str(args.file.resolve())
        return actor_class.remote(
            file, str(output), slot, args.device, workers, args.worker_mode, run_holder, args.time_parts
        )

    actors = [new_actor() for _ in range(n)]
    todo = deque(chunks(frames, args.chunk, clip))
    running: dict = {}  # future -> (actor, chunk)
    attempts: dict[int, int] = {}
    done: set[int] = set()
    retried: list[int] = []
    t0, last = time.monotonic(), 0.0
    idle = list(actors)
    terminated: list[int] = []

    def on_sigterm(signum, frame):  # as Ctrl-C: the actors finish their frames in flight
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = (
        signal.signal(signal.SIGTERM, on_sigterm) if threading.current_thread() is threading.main_thread() else None
    )
    try:
        while todo or running:
            while todo and idle:
                actor, chunk = idle.pop(), todo.popleft()
                running[actor.render_chunk.remote(chunk)] = (actor, chunk)
            ready, _ = ray.wait(list(running), num_returns=1)
            future = ready[0]
            actor, chunk = running.pop(future)
            try:
                done.update(ray.get(future))
                idle.append(actor)
            except (ray.exceptions.RayError, RuntimeError) as e:
                lost = [f for f in chunk if f not in done]
                for f in lost:
                    attempts[f] = attempts.get(f, 0) + 1
                if lost and max(attempts[f] for f in lost) >= MAX_ATTEMPTS_PER_FRAME:
                    raise ParallelError(f"frames {lost} failed {MAX_ATTEMPTS_PER_FRAME} times; last error: {e}") from e
                clips = {f // clip for f in lost}
                lost = [f for f in frames if f // clip in clips]
                retried += lost
                todo.appendleft(lost)
                print(
                    f"WARNING: a Ray render actor failed ({type(e).__name__}); frames {lost} go to another",
                    file=sys.stderr,
                    flush=True,
                )
                with _quiet():
                    ray.kill(actor)
                idle.append(new_actor())
            now = time.monotonic()
            if not args.quiet and (now - last >= 1.0 or not (todo or running)):
                last = now
                rate = len(done) / (now - t0) if now > t0 else 0.0
                print(
                    f"frames {len(done)}/{len(frames)} ({100 * len(done) / max(len(frames), 1):.0f}%) | "
                    f"{rate:.2f} frames/s | {len(actors)} Ray actors",
                    flush=True,
                )
    except KeyboardInterrupt:
        what = "SIGTERM" if terminated else "Ctrl-C"
        print(f"\n{what}: stopping the Ray actors after their frames in flight", file=sys.stderr, flush=True)
        with _quiet():
            ray.get([a.close.remote(interrupt=True) for a in actors + idle], timeout=120)
        return (128 + terminated[0] if terminated else 130), {"mode": "ray", "actors": n, "retried_frames": retried}
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    with _quiet():
        ray.get([a.close.remote() for a in idle], timeout=120)
    return 0, {"mode": "ray", "actors": n, "gpus_in_cluster": gpus, "retried_frames": retried}


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], Exception)
