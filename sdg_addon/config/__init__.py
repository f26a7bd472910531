"""Parameter files: parse and validate (no bpy)."""

from .problems import ConfigError, Problem
from .schema import Config, load_config

__all__ = ["Config", "ConfigError", "Problem", "load_config"]
