"""Rotation helpers in numpy (no bpy): Blender's XYZ Euler convention, R = Rz @ Ry @ Rx."""

from __future__ import annotations

import math

import numpy as np


def euler_matrix(degrees) -> np.ndarray:
    a, b, c = (math.radians(x) for x in degrees)
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def matrix_euler(r: np.ndarray) -> list[float]:
    """XYZ Euler angles in degrees of a rotation matrix (inverse of euler_matrix)."""
    sy = -float(np.clip(r[2, 0], -1.0, 1.0))
    b = math.asin(sy)
    if abs(sy) < 1 - 1e-9:
        a = math.atan2(r[2, 1], r[2, 2])
        c = math.atan2(r[1, 0], r[0, 0])
    else:  # gimbal lock: put everything in a
        a = math.atan2(-r[1, 2], r[1, 1])
        c = 0.0
    return [math.degrees(a), math.degrees(b), math.degrees(c)]


def rotation_z(degrees: float) -> np.ndarray:
    return euler_matrix([0.0, 0.0, degrees])


def align_z(normal) -> np.ndarray:
    """The smallest rotation taking +Z to `normal` (unit)."""
    n = np.asarray(normal, float)
    n = n / np.linalg.norm(n)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(z, n)
    s, c = np.linalg.norm(axis), float(np.dot(z, n))
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation uniform over SO(3) (random unit quaternion)."""
    u1, u2, u3 = rng.random(3)
    q = np.array(
        [
            math.sqrt(1 - u1) * math.sin(2 * math.pi * u2),
            math.sqrt(1 - u1) * math.cos(2 * math.pi * u2),
            math.sqrt(u1) * math.sin(2 * math.pi * u3),
            math.sqrt(u1) * math.cos(2 * math.pi * u3),
        ]
    )
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def compose(location, rotation: np.ndarray, scale) -> np.ndarray:
    """[R S | t]: `scale` a number or 3 (one per local axis, scaling R's columns)."""
    m = np.eye(4)
    m[:3, :3] = rotation * scale
    m[:3, 3] = location
    return m
