"""Blender extension entry point: Blender imports this folder as `bl_ext.<repo>.synthetic_data_generator`.

Everything lives in the sdg_addon package; the UI is loaded only when Blender enables
the add-on (register), so plain Python can import the core without Blender.
"""

if __package__:  # imported as a package (Blender); pytest may import this file alone when
    # the checkout's folder name is not a Python name (e.g. "my-repo"): nothing to do then.
    from .sdg_addon import register, unregister

    __all__ = ["register", "unregister"]
