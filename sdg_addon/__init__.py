"""Synthetic data generator for Blender: the core (plain Python + numpy) and the UI.

Importing this package imports nothing from Blender, so the core (config, sampling,
annotators, writers, ...) works in plain Python. Blender calls register()/unregister()
when the extension is enabled/disabled; only then is the bpy-using UI (ui/) imported.
"""

__version__ = "0.1.0"


def register() -> None:
    from . import ui

    ui.register()


def unregister() -> None:
    from . import ui

    ui.unregister()


__all__ = ["__version__", "register", "unregister"]
