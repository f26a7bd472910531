"""Thermal (LWIR, 8-14 um) radiometry and sensor effects, in plain numpy (no bpy).

The model (docs/sensors.md):
- A surface at temperature T (kelvin) with emissivity e leaves the band radiance
      L = e * B(T) + (1 - e) * L_in
  where B(T) is Planck's spectral radiance integrated over the band (W m^-2 sr^-1) and
  L_in the band radiance of the surroundings it reflects (Kirchhoff: an opaque surface
  reflects what it does not emit). Cycles computes L_in, the capture only gives each
  surface an emission e * B(T) and a reflectance 1 - e.
- The world (sky) is a black body at its temperature: L = B(T_world).
- No atmosphere between surface and camera (transmittance 1: short ranges).
- The camera reports the temperature of a black body with the radiance it received
  (apparent, "brightness" temperature): T = B^-1(L). A surface of emissivity < 1 reads
  colder (or hotter, in front of a hot wall) than it is, as a real radiometric camera
  without emissivity correction does.

B(T) is integrated with Gauss-Legendre quadrature (exact to ~1e-13 relative on the smooth
Planck curve); its inverse is a dense table (optionally refined by Newton steps).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

H = 6.62607015e-34  # Planck constant, J s (exact, SI 2019)
C = 299792458.0  # speed of light, m/s (exact)
K_B = 1.380649e-23  # Boltzmann constant, J/K (exact)
SIGMA = 2 * np.pi**5 * K_B**4 / (15 * H**3 * C**2)  # Stefan-Boltzmann, W m^-2 K^-4

BAND_UM = (8.0, 14.0)  # the LWIR band of uncooled microbolometers
ZERO_CELSIUS = 273.15
T_MIN, T_MAX = 100.0, 2000.0  # kelvin range the inverse covers (clipped beyond)
# A temperature of a parameter file in either unit (K or °C) lies in this span: T_MIN in
# °C .. T_MAX in K (which unit it is in is checked against T_MIN .. T_MAX once it is known).
FILE_TEMPERATURES = (round(T_MIN - ZERO_CELSIUS, 2), T_MAX)
FILE_TEMPERATURES_TEXT = f"{T_MIN:g} .. {T_MAX:g} K = {T_MIN - ZERO_CELSIUS:g} .. {T_MAX - ZERO_CELSIUS:g} °C"
_NODES = 64  # Gauss-Legendre nodes over the band


@lru_cache(maxsize=8)
def _quadrature(band_um: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(_NODES)
    a, b = band_um[0] * 1e-6, band_um[1] * 1e-6
    return (b - a) / 2 * x + (a + b) / 2, (b - a) / 2 * w


def spectral_radiance(wavelength_m, temperature_k) -> np.ndarray:
    """Planck's law: W m^-2 sr^-1 per metre of wavelength."""
    lam = np.asarray(wavelength_m, dtype=np.float64)
    t = np.asarray(temperature_k, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore"):
        return 2 * H * C**2 / lam**5 / np.expm1(H * C / (lam * K_B * t))


def band_radiance(temperature_k, band_um: tuple[float, float] = BAND_UM) -> np.ndarray:
    """Black-body radiance in the band, W m^-2 sr^-1 (same shape as temperature_k)."""
    lam, w = _quadrature(tuple(band_um))
    t = np.asarray(temperature_k, dtype=np.float64)
    return (spectral_radiance(lam, t[..., None]) * w).sum(axis=-1)


def band_radiance_derivative(temperature_k, band_um: tuple[float, float] = BAND_UM) -> np.ndarray:
    """dB/dT in W m^-2 sr^-1 K^-1."""
    lam, w = _quadrature(tuple(band_um))
    t = np.asarray(temperature_k, dtype=np.float64)[..., None]
    x = H * C / (lam * K_B * t)
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = np.where(x < 700, np.exp(-x) / (-np.expm1(-x)) ** 2, 0.0)  # e^x / (e^x - 1)^2
    d = 2 * H * C**2 / lam**5 * ratio * x / t
    return (d * w).sum(axis=-1)


@lru_cache(maxsize=8)
def _table(band_um: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    temps = np.linspace(T_MIN, T_MAX, int((T_MAX - T_MIN) * 10) + 1)  # 0.1 K steps
    return temps, band_radiance(temps, band_um)


def brightness_temperature(radiance, band_um: tuple[float, float] = BAND_UM, newton_steps: int = 0) -> np.ndarray:
    """The inverse of band_radiance: kelvin of the black body with this band radiance.

    The table (0.1 K steps) alone is within 1e-4 K; each Newton step (64 Planck
    evaluations per pixel, slow on big images) brings it to ~1e-10 K. Radiances below
    B(T_MIN) or above B(T_MAX) give T_MIN / T_MAX. float64 out.
    """
    temps, table = _table(tuple(band_um))
    r = np.asarray(radiance, dtype=np.float64)
    # log radiance is nearly linear in 1/T (Wien): interpolating it is accurate everywhere.
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.interp(np.log(np.maximum(r, 1e-300)), np.log(table), temps)
    inside = (r > table[0]) & (r < table[-1])
    for _ in range(newton_steps):
        step = (band_radiance(t, band_um) - r) / band_radiance_derivative(t, band_um)
        t = np.where(inside, t - step, t)
    return np.clip(t, T_MIN, T_MAX)


def apparent_radiance(temperature_k, emissivity, surroundings_k, band_um=BAND_UM) -> np.ndarray:
    """What the camera receives from an opaque surface reflecting uniform surroundings."""
    e = np.asarray(emissivity, dtype=np.float64)
    return e * band_radiance(temperature_k, band_um) + (1 - e) * band_radiance(surroundings_k, band_um)


def apparent_temperature(temperature_k, emissivity, surroundings_k, band_um=BAND_UM) -> np.ndarray:
    """The kelvin a radiometric camera reads for that surface (no emissivity correction)."""
    return brightness_temperature(apparent_radiance(temperature_k, emissivity, surroundings_k, band_um), band_um)


def to_kelvin(value: float, unit: str) -> float:
    """A temperature in the parameter file's unit ("K" or "C") in kelvin."""
    return float(value) + ZERO_CELSIUS if unit == "C" else float(value)


# ------------------------------------------------------------------ sensor effects


def gaussian_blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Separable Gaussian blur (optics' point spread), edges extended; sigma 0: unchanged."""
    if sigma_px <= 0:
        return image
    radius = max(1, int(np.ceil(3 * sigma_px)))
    x = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (x / sigma_px) ** 2)
    k /= k.sum()
    out = np.asarray(image, dtype=np.float64)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        for i, weight in enumerate(k):
            acc += weight * (padded[i : i + out.shape[0]] if axis == 0 else padded[:, i : i + out.shape[1]])
        out = acc
    return out


def vignetting_gain(height: int, width: int, strength: float) -> np.ndarray:
    """Radiance gain per pixel: 1 at the centre, 1 - strength at the corners (r^2 falloff)."""
    y = (np.arange(height) + 0.5 - height / 2) / (height / 2)
    x = (np.arange(width) + 0.5 - width / 2) / (width / 2)
    r2 = (x[None, :] ** 2 + y[:, None] ** 2) / 2  # 1 at the corners
    return 1.0 - strength * r2


def noise_seed(seed: int, frame: int, camera: str) -> np.random.SeedSequence:
    """Sensor noise depends only on (run seed, frame, camera name)."""
    return np.random.SeedSequence([seed, frame, *camera.encode("utf-8")])


def sensor_temperature(
    radiance: np.ndarray,
    *,
    netd: float = 0.0,
    vignetting: float = 0.0,
    blur: float = 0.0,
    rng: np.random.Generator | None = None,
    band_um=BAND_UM,
) -> np.ndarray:
    """The thermal image in kelvin (float32) from band radiance at the lens.

    Optics first (blur: Gaussian sigma in pixels; vignetting: radiance lost at the corners),
    then the radiometric inverse, then temporal noise with standard deviation NETD (kelvin).
    """
    r = gaussian_blur(np.asarray(radiance, dtype=np.float64), blur)
    if vignetting:
        r = r * vignetting_gain(r.shape[0], r.shape[1], vignetting)
    t = brightness_temperature(r, band_um)
    if netd > 0:
        rng = rng or np.random.default_rng()
        t = t + rng.normal(0.0, netd, size=t.shape)
    return t.astype(np.float32)


# ------------------------------------------------------------------ palettes (8-bit preview)

# Control points (position, sRGB 0..255) of the palettes thermal cameras ship with.
PALETTES = {
    "white_hot": [(0.0, (0, 0, 0)), (1.0, (255, 255, 255))],
    "black_hot": [(0.0, (255, 255, 255)), (1.0, (0, 0, 0))],
    "iron": [
        (0.00, (0, 0, 0)),
        (0.15, (32, 0, 96)),
        (0.30, (112, 0, 144)),
        (0.45, (184, 16, 112)),
        (0.60, (224, 72, 32)),
        (0.75, (248, 144, 0)),
        (0.90, (255, 216, 48)),
        (1.00, (255, 255, 224)),
    ],
    "rainbow": [
        (0.0, (0, 0, 128)),
        (0.2, (0, 64, 255)),
        (0.4, (0, 224, 224)),
        (0.6, (64, 224, 0)),
        (0.8, (255, 192, 0)),
        (1.0, (255, 0, 0)),
    ],
}


def preview_range(kelvin: np.ndarray, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    """The span the palette covers: given, or the 1st .. 99th percentile of the frame."""
    finite = kelvin[np.isfinite(kelvin)]
    lo = float(np.percentile(finite, 1)) if low is None and finite.size else (low if low is not None else 0.0)
    hi = float(np.percentile(finite, 99)) if high is None and finite.size else (high if high is not None else 1.0)
    if hi <= lo:
        hi = lo + 1.0  # a uniform frame: the middle of the palette would hide nothing
    return lo, hi


def palette_image(kelvin: np.ndarray, palette: str = "iron", low=None, high=None) -> np.ndarray:
    """(H, W, 4) uint8 RGBA preview of a kelvin image."""
    lo, hi = preview_range(kelvin, low, high)
    points = PALETTES[palette]
    pos = np.array([p for p, _c in points])
    cols = np.array([c for _p, c in points], dtype=np.float64)
    u = np.clip((kelvin.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0)
    rgb = np.stack([np.interp(u, pos, cols[:, i]) for i in range(3)], axis=-1)
    out = np.empty((*kelvin.shape, 4), dtype=np.uint8)
    out[..., :3] = np.rint(rgb).astype(np.uint8)
    out[..., 3] = 255
    return out
