"""Third-party writers from installed Python packages, through entry points.

A package declares its writer in its own metadata (pyproject.toml):

    [project.entry-points."sdg.writers"]
    my_format = "my_package.writer:MyWriter"

and a parameter file enables it by name, like a built-in one: `[writers.my_format]`.
Only entry points of installed distributions are consulted, and only those a parameter
file names are imported; nothing is ever imported from a path or module name written in
a parameter file (config is data, never code).
"""

from __future__ import annotations

from importlib import metadata

from .base import WRITERS, Writer, register_writer

GROUP = "sdg.writers"


class PluginError(ValueError):
    """A named writer is neither built in nor provided by an installed package, or its
    entry point does not give a usable Writer class."""


def _entry_points(name: str | None = None) -> list[metadata.EntryPoint]:
    eps = metadata.entry_points(group=GROUP)
    return [ep for ep in eps if name is None or ep.name == name]


def available_plugin_writers() -> list[str]:
    """Names of the writers installed packages offer (nothing is imported)."""
    return sorted({ep.name for ep in _entry_points()})


def load_plugin_writer(name: str) -> type[Writer]:
    """Import the writer that the entry point `name` of group "sdg.writers" points to and
    register it; a name already registered (built in, or loaded before) is returned as is."""
    if name in WRITERS:
        return WRITERS[name]
    eps = _entry_points(name)
    if not eps:
        raise PluginError(
            f"unknown writer {name!r}; built in: {sorted(WRITERS)}; "
            f"from installed packages (entry point group {GROUP!r}): {available_plugin_writers()}"
        )
    if len({ep.value for ep in eps}) > 1:
        raise PluginError(f"writer {name!r} is offered by several installed packages: {[ep.value for ep in eps]}")
    ep = eps[0]
    try:
        cls = ep.load()
    except Exception as e:  # any import-time failure of the plugin package
        raise PluginError(f"writer {name!r} ({ep.value}) failed to load: {type(e).__name__}: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, Writer)):
        raise PluginError(f"writer {name!r} ({ep.value}) is not a subclass of sdg_addon.writers.Writer")
    if cls.name != name:
        raise PluginError(f"writer {name!r} ({ep.value}) has name {cls.name!r}; the two must be equal")
    if WRITERS.get(name) is not cls:
        register_writer(cls)
    return cls


def load_plugin_writers(names) -> dict[str, type[Writer]]:
    """Load (and register) the named writers that are not built in; see load_plugin_writer."""
    return {name: load_plugin_writer(name) for name in names}


def writer_registry(requested, report=None) -> dict[str, type[Writer]]:
    """The writer registry after loading the plugins a parameter file's `writers` value
    names (a table of name -> options, or a list of names). Problems go to
    report(field, value, expected) when given; unknown names are left for the caller's
    "a known writer" check."""
    if isinstance(requested, dict):
        names = list(requested)
    elif isinstance(requested, list):
        names = [x for x in requested if isinstance(x, str)]
    else:
        names = []
    for name in names:
        if name in WRITERS or not _entry_points(name):
            continue
        try:
            load_plugin_writer(name)
        except PluginError as e:
            if report is None:
                raise
            report(f"writers.{name}", name, f"a writer plugin that loads ({e})")
    return WRITERS
