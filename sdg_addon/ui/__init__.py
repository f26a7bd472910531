"""The Blender UI: sidebar panels (3D View > Sidebar > SDG), operators, settings.

Thin: everything it does goes through the core. Registered in one place (here): each
module with Blender classes exports a CLASSES tuple; unregister runs in reverse and
deletes added properties. bpy is imported only on register, so the pure helpers
(labels.rules) import without Blender.
"""

from __future__ import annotations

_generated: tuple = ()  # property groups made from the registries at register time


def classes() -> tuple:
    from . import infrared, labels, parameters, props, randomizers, recording, visualizer

    return (
        *props.CLASSES,
        *_generated,
        *labels.CLASSES,
        *infrared.CLASSES,
        *recording.CLASSES,
        *parameters.CLASSES,
        *randomizers.CLASSES,
        *visualizer.CLASSES,
    )


def register() -> None:
    global _generated
    import bpy

    from . import job, props, settings

    _generated = settings.make_classes()
    for cls in classes():
        bpy.utils.register_class(cls)
    props.register_properties()
    settings.register_properties(_generated)
    if job.on_load_pre not in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.append(job.on_load_pre)
    if job.on_save_post not in bpy.app.handlers.save_post:
        bpy.app.handlers.save_post.append(job.on_save_post)


def unregister() -> None:
    import bpy

    from . import job, props, settings

    global _generated
    job.shutdown()
    if job.on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(job.on_load_pre)
    if job.on_save_post in bpy.app.handlers.save_post:
        bpy.app.handlers.save_post.remove(job.on_save_post)
    settings.unregister_properties()
    props.unregister_properties()
    for cls in reversed(classes()):
        bpy.utils.unregister_class(cls)
    _generated = ()
