"""A recording stand-in for Blender's UILayout: panels draw into it, and every property,
operator, operator property, menu and icon they name is checked against Blender's own
definitions (a panel naming something that does not exist fails). Used by
test_extension.py and by smoke_record.py (on Blender 4.2 and 5.x)."""

from __future__ import annotations

from types import SimpleNamespace


class FakeLayout:
    """Records layout calls and checks their arguments against Blender's own definitions."""

    def __init__(self, bpy, log, parent_enabled: bool = True):
        object.__setattr__(self, "bpy", bpy)
        object.__setattr__(self, "log", log)
        object.__setattr__(self, "parent_enabled", parent_enabled)  # a greyed-out parent greys its children
        icons = bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys()
        object.__setattr__(self, "icons", set(icons))

    def __setattr__(self, name, value):
        assert name in ("enabled", "active", "alert", "scale_y", "use_property_split"), name
        object.__setattr__(self, name, value)

    def _child(self, *args, **kwargs):
        return FakeLayout(self.bpy, self.log, self.is_enabled())

    def is_enabled(self) -> bool:
        return self.parent_enabled and getattr(self, "enabled", True)

    row = column = box = split = grid_flow = column_flow = _child

    def _icon(self, icon):
        assert icon in self.icons, f"unknown icon {icon!r}"

    def label(self, text="", icon="NONE", **kwargs):
        self._icon(icon)
        self.log.append(("label", text))

    def prop(self, data, prop, text=None, icon="NONE", **kwargs):
        self._icon(icon)
        custom = prop.startswith('["') and prop.endswith('"]') and prop[2:-2] in data  # an ID property
        assert custom or prop in data.bl_rna.properties.keys(), f"{type(data).__name__} has no property {prop!r}"
        self.log.append(("prop", prop))
        if not self.is_enabled():
            self.log.append(("prop_off", prop))  # drawn greyed out: it cannot be edited
        if text:
            self.log.append(("prop_text", text, bool(getattr(self, "alert", False))))

    def operator(self, idname, text=None, icon="NONE", **kwargs):
        self._icon(icon)
        module, name = idname.split(".")
        op = getattr(getattr(self.bpy.ops, module), name)
        op.get_rna_type()  # raises when the operator is not registered
        self.log.append(("operator", idname))
        if text:
            self.log.append(("operator_text", text, bool(getattr(self, "enabled", True))))
        return FakeOperatorProperties(op)

    def menu(self, menu, text=None, icon="NONE", **kwargs):
        self._icon(icon)
        assert hasattr(self.bpy.types, menu), f"no menu {menu!r}"
        self.log.append(("menu", menu))

    def progress(self, text="", factor=0.0, type="BAR", **kwargs):
        assert 0.0 <= factor <= 1.0 and type in ("BAR", "RING")
        self.log.append(("progress", text))

    def separator(self, **kwargs):
        pass


class FakeOperatorProperties:
    def __init__(self, op):
        object.__setattr__(self, "props", op.get_rna_type().properties)

    def __setattr__(self, name, value):
        assert name in self.props.keys(), f"operator has no property {name!r}"
        prop = self.props[name]
        if prop.type == "ENUM":
            assert value in prop.enum_items.keys(), (name, value)


def draw_panel(bpy, panel: str, **context) -> list:
    log: list = []
    ctx = SimpleNamespace(
        window_manager=bpy.context.window_manager,
        scene=bpy.context.scene,
        active_object=bpy.context.view_layer.objects.active,
        selected_objects=[o for o in bpy.context.scene.objects if o.select_get()],
        collection=bpy.context.collection,
    )
    vars(ctx).update(context)
    getattr(bpy.types, panel).draw(SimpleNamespace(layout=FakeLayout(bpy, log)), ctx)
    return log


def texts(log) -> str:
    """What the panel says, its labels joined by spaces: a sentence the panel wraps over
    several labels reads whole wherever it is cut (a path in it makes the cut move)."""
    return " ".join(str(entry[1]) for entry in log)
