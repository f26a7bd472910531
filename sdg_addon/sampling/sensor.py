"""Camera sensor and image randomizers (what they sample).

`sensor` changes the camera (lens, depth of field, motion blur; scene.sensor applies it)
and the sensor's response (exposure, white balance), which like `augment` (noise, blur,
JPEG, colour jitter) is applied to the RGB image only, after the render, by
sdg_addon.imaging in the worker that writes the frame: masks, depth and boxes come from
the same render untouched. Each camera target draws its own values, including the seed
of its noise, so a frame's image is a pure function of (seed, frame).
"""

from __future__ import annotations

from .randomizers import NUMBER, RandomizerSpec, register_randomizer

NOISE_SEED = "noise_seed"  # drawn per camera and frame when an augmentation is random


@register_randomizer
class Sensor(RandomizerSpec):
    """Lens, depth of field, motion blur, exposure and white balance of cameras."""

    name = "sensor"
    target_kind = "cameras"
    PARAMS = {
        "focal_length": (NUMBER, "mm, with the camera's `sensor_width`"),
        "fov": (NUMBER, "field of view across the larger image side, degrees (instead of `focal_length`, not both)"),
        "f_stop": (NUMBER, "aperture f-number; depth of field is on while given (smaller: shallower)"),
        "focus_distance": (NUMBER, "distance in focus, metres (or `focus_target`)"),
        "shutter": (
            NUMBER,
            "Cycles motion blur: shutter time in frames (0 = off); blurs what moves within the shutter (trajectories, animation, physics), not the per-frame jumps of randomizers; not together with the `motion_vectors` annotator (Cycles has no vector pass with motion blur)",
        ),
        "exposure": (
            NUMBER,
            "exposure compensation in stops: the linear image is scaled by 2^`exposure` before the view transform",
        ),
        "white_balance": (
            NUMBER,
            "colour temperature the camera is balanced for, Kelvin: a black body (light) of that temperature comes out neutral; a daylight scene balanced for 3000 K turns blue",
        ),
    }
    OPTIONS = {
        "focus_target": ("", str, "name of an object to keep in focus (its origin), instead of `focus_distance`"),
    }
    PARAM_RANGES = {
        "focal_length": (1.0, 5000.0),
        "fov": (0.1, 179.0),
        "f_stop": (0.1, 1000.0),
        "focus_distance": (0.0, 1e6),
        "shutter": (0.0, 2.0),
        "exposure": (-20.0, 20.0),
        "white_balance": (800.0, 40000.0),
    }

    def prepare(self, base):
        if "focal_length" in self.params and "fov" in self.params:
            return [("fov", self.params["fov"].to_dict(), "either focal_length or fov, not both")]
        if self.options["focus_target"] and "focus_distance" in self.params:
            return [
                ("focus_distance", self.params["focus_distance"].to_dict(), "either focus_distance or focus_target")
            ]
        return []


@register_randomizer
class Augment(RandomizerSpec):
    """Image augmentations of the RGB image, after the render (masks stay exact).

    Applied in this order: blur, Poisson (shot) noise, Gaussian noise, colour jitter
    (brightness, contrast, saturation, hue), JPEG compression. A parameter left out is
    not applied.
    """

    name = "augment"
    target_kind = "cameras"
    PARAMS = {
        "blur": (NUMBER, "Gaussian blur, standard deviation in pixels"),
        "poisson_noise": (
            NUMBER,
            "shot noise: photons a full-white pixel collects (fewer: noisier; variance = value / photons)",
        ),
        "gaussian_noise": (
            NUMBER,
            "additive noise, standard deviation in units of full scale (0.02 ≈ 5 levels of 255)",
        ),
        "brightness": (NUMBER, "multiplies the values (1 = unchanged)"),
        "contrast": (NUMBER, "scales values about the image's mean grey (1 = unchanged)"),
        "saturation": (NUMBER, "scales colour away from grey (0 = grey, 1 = unchanged)"),
        "hue": (NUMBER, "rotates the hue, degrees"),
        "jpeg_quality": (
            NUMBER,
            'JPEG compression artefacts at this quality (the file written is still PNG); e.g. `{ distribution = "uniform_int", low = 30, high = 95 }`',
        ),
    }
    PARAM_RANGES = {
        "blur": (0.0, 100.0),
        "poisson_noise": (1.0, 1e9),
        "gaussian_noise": (0.0, 1.0),
        "brightness": (0.0, 100.0),
        "contrast": (0.0, 100.0),
        "saturation": (0.0, 100.0),
        "hue": (-360.0, 360.0),
        "jpeg_quality": (1.0, 100.0),
    }

    def sample(self, rng, frame, targets):
        out = super().sample(rng, frame, targets)
        if any(k in self.params for k in ("poisson_noise", "gaussian_noise")):
            for t in targets:  # drawn after the parameters: adding noise keeps their values
                out[t][NOISE_SEED] = int(rng.integers(2**63 - 1))
        return out
