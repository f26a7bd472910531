"""The viewport made to show what renders, for the geometry a run reads.

Cycles renders with each setting's render value; the geometry the annotators read
(silhouettes, occlusion, object poses, instances made real) comes from the view layer's
depsgraph, evaluated with the viewport values. A .blend often has them apart: a Subdivision
Surface modifier is made with 1 level in the viewport and 2 in renders, heavy particle
systems show a tenth of their particles (or dots in their place), a Screw spins in fewer steps and an Ocean is coarser,
objects and modifiers are hidden in the viewport but render. Here every such setting takes its
render value, in the run's scene only (the headless runner's appended copy; the open scene is
restored after a UI recording).

Not covered: Geometry Nodes trees that branch on "Is Viewport" (they see the viewport; the run
names them, scene.build.viewport_branch_note).
"""

from __future__ import annotations

import bpy

# Modifier types whose level of detail has a viewport (`levels`) and a render value
# (`render_levels`); so have a Screw's steps (`steps`, `render_steps`) and an Ocean's
# resolution (`viewport_resolution`, `resolution`).
_LEVELS = ("SUBSURF", "MULTIRES")


def match_viewport_to_render(scene) -> list[str]:
    """Give the viewport settings of the scene's objects, of the collections and of the
    scene's simplification their render values; return what changed, e.g.
    `'crate_body' modifiers["Subdivision"].levels 1 -> 2` (for the log)."""
    changed: list[str] = []

    def set_to(owner, name: str, value, what: str) -> None:
        if getattr(owner, name) != value:
            changed.append(f"{what}.{name} {getattr(owner, name)!r} -> {value!r}")
            setattr(owner, name, value)

    r = scene.render
    if r.use_simplify:
        set_to(r, "simplify_subdivision", r.simplify_subdivision_render, "render")
        set_to(r, "simplify_child_particles", r.simplify_child_particles_render, "render")
    for coll in bpy.data.collections:
        if coll.hide_viewport and not coll.hide_render:
            set_to(coll, "hide_viewport", False, f"collection {coll.name!r}")
    for obj in scene.objects:
        where = f"{obj.name!r}"
        if obj.hide_viewport and not obj.hide_render:
            set_to(obj, "hide_viewport", False, where)
        for mod in getattr(obj, "modifiers", ()):
            if mod.show_viewport != mod.show_render:
                set_to(mod, "show_viewport", mod.show_render, f'{where} modifiers["{mod.name}"]')
            if mod.type in _LEVELS:
                set_to(mod, "levels", mod.render_levels, f'{where} modifiers["{mod.name}"]')
            elif mod.type == "SCREW":
                set_to(mod, "steps", mod.render_steps, f'{where} modifiers["{mod.name}"]')
            elif mod.type == "OCEAN":
                set_to(mod, "viewport_resolution", mod.resolution, f'{where} modifiers["{mod.name}"]')
        for psys in getattr(obj, "particle_systems", ()):
            settings = psys.settings
            if settings is None:
                continue
            set_to(settings, "display_percentage", 100, f"particles {settings.name!r}")
            if settings.render_type in ("OBJECT", "COLLECTION"):  # shown as dots (or not at all): no instances
                set_to(settings, "display_method", "RENDER", f"particles {settings.name!r}")
            if settings.child_type != "NONE":
                set_to(settings, "child_percent", settings.rendered_child_count, f"particles {settings.name!r}")
        data = obj.data
        if obj.type in ("CURVE", "SURFACE", "FONT") and getattr(data, "render_resolution_u", 0) > 0:
            set_to(data, "resolution_u", data.render_resolution_u, f"{where} data")
            if obj.type == "SURFACE" and data.render_resolution_v > 0:
                set_to(data, "resolution_v", data.render_resolution_v, f"{where} data")
        elif obj.type == "META" and data.render_resolution > 0:
            set_to(data, "resolution", data.render_resolution, f"{where} data")
    return changed
