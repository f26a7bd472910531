"""Choosing the Cycles device: auto (a GPU backend if one is found, else CPU) or explicit."""

from __future__ import annotations

import bpy

# CUDA first: on data-centre GPUs without RT cores (H100) it beats OptiX; pick "optix"
# explicitly on RTX cards.
AUTO_ORDER = ("CUDA", "OPTIX", "HIP", "METAL", "ONEAPI")


class DeviceError(RuntimeError):
    """The requested render device does not exist here (a user error, not a crash)."""


class RenderError(RuntimeError):
    """Cycles could not render a frame (Blender's own error, e.g. a denoiser this device
    cannot create): a sentence for the user, not a crash of the tool."""


def render_error(camera: str, message: str) -> RenderError:
    lines = [line.strip() for line in message.splitlines() if line.strip()]  # Blender repeats it
    message = (lines[0] if lines else "no message").removeprefix("Error: ").strip()
    hint = ""
    if "optix denoiser" in message.lower():
        hint = '; render.denoiser = "optix" does not work on this device: use denoiser = "oidn"'
    return RenderError(f"Cycles could not render camera {camera!r}: {message}{hint}")


def _cycles_prefs():
    return bpy.context.preferences.addons["cycles"].preferences


def gpu_devices(backend: str) -> list:
    prefs = _cycles_prefs()
    try:
        prefs.compute_device_type = backend
    except TypeError:  # backend not compiled into this build
        return []
    prefs.get_devices()
    return [d for d in prefs.devices if d.type == backend]


def select_device(scene, requested: str) -> dict:
    """Configure Cycles; return what was chosen, for the audit log.

    requested: "auto", "cpu" or a backend name (cuda, optix, hip, metal, oneapi).
    An explicit backend with no device is an error, not a silent CPU fallback.
    """
    requested = requested.lower()
    if requested == "cpu":
        scene.cycles.device = "CPU"
        return {"requested": requested, "type": "CPU", "devices": ["CPU"]}
    backends = AUTO_ORDER if requested == "auto" else (requested.upper(),)
    for backend in backends:
        devices = gpu_devices(backend)
        if devices:
            for d in _cycles_prefs().devices:
                d.use = d.type == backend
            scene.cycles.device = "GPU"
            return {"requested": requested, "type": backend, "devices": [d.name for d in devices]}
    if requested != "auto":
        raise _missing(requested)
    scene.cycles.device = "CPU"
    return {"requested": requested, "type": "CPU", "devices": ["CPU"], "note": "no GPU backend found"}


def check_device(requested: str, pinned_gpu: int | None = None, field: str = "render.device") -> None:
    """Raise DeviceError (naming `field`, where the value came from: "--device" when the
    command line gave it) when an explicit backend has no device here, or when `--gpus`
    pinned this render process to a GPU (`pinned_gpu`) and `auto` would find none there (it
    would fall back to the CPU); the scene is untouched (a run checks this before it writes
    anything into its output folder)."""
    requested = requested.lower()
    if requested not in ("auto", "cpu") and not gpu_devices(requested.upper()):
        raise _missing(requested, field)
    if requested == "auto" and pinned_gpu is not None and not any(gpu_devices(b) for b in AUTO_ORDER):
        raise DeviceError(
            f"--gpus: this render process is pinned to GPU {pinned_gpu}, where Cycles finds no GPU "
            "(no such GPU here); use --procs N for the CPU"
        )


def check_denoiser(render) -> None:
    """Raise DeviceError when `denoise` asks for the OptiX denoiser and Cycles has no OptiX
    device here (Cycles offers that denoiser only then): checked with the device, before a
    run writes anything (configure_cycles would find it only after the run's audit/)."""
    if render.denoise and render.denoiser.lower() == "optix" and not gpu_devices("OPTIX"):
        raise DeviceError(
            f"render.denoiser = {render.denoiser!r}: this Cycles has no OPTIX denoiser here "
            "(it needs an NVIDIA GPU with OptiX); use 'oidn'"
        )


def _missing(requested: str, field: str = "render.device") -> DeviceError:
    said = f"--device {requested!r}" if field.startswith("--") else f"{field} = {requested!r}"
    return DeviceError(
        f"{said}: Cycles found no {requested.upper()} device here (use 'auto' to fall back to the CPU, or 'cpu')"
    )
