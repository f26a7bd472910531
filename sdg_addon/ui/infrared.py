"""Thermal / NIR panel: the custom properties thermal and NIR cameras read, on the active
object (temperature, emissivity, NIR reflectance), the active camera (its sensor) and the
world (sky temperature). They are plain custom properties, so a .blend keeps them and the
headless renderer reads the same ones (docs/sensors.md)."""

from __future__ import annotations

import bpy
from bpy.props import EnumProperty, StringProperty

from ..sensors import EMISSIVITY_PROP, NIR_REFLECTANCE_PROP, SENSOR_PROP, TEMPERATURE_PROP
from .props import SidebarPanel

# property -> (label, default when added)
SURFACE_PROPERTIES = {
    TEMPERATURE_PROP: ("Temperature (K)", 293.15),
    EMISSIVITY_PROP: ("Emissivity", 0.95),
    NIR_REFLECTANCE_PROP: ("NIR Reflectance", 0.5),
}
# property -> the range and tooltip its field keeps to (id_properties_ui)
PROPERTY_UI = {
    TEMPERATURE_PROP: {
        "min": 0.0,
        "soft_min": 200.0,
        "soft_max": 1500.0,
        "description": "Surface temperature in kelvin (293.15 K = 20 deg C), what a thermal camera reads",
    },
    EMISSIVITY_PROP: {
        "min": 0.0,
        "max": 1.0,
        "description": "LWIR emissivity, 0 .. 1: 1 emits as a black body, 1 - emissivity reflects the surroundings",
    },
    NIR_REFLECTANCE_PROP: {
        "min": 0.0,
        "max": 1.0,
        "description": "Near-infrared reflectance, 0 .. 1 (unset: from the base colour)",
    },
}
SENSOR_ITEMS = (
    ("visible", "Visible", "an RGB camera (no property)"),
    ("thermal", "Thermal", "LWIR 8-14 um: radiometric kelvin image"),
    ("nir", "NIR", "near-infrared grey image"),
)
LINKED = "{name!r} is linked from a library, and Blender does not save changes to linked data: set it in its own .blend"
OWNER_ITEMS = (("OBJECT", "Object", "the active object"), ("WORLD", "World", "the scene's world"))


def _owner(context, owner: str):
    return context.scene.world if owner == "WORLD" else context.active_object


class SDG_OT_infrared_property(bpy.types.Operator):
    """Add a thermal / NIR property with its default value, or remove it"""

    bl_idname = "sdg.infrared_property"
    bl_label = "Infrared Property"
    bl_options = {"REGISTER", "UNDO"}

    prop: StringProperty(name="Property")
    owner: EnumProperty(name="Owner", items=OWNER_ITEMS, default="OBJECT")
    remove: bpy.props.BoolProperty(name="Remove", default=False)

    @classmethod
    def poll(cls, context):
        from .job import not_recording

        return context.scene is not None and not_recording(cls)

    def execute(self, context):
        if self.prop not in SURFACE_PROPERTIES:
            known = ", ".join(repr(p) for p in SURFACE_PROPERTIES)
            self.report({"ERROR"}, f"Infrared Property: {self.prop!r} is not a thermal / NIR property; one of {known}")
            return {"CANCELLED"}
        target = _owner(context, self.owner)
        if target is None:
            missing = (
                "the scene has no world: add one in the World properties"
                if self.owner == "WORLD"
                else "there is no active object: click the object to set it on"
            )
            self.report({"ERROR"}, f"Infrared Property: {missing}")
            return {"CANCELLED"}
        if target.library is not None:
            self.report({"ERROR"}, f"Infrared Property: {LINKED.format(name=target.name)}")
            return {"CANCELLED"}
        if self.remove:
            target.pop(self.prop, None)
        else:
            target[self.prop] = SURFACE_PROPERTIES[self.prop][1]
            target.id_properties_ui(self.prop).update(**PROPERTY_UI[self.prop])  # the field keeps to it
        return {"FINISHED"}


class SDG_OT_camera_sensor(bpy.types.Operator):
    """Make the active camera a visible, thermal or NIR camera (its `sdg_sensor` property)"""

    bl_idname = "sdg.camera_sensor"
    bl_label = "Camera Sensor"
    bl_options = {"REGISTER", "UNDO"}

    sensor: EnumProperty(name="Sensor", items=SENSOR_ITEMS, default="thermal")

    @classmethod
    def poll(cls, context):
        from .job import not_recording

        obj = context.active_object
        return obj is not None and obj.type == "CAMERA" and not_recording(cls)

    def execute(self, context):
        cam = context.active_object
        if cam.library is not None:
            self.report({"ERROR"}, f"Camera Sensor: {LINKED.format(name=cam.name)}")
            return {"CANCELLED"}
        if self.sensor == "visible":
            cam.pop(SENSOR_PROP, None)
        else:
            cam[SENSOR_PROP] = self.sensor
        return {"FINISHED"}


def _property_rows(layout, target, owner: str, props) -> None:
    col = layout.column(align=True)
    for prop in props:
        label = SURFACE_PROPERTIES[prop][0]
        row = col.row(align=True)
        if prop in target:
            row.prop(target, f'["{prop}"]', text=label)
            op = row.operator(SDG_OT_infrared_property.bl_idname, text="", icon="X", emboss=False)
            op.prop, op.owner, op.remove = prop, owner, True
        else:
            op = row.operator(SDG_OT_infrared_property.bl_idname, text=f"Set {label}", icon="ADD")
            op.prop, op.owner, op.remove = prop, owner, False


class SDG_PT_infrared(SidebarPanel, bpy.types.Panel):
    bl_idname = "SDG_PT_infrared"
    bl_label = "Thermal / NIR"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        from .recording import off_while_recording

        layout = off_while_recording(self.layout)
        obj = context.active_object
        if obj is not None and obj.type == "CAMERA":
            box = layout.box()
            box.label(text=f"{obj.name}: {obj.get(SENSOR_PROP, 'visible')} camera", icon="CAMERA_DATA")
            row = box.row(align=True)
            for value, text, _doc in SENSOR_ITEMS:
                row.operator(SDG_OT_camera_sensor.bl_idname, text=text).sensor = value
        elif obj is not None:
            box = layout.box()
            box.label(text=obj.name, icon="OBJECT_DATA")
            _property_rows(box, obj, "OBJECT", SURFACE_PROPERTIES)
            box.label(text="Unset: from parents, material, then [thermal] defaults", icon="INFO")
        else:
            layout.label(text="No active object", icon="OBJECT_DATA")
        if context.scene.world is not None:
            box = layout.box()
            box.label(text="Sky", icon="WORLD")
            _property_rows(box, context.scene.world, "WORLD", (TEMPERATURE_PROP,))


CLASSES = (SDG_OT_infrared_property, SDG_OT_camera_sensor, SDG_PT_infrared)
