"""One long-lived render process of a parallel run (headless.parallel, headless.ray_backend).

  python -m headless.worker FILE --out DIR --tag .w003 [--device D] [--workers N]
                                 [--worker-mode auto|processes|inline] [--time-parts]

Builds the scene once, then renders the frames its parent hands out, chunk by chunk, keeping
Blender warm (kernels, persistent data). It talks JSON lines: on stdin the parent sends
{"frames": [...]}, {"finish": true} (finish the frames in flight, then ask again) or
{"stop": true}; on stdout the process sends {"need": 1} when it wants
frames (the first time once the scene is built), {"done": F} once frame F is written
and logged, {"warning": TEXT} for each of the run's warnings (also printed on stderr), and
{"error": TEXT} before it exits 2 (the scene refused; also printed on stderr) or 1 (the output
folder cannot be written: the parent says it).
Blender's own console output goes to /dev/null so stdout holds only these lines.

Each process logs finished frames to audit/frames<tag>.jsonl; the parent merges the
writers' outputs once all processes are done. SIGINT: finish the frames in flight, exit 130.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from headless import early_signals

if __name__ == "__main__":
    early_signals.keep()  # the parent's Ctrl-C while this process loads waits for the run

from headless.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, WORKER_MODES, exit_with  # noqa: E402


class Channel:
    """JSON lines to the parent (all from the main thread: finished frames are logged there).

    A parent that is gone (killed: its end of the pipe closed) is no error of this process's:
    the first message it cannot take calls `on_gone` (the run is cancelled: the frames in
    flight are finished and logged, `--resume` renders the rest) and later ones go nowhere."""

    def __init__(self, out, on_gone=None):
        self.out = out
        self.on_gone = on_gone
        self.gone = False

    def send(self, **message) -> None:
        if self.gone:
            return
        try:
            self.out.write(json.dumps(message) + "\n")
            self.out.flush()
        except BrokenPipeError:
            self.gone = True
            # What the stream still holds would fail again at every flush and at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.out.fileno())
            finally:
                os.close(devnull)
            if self.on_gone is not None:
                self.on_gone()


def chunks_from(stdin, channel: Channel, recorder_ref: list):
    """Frames handed out by the parent; ends on {"stop": true}, EOF or a cancelled run."""
    while True:
        recorder = recorder_ref[0] if recorder_ref else None
        if recorder is not None and recorder.cancel_requested:
            return
        channel.send(need=1)
        line = stdin.readline()
        if not line:
            return
        message = json.loads(line)
        if message.get("stop"):
            return
        if message.get("finish"):
            yield None  # no frames yet: the recorder finishes (and logs) those in flight first
            continue
        yield from message.get("frames", [])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m headless.worker")
    p.add_argument("file", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--tag", required=True, help="audit log tag, e.g. .w003")
    p.add_argument("--slot", required=True, help="I/N: this process's own lock of the output folder")
    p.add_argument("--run-holder", help="HOST:PID of the parent, whose lock of the whole folder lets this process in")
    p.add_argument("--device")
    p.add_argument("--gpu", type=int, help="the GPU --gpus pinned this process to (it must find a GPU there)")
    p.add_argument("--workers", type=int)
    p.add_argument("--worker-mode", choices=tuple(WORKER_MODES), default="auto")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--quiet", action="store_true", help="importers' console output kept back")
    p.add_argument("--time-parts", action="store_true")
    args = p.parse_args(argv)

    import contextlib

    from sdg_addon.capture.device import DeviceError, RenderError
    from sdg_addon.config import load_config
    from sdg_addon.console import blender_console_silenced
    from sdg_addon.recorder import DiskError, Recorder, RecorderError, RunOptions

    config = load_config(args.file)  # validated by the parent already
    # Python's own stdout stays the pipe to the parent; Blender's C output is silenced.
    with contextlib.nullcontext() if args.verbose else blender_console_silenced():
        recorder_ref: list = []
        channel = Channel(sys.stdout, on_gone=lambda: recorder_ref and recorder_ref[0].cancel())
        options = RunOptions(args.out, range(config.frames), resume=True, device=args.device, device_from="--device")
        options.frame_source = chunks_from(sys.stdin, channel, recorder_ref)
        options.log_tag = args.tag
        options.lock_slot = tuple(int(x) for x in args.slot.split("/"))
        options.run_holder = args.run_holder
        options.pinned_gpu = args.gpu
        options.finalize = False
        options.on_frame_done = lambda f: channel.send(done=f)
        options.worker_processes = WORKER_MODES[args.worker_mode]
        options.time_parts, options.quiet = args.time_parts, args.quiet
        if args.workers:
            options.write_workers = max(1, args.workers)

        def on_warning(text: str) -> None:
            print(f"WARNING: {text}", file=sys.stderr)
            channel.send(warning=text)  # the parent keeps the run's warnings (its manifest)

        recorder = Recorder(config, options, on_warning=on_warning)
        recorder_ref.append(recorder)
        # The parent forwards Ctrl-C once: finish the frames in flight, then stop.
        signal.signal(signal.SIGINT, lambda *_: recorder.cancel())
        signal.signal(signal.SIGTERM, lambda *_: recorder.cancel())
        early_signals.replay(lambda *_: recorder.cancel(), lambda *_: recorder.cancel())
        try:
            recorder.run()
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        except (RecorderError, ValueError, DeviceError) as e:
            # Refused (its device, scene, targets, files read; a background photo that cannot be read
            # is found when a frame drawing it is written), as a single-process run says it:
            # one line, exit 2; the parent stops the others.
            print(f"error: {e}", file=sys.stderr)
            channel.send(error=str(e))  # for a parent that does not see this stderr (a Ray actor's)
            return EXIT_INVALID
        except (DiskError, RenderError) as e:
            # The output folder cannot be written (full, read-only), or no folder takes the
            # renders' passes files: another process would fail the same way. The parent says
            # it in one line (this process's frames are kept).
            channel.send(error=str(e))
            return EXIT_FAILED
        return EXIT_INTERRUPTED if recorder.cancelled else 0


if __name__ == "__main__":
    exit_with(main())
