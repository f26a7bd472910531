"""The Blender UI: sidebar panels (3D View > Sidebar > SDG), operators, settings.

Thin: everything it does goes through the core. Registered in one place (here): each
module with Blender classes exports a CLASSES tuple; unregister runs in reverse and
deletes added properties. bpy is imported only on register, so the pure helpers
(labels.rules) import without Blender.
"""

from __future__ import annotations


def classes() -> tuple:
    from . import labels, props, recording

    return (*props.CLASSES, *labels.CLASSES, *recording.CLASSES)


def register() -> None:
    import bpy

    from . import job, props

    for cls in classes():
        bpy.utils.register_class(cls)
    props.register_properties()
    if job.on_load_pre not in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.append(job.on_load_pre)


def unregister() -> None:
    import bpy

    from . import job, props

    job.shutdown()
    if job.on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(job.on_load_pre)
    props.unregister_properties()
    for cls in reversed(classes()):
        bpy.utils.unregister_class(cls)
