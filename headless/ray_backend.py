"""`headless render FILE --ray [ADDRESS]`: the same job on a Ray cluster.

Ray is an optional extra (`pip install -r requirements-ray.txt`). Each Ray actor keeps one
render process (headless.worker: Blender warm, scene built once) and renders the chunks of
frames the driver hands it; actors request one GPU each where the cluster has GPUs (Ray
then sets CUDA_VISIBLE_DEVICES, so each render process sees exactly its GPU). A chunk
whose actor or render process dies goes to another actor, at most MAX_ATTEMPTS_PER_FRAME
times per frame (the frames its process logged stay done); the driver prints one progress
line. The render processes' stderr goes to Ray's log files, not to the driver's terminal:
their warnings and the reason a process refused the scene come back with the actors'
results, and the driver says them (each warning once, kept in the run's manifest).

Every node writes into the same output folder: it must be on storage every node sees (a
shared filesystem such as NFS, Lustre or a cloud file store mounted at the same path), and
the repository and its environment must be at the same path on every node. Each render
process logs to its own audit/frames.rNNN.jsonl, so nodes never append to one file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from headless import early_signals, parallel
from headless.cli import EXIT_FAILED, EXIT_INVALID
from headless.parallel import MAX_ATTEMPTS_PER_FRAME, ROOT, ParallelError, chunks, render_process_env

SLOTS = 10**6  # a render process's lock is .sdg.shard<slot>of<SLOTS>.lock (a Ray run has no fixed count)
INSTALL_HINT = "--ray needs Ray, an optional extra: pip install -r requirements-ray.txt"
AUTH_MODE_VARIABLE = "RAY_AUTH_MODE"  # Ray's token authentication: "token" or "disabled"


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
        quiet: bool = False,
        verbose: bool = False,
    ):
        cmd = [sys.executable, "-m", "headless.worker", file, "--out", output, "--tag", f".r{slot:03d}"]
        cmd += ["--slot", f"{slot}/{SLOTS}"]  # its own lock of the output folder
        cmd += ["--run-holder", run_holder] if run_holder else []  # let in by the driver's lock
        cmd += (["--device", device] if device else []) + ["--workers", str(workers), "--worker-mode", worker_mode]
        cmd += (["--time-parts"] if time_parts else []) + (["--quiet"] if quiet else [])
        cmd += ["--verbose"] if verbose else []
        env = render_process_env()  # Ray has set this actor's CUDA_VISIBLE_DEVICES
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.output, self.slot = Path(output), slot
        self.wants_frames = False
        # The render process's warnings not yet handed to the driver, and why it refused the
        # run (its stderr goes to Ray's log files, not to the driver's terminal).
        self.warnings: list[str] = []
        self.error: str | None = None

    def _messages(self):
        """The render process's messages up to its end, then {"exit": code}; its warnings
        and error are kept aside for the driver."""
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "warning" in msg:
                self.warnings.append(msg["warning"])
            elif "error" in msg:
                self.error = msg["error"]
            else:
                yield msg
        code = self.proc.wait()
        if code != 0:
            self._clean_after_its_end()
        yield {"exit": code}

    def _clean_after_its_end(self) -> None:
        """A render process that died leaves its lock (a replacement actor gets another slot)
        and temporary files (its own, its writer processes'): removed here, on its node,
        where their end can be checked (the driver may be on another node). Every ended
        process of this node is cleaned this way; a live one's files are never touched."""
        from sdg_addon import output

        output.remove_ended_holders_lock(output.Lock(self.output, (self.slot, SLOTS)).path, self.proc.pid)
        output.remove_ended_processes_temporaries(self.output)

    def _send(self, message: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # it died: its exit follows

    def _result(self, **result) -> dict:
        result["warnings"], self.warnings = self.warnings, []
        return result

    def ready(self) -> bool:
        """Answers once Ray has started this actor (a slot of the cluster is its own)."""
        return True

    def render_chunk(self, frames: list[int]) -> dict:
        """Render and write these frames. Returns {"done": the frames logged, "warnings": the
        render process's warnings since the last call}, and "exit" (its code) and "error"
        (why it refused the run, if it did) when the process ended before the chunk did."""
        done: set[int] = set()
        sent = self.wants_frames  # the first request comes once the scene is built
        if sent:
            self._send({"frames": frames})
            self.wants_frames = False
        for msg in self._messages():
            if "exit" in msg:
                return self._result(done=sorted(done), exit=msg["exit"], error=self.error)
            if "done" in msg:
                done.add(msg["done"])
            elif "need" in msg and not sent:
                self._send({"frames": frames})
                sent = True
            elif "need" in msg and done >= set(frames):
                self.wants_frames = True
            elif "need" in msg:
                # It asks for more while frames of this chunk are in flight (its writer
                # processes have them): finished first, so that the chunk ends.
                self._send({"finish": True})
            if self.wants_frames and done >= set(frames):
                return self._result(done=sorted(done))
        raise AssertionError("unreachable: _messages ends with the exit")

    def close(self, interrupt: bool = False) -> dict:
        """Stop the render process; {"exit": its code, "warnings": those said since the last
        chunk (its last frames', its end's)}."""
        if interrupt and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self._send({"stop": True})
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass
        code = [msg["exit"] for msg in self._messages() if "exit" in msg][0]
        return self._result(exit=code)


def connect(address: str) -> bool:
    """Join the Ray cluster at `address` ("": start a local Ray) unless this process is in
    one already; True when joined here (then disconnect() at the end). Raises ParallelError,
    before anything is written, when Ray is missing or the cluster cannot be reached."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    env_vars = {"PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    try:
        ray.init(address=address or None, runtime_env={"env_vars": env_vars}, log_to_driver=False)
    except ValueError as e:
        if not address:
            raise ParallelError(f"--ray: cannot start a local Ray: {_first_sentence(e)}") from e
        # Ray's own text can be about its RAY_ADDRESS variable and go on over lines ("To fix
        # this, either:"): its first sentence, and what --ray takes.
        raise ParallelError(
            f"--ray {address}: not an address Ray takes ({_first_sentence(e)}); expected HOST:PORT "
            "(the port of `ray start --head`) or ray://HOST:PORT (Ray Client)"
        ) from e
    except (ConnectionError, RuntimeError, TimeoutError) as e:
        why = (str(e).strip().splitlines() or [type(e).__name__])[0]
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        hint = ""
        if address and not address.startswith("ray://") and AUTH_MODE_VARIABLE not in os.environ:
            # Ray sends its token to an address given only where told to: a cluster that
            # `ray start` began with token authentication refuses this driver without a word.
            hint = (
                f"; if that cluster runs, it may use Ray's token authentication (`ray start` turns it on where "
                f"~/.ray/auth_token exists, which a local --ray run makes): set {AUTH_MODE_VARIABLE}=token here, "
                "with the cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN"
            )
        elif not address and isinstance(e, ConnectionError):
            # ray.init() without an address joins the cluster whose address Ray keeps on
            # record from a `ray start --head` here, even one that has ended since.
            hint = (
                "; without an address --ray joins the cluster a `ray start --head` on this machine began, "
                "while Ray keeps its address on record: if that cluster has ended, `ray stop` clears the record "
                "(then --ray starts a Ray of its own), or give the address of one that runs"
            )
        raise ParallelError(f"--ray: cannot start or reach {where}: {why}{hint}") from e
    return True


def _first_sentence(error: Exception) -> str:
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return text.split(". ")[0].rstrip(".")


def disconnect() -> None:
    import_ray().shutdown()


def progress_line(done: int, total: int, elapsed: float, actors: int, waiting: int) -> str:
    """The driver's progress line: as --procs's (frames, rate, ETA), then the Ray actors
    working and those still waiting for a slot of the cluster."""
    tail = f"{actors} Ray actor{'s' if actors != 1 else ''}"
    if waiting:
        tail += f" ({waiting} more waiting for a slot)"
    return parallel.progress_line(done, total, elapsed, tail)


def render(
    args, frames: list[int], output: Path, clip: int = 1, run_holder: str = "", forget: set[int] = frozenset()
) -> tuple[int, dict]:
    """Run the job on the Ray cluster joined (connect()); return (exit code, summary for the
    manifest). run_holder: "HOST:PID" of the folder's lock held for this run (the render
    processes are let in by it). forget: finished frames of clips rendered again (a resume
    mid-clip), dropped from the frame logs when the first chunk goes out (a scene the actors
    refuse leaves the logs as they were)."""
    return _drive(import_ray(), args, frames, output.resolve(), clip, run_holder, forget)


def _drive(
    ray, args, frames: list[int], output: Path, clip: int, run_holder: str = "", forget: set[int] = frozenset()
) -> tuple[int, dict]:
    from sdg_addon import audit

    audit_dir = output / audit.AUDIT_DIR
    forget = set(forget)

    gpus = int(ray.cluster_resources().get("GPU", 0))
    planned = chunks(frames, args.chunk, clip)
    n = min(args.ray_workers or gpus or 2, max(1, len(planned)))  # no actor that would get no chunk
    workers = args.workers or 1
    options = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": 1}
    actor_class = ray.remote(**options)(RenderActor)
    count = [0]
    slot_of: dict[int, int] = {}  # id(actor) -> its slot (names its frame log, frames.rNNN.jsonl)

    def new_actor():
        count[0] += 1
        slot = count[0] - 1
        file = str(args.file.resolve())
        actor = actor_class.remote(
            file,
            str(output),
            slot,
            args.device,
            workers,
            args.worker_mode,
            run_holder,
            args.time_parts,
            args.quiet,
            args.verbose,
        )
        slot_of[id(actor)] = slot
        return actor

    actors = [new_actor() for _ in range(n)]  # the live ones
    # Chunks go only to actors Ray has started: one waiting for a CPU or GPU the others hold
    # would keep its chunk (and the run) waiting once they are done.
    starting = {a.ready.remote(): a for a in actors}
    failed_starts = 0
    todo = deque(planned)
    running: dict = {}  # future -> (actor, chunk)
    attempts: dict[int, int] = {}
    done: set[int] = set()
    retried: list[int] = []
    warnings: list[str] = []  # the render processes', each once (for the manifest)
    t0, last, any_ready = time.monotonic(), 0.0, False
    idle: list = []

    def end_unstarted() -> None:
        """Actors still waiting for a slot have nothing to finish: ended, not waited for."""
        for actor in starting.values():
            with _quiet():
                ray.kill(actor)
            actors.remove(actor)
        starting.clear()

    def keep_warnings(result: dict) -> None:
        for text in result.get("warnings", []):
            if text not in warnings:  # every process says the scene's
                warnings.append(text)
                print(f"WARNING: {text}", file=sys.stderr, flush=True)

    # SIGTERM as Ctrl-C: the actors finish their frames in flight.
    signals = contextlib.ExitStack()
    terminated = signals.enter_context(early_signals.sigterm_as_ctrl_c())
    try:
        while todo or running:
            while todo and idle:
                if forget:
                    audit.forget_frames(audit_dir, forget)
                    forget.clear()
                actor, chunk = idle.pop(), todo.popleft()
                running[actor.render_chunk.remote(chunk)] = (actor, chunk)
            ready, _ = ray.wait([*running, *starting], num_returns=1)
            future = ready[0]
            if future in starting:
                actor = starting.pop(future)
                try:
                    ray.get(future)
                    idle.append(actor)
                    if not any_ready:  # the rate counts from here (not from Ray's own start), as --procs's
                        any_ready, t0 = True, time.monotonic()
                except ray.exceptions.RayError as e:  # it died starting (its node, its render process)
                    failed_starts += 1
                    if failed_starts >= MAX_ATTEMPTS_PER_FRAME:
                        why = type(e).__name__
                        raise ParallelError(
                            f"Ray render actors failed to start {failed_starts} times; last: {why}"
                        ) from e
                    print(f"WARNING: a Ray render actor failed to start ({type(e).__name__})", file=sys.stderr)
                    with _quiet():
                        ray.kill(actor)
                    actors.remove(actor)
                    actors.append(new_actor())
                    starting[actors[-1].ready.remote()] = actors[-1]
                continue
            actor, chunk = running.pop(future)
            try:
                result = ray.get(future)
                why = f"its render process exited with code {result.get('exit')}"
            except ray.exceptions.RayError as e:  # the actor died (its process, its node)
                result, why = {"exit": None}, type(e).__name__
            keep_warnings(result)
            done.update(result.get("done", []))
            if "exit" not in result:
                idle.append(actor)
            elif result["exit"] == EXIT_INVALID and result.get("error"):
                # What only the built scene can tell: every actor would refuse it the same way.
                raise ParallelError(f"a Ray render process refused the run: {result['error']}", invalid=True)
            elif result["exit"] == EXIT_FAILED and result.get("error"):
                raise ParallelError(result["error"])  # the output folder cannot be written (full, read-only)
            else:
                # Frames its process logged before it died are finished (the log says so).
                finished = audit.finished_frames(audit_dir)
                done.update(f for f in chunk if f in finished)
                lost = [f for f in chunk if f not in done]
                for f in lost:
                    attempts[f] = attempts.get(f, 0) + 1
                if lost and max(attempts[f] for f in lost) >= MAX_ATTEMPTS_PER_FRAME:
                    raise ParallelError(f"frames {lost} failed {MAX_ATTEMPTS_PER_FRAME} times; last: {why}")
                if lost:
                    clips = {f // clip for f in lost}  # whole clips again: a clip's motion starts at its first frame
                    lost = [f for f in frames if f // clip in clips]
                    if clip > 1:  # its frames logged already are logged once, by the new rendering
                        audit.forget_frames(audit_dir, lost, [audit_dir / f"frames.r{slot_of[id(actor)]:03d}.jsonl"])
                    retried += lost
                    todo.appendleft(lost)
                print(
                    f"WARNING: a Ray render actor failed ({why}); frames {lost} go to another",
                    file=sys.stderr,
                    flush=True,
                )
                with _quiet():
                    ray.kill(actor)
                actors.remove(actor)
                actors.append(new_actor())
                starting[actors[-1].ready.remote()] = actors[-1]
            now = time.monotonic()
            if not args.quiet and (now - last >= 1.0 or not (todo or running)):
                last = now
                line = progress_line(len(done), len(frames), now - t0, len(actors) - len(starting), len(starting))
                print(line, flush=True)
    except KeyboardInterrupt:
        what = "SIGTERM" if terminated else "Ctrl-C"
        print(
            f"\n{what}: stopping the Ray actors after their frames in flight (Ctrl-C again to stop at once)",
            file=sys.stderr,
            flush=True,
        )
        try:
            end_unstarted()
            for result in _close(ray, actors, interrupt=True):
                keep_warnings(result)
        except KeyboardInterrupt:  # again while they finish: end them now (a frame not logged is not done)
            print("\nCtrl-C again: ending the Ray actors now", file=sys.stderr, flush=True)
            for actor in actors:
                with _quiet():
                    ray.kill(actor)
        summary = {"mode": "ray", "actors": n, "retried_frames": retried, "warnings": warnings}
        return (128 + terminated[0] if terminated else 130), summary
    except ParallelError:
        end_unstarted()
        _close(ray, actors, interrupt=True)  # the others stop too
        raise
    finally:
        signals.close()
    end_unstarted()
    for result in _close(ray, actors):
        keep_warnings(result)
    return 0, {"mode": "ray", "actors": n, "gpus_in_cluster": gpus, "retried_frames": retried, "warnings": warnings}


CLOSE_TIMEOUT_S = 120  # how long the driver waits for an actor to stop its render process


def _close(ray, actors: list, interrupt: bool = False) -> list[dict]:
    """Stop every actor's render process (each after its frames in flight); their last
    results, one per actor that answered (a dead one does not). Actors still busy after
    CLOSE_TIMEOUT_S are said, as a warning among the results: the run ends without them,
    and a frame they finish later is in the log for `--resume` (its lock keeps other runs
    out meanwhile)."""
    results, busy = [], 0
    for future in [a.close.remote(interrupt=interrupt) for a in actors]:
        try:
            results.append(ray.get(future, timeout=CLOSE_TIMEOUT_S))
        except ray.exceptions.GetTimeoutError:
            busy += 1
        except Exception:  # an actor that died: nothing to wait for
            pass
    if busy:
        results.append(
            {
                "warnings": [
                    f"{busy} Ray render actor(s) had not stopped {CLOSE_TIMEOUT_S} s after they were asked to: "
                    "the run ended without them; frames they finish later are logged, and `--resume` "
                    "adds them to the merged outputs"
                ]
            }
        )
    return results


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], Exception)
