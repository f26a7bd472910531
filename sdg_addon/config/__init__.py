"""Parameter files: parse and validate (no bpy).

`Config` and `load_config` are loaded on first use, so that registries (annotators,
writers, randomizers) can import config.fields without importing the whole schema,
which imports them.
"""

from .problems import ConfigError, FieldError, Problem

__all__ = ["Config", "ConfigError", "FieldError", "Problem", "load_config"]


def __getattr__(name: str):
    if name in ("Config", "load_config"):
        from . import schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
