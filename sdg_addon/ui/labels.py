"""Labels panel and operators: semantic labels (type:value) on objects and collections.

Labels are stored by the core (labels.blender) in the `semantics` custom property; this
module only reads and writes them through it.
"""

from __future__ import annotations

import json
from dataclasses import replace

import bpy
from bpy.props import EnumProperty, StringProperty

from ..config.fields import LABEL_TEXT, LABEL_TYPE_TEXT, composed, is_label_text, is_label_type
from ..labels.blender import (
    apply_label_rule,
    collection_parents,
    own_labels,
    rename_label_value,
    resolved_labels,
    set_labels,
    unlabelled_objects,
)
from ..labels.blender import rule_targets as core_rule_targets
from ..labels.parse import LABEL_PROPERTY
from ..labels.rules import NameRule, RuleValueError
from .props import PREFIXES_DOC, SCOPE_ITEMS, SidebarPanel, rule_property

WARN_TYPE = "class"  # the type writers use by default
MAX_NAMES = 5  # names listed in warnings and previews

TARGET_ITEMS = (
    ("SELECTED", "Selected Objects", "The selected objects"),
    ("ACTIVE", "Active Object", "The active object"),
    ("COLLECTION", "Active Collection", "The active collection (its objects inherit the label)"),
)


NOTHING_TO_LABEL = {
    "SELECTED": "no object is selected: select the objects to label",
    "ACTIVE": "there is no active object: click the object to label",
    "COLLECTION": "the active collection is the Scene Collection, which holds no labels: click a collection "
    "in the Outliner (its objects inherit the label)",
}


def format_labels(labels: dict[str, list[str]]) -> str:
    return ", ".join(f"{t}:{','.join(v)}" for t, v in sorted(labels.items())) or "(none)"


def check_label_text(label_type: str, value: str, need_value: bool = True) -> str | None:
    if not label_type.strip():
        return "the label type is empty (e.g. class)"
    if any(c in label_type for c in ":,"):
        return f"label type {label_type!r} must not contain ':' or ','"
    if need_value and not value.strip():
        return "the label value is empty (e.g. mug)"
    if "," in value:
        return f"label value {value!r} must not contain ','"
    if value.strip().startswith(f"{label_type.strip()}:"):  # 'class:mug' typed as the value
        return f"the value {value!r} repeats the type: type {value.split(':', 1)[1].strip()!r} alone as the value"
    if not is_label_type(label_type.strip()):  # what a run refuses in a .blend (labels.parse)
        return f"label type {label_type.strip()!r} is not {LABEL_TYPE_TEXT}"
    if value.strip() and not is_label_text(value.strip()):
        return f"label value {value.strip()!r} is not {LABEL_TEXT}"
    return None


def label_targets(context, target: str) -> list:
    """Objects or collections an operator works on; the scene's master collection is never one."""
    if target == "ACTIVE":
        return [context.active_object] if context.active_object else []
    if target == "COLLECTION":
        coll = getattr(context, "collection", None)
        scene = context.scene
        return [coll] if coll is not None and scene is not None and coll != scene.collection else []
    return list(getattr(context, "selected_objects", None) or [])


def rule_targets(scene, scope: str, selected=(), rule: NameRule | None = None) -> list:
    """The panel's scopes on the core's targets (labels.blender.rule_targets)."""
    rule = rule or NameRule()
    if scope == "SELECTED":
        return core_rule_targets(scene, rule, selected)
    return core_rule_targets(scene, replace(rule, scope=scope.lower()))


def _describe(idblock) -> str:
    return f"{'collection' if isinstance(idblock, bpy.types.Collection) else 'object'} {idblock.name!r}"


def split_linked(blocks) -> tuple[list, list]:
    """The objects or collections a change to is saved, and those linked from a library
    (Blender does not save changes to linked data: a label would be gone after a save)."""
    return [b for b in blocks if b.library is None], [b for b in blocks if b.library is not None]


def which(blocks: list, total: int) -> str:
    """Objects or a collection an operator worked on, of the `total` it was given, in words:
    "object 'a'", "collection 'props'", "the 2 selected objects", "2 of the 3 selected objects"."""
    if len(blocks) == 1:
        return _describe(blocks[0])
    return f"the {total} selected objects" if len(blocks) == total else f"{len(blocks)} of the {total} selected objects"


def has(blocks: list) -> str:
    return "has" if len(blocks) == 1 else "have"


def linked_text(linked: list) -> str:
    names = ", ".join(b.name for b in linked[:MAX_NAMES]) + (", ..." if len(linked) > MAX_NAMES else "")
    return f"{len(linked)} linked from a library left as it is ({names}): label it in its own .blend"


class SDG_OT_add_label(bpy.types.Operator):
    """Add a type:value label to the selected objects (or the active object / collection)"""

    bl_idname = "sdg.add_label"
    bl_label = "Add Label"
    bl_options = {"REGISTER", "UNDO"}

    label_type: StringProperty(name="Type", default="class")
    value: StringProperty(name="Value", default="")
    target: EnumProperty(name="Target", items=TARGET_ITEMS, default="SELECTED")

    @classmethod
    def poll(cls, context):
        from .job import not_recording

        return (
            context.scene is not None
            and bool(
                getattr(context, "selected_objects", None)
                or context.active_object
                or getattr(context, "collection", None)
            )
            and not_recording(cls)
        )

    def execute(self, context):
        problem = check_label_text(self.label_type, self.value)
        if problem:
            self.report({"ERROR"}, f"Add Label: {problem}")
            return {"CANCELLED"}
        targets = label_targets(context, self.target)
        if not targets:
            self.report({"ERROR"}, f"Add Label: {NOTHING_TO_LABEL[self.target]}")
            return {"CANCELLED"}
        targets, linked = split_linked(targets)
        if linked:
            self.report({"WARNING" if targets else "ERROR"}, f"Add Label: {linked_text(linked)}")
        if not targets:
            return {"CANCELLED"}
        # Composed, as a run reads every label: 'café' pasted decomposed is the stored 'café'.
        label_type, value = composed(self.label_type.strip()), composed(self.value.strip())
        changed, had, errors = [], [], []
        for idblock in targets:
            try:
                labels = own_labels(idblock)
            except ValueError as e:
                errors.append(str(e))
                continue
            values = labels.setdefault(label_type, [])
            if value in values:
                had.append(idblock)
                continue
            values.append(value)
            set_labels(idblock, labels)
            changed.append(idblock)
        for e in errors:
            self.report({"ERROR"}, f"Add Label: {e} (fix or remove its '{LABEL_PROPERTY}' property)")
        label = f"{label_type}:{value}"
        if changed:
            text = f"Added {label} to {which(changed, len(targets))}"
            if had:
                text += f"; {which(had, len(targets))} already had it"
            if self.target == "COLLECTION":
                text += " (its objects inherit it)"
            self.report({"INFO"}, text)
        elif had:
            self.report({"INFO"}, f"Add Label: {which(had, len(targets))} already {has(had)} {label}")
        return {"FINISHED"} if changed or not errors else {"CANCELLED"}


class SDG_OT_remove_label(bpy.types.Operator):
    """Remove a label (one value, or the whole type when Value is empty)"""

    bl_idname = "sdg.remove_label"
    bl_label = "Remove Label"
    bl_options = {"REGISTER", "UNDO"}

    label_type: StringProperty(name="Type", default="class")
    value: StringProperty(name="Value", default="", description="Empty: remove every value of the type")
    target: EnumProperty(name="Target", items=TARGET_ITEMS, default="SELECTED")

    @classmethod
    def poll(cls, context):
        return SDG_OT_add_label.poll.__func__(cls, context)

    def execute(self, context):
        problem = check_label_text(self.label_type, self.value, need_value=False)
        if problem:
            self.report({"ERROR"}, f"Remove Label: {problem}")
            return {"CANCELLED"}
        label_type, value = composed(self.label_type.strip()), composed(self.value.strip())  # as stored
        changed = []
        targets = label_targets(context, self.target)
        if not targets:
            self.report({"ERROR"}, f"Remove Label: {NOTHING_TO_LABEL[self.target]}")
            return {"CANCELLED"}
        targets, linked = split_linked(targets)
        if linked:
            self.report({"WARNING"}, f"Remove Label: {linked_text(linked)}")
        for idblock in targets:
            try:
                labels = own_labels(idblock)
            except ValueError as e:
                self.report({"ERROR"}, f"Remove Label: {e}")
                continue
            if label_type not in labels:
                continue
            if value:
                if value not in labels[label_type]:
                    continue
                labels[label_type] = [v for v in labels[label_type] if v != value]
            if not value or not labels[label_type]:
                del labels[label_type]
            if labels:
                set_labels(idblock, labels)
            else:
                del idblock[LABEL_PROPERTY]
            changed.append(idblock)
        label = f"{label_type}:{value}" if value else f"{label_type} label"
        if changed:
            self.report({"INFO"}, f"Removed {label} from {which(changed, len(targets))}")
        elif targets:
            self.report({"WARNING"}, f"Remove Label: {which(targets, len(targets))} {has(targets)} no {label}")
        return {"FINISHED"} if changed else {"CANCELLED"}


class SDG_OT_label_by_rule(bpy.types.Operator):
    """Label objects (or collections) from their names: strip prefix and suffix, match a pattern"""

    bl_idname = "sdg.label_by_rule"
    bl_label = "Label by Name Rule"
    bl_options = {"REGISTER", "UNDO"}

    label_type: StringProperty(name="Type", default="class")
    pattern: rule_property("pattern")
    prefixes: rule_property("prefixes", name="Strip Prefixes", description=PREFIXES_DOC)
    suffix: rule_property("suffix", name="Strip Suffix")
    lowercase: rule_property("lowercase")
    scope: EnumProperty(name="Apply To", items=SCOPE_ITEMS, default="MESHES")
    overwrite: rule_property("overwrite")

    @classmethod
    def poll(cls, context):
        from .job import not_recording

        return context.scene is not None and not_recording(cls)

    def rule(self) -> NameRule:
        return NameRule.from_text(
            self.pattern,
            self.prefixes,
            self.suffix,
            self.lowercase,
            type=self.label_type.strip(),
            overwrite=self.overwrite,
        )

    def execute(self, context):
        problem = check_label_text(self.label_type, "", need_value=False) or self.rule().check()
        if problem:
            self.report({"ERROR"}, f"Label by Rule: {problem}")
            return {"CANCELLED"}
        rule = self.rule()
        selected = getattr(context, "selected_objects", None) or []
        if self.scope == "SELECTED" and not selected:
            self.report({"WARNING"}, f"Label by Rule: {NOTHING_TO_LABEL['SELECTED']}")
            return {"CANCELLED"}
        targets, linked = split_linked(rule_targets(context.scene, self.scope, selected, rule))
        if linked:
            self.report({"WARNING"}, f"Label by Rule: {linked_text(linked)}")
        try:
            done, kept, unmatched = apply_label_rule(rule, targets, context.scene)
        except RuleValueError as e:  # nothing labelled
            self.report({"ERROR"}, f"Label by Rule: {e}")
            return {"CANCELLED"}
        except ValueError as e:
            self.report({"ERROR"}, f"Label by Rule: {e} (fix or remove its '{LABEL_PROPERTY}' property)")
            return {"CANCELLED"}
        labelled = [f"{name}->{value}" for name, value in done]
        noun = "collection(s)" if self.scope == "COLLECTIONS" else "object(s)"
        text = f"Labelled {len(labelled)} {noun}"
        if labelled:
            text += f" ({', '.join(labelled[:MAX_NAMES])}{', ...' if len(labelled) > MAX_NAMES else ''})"
        if kept:
            text += f"; kept {kept} already labelled (enable Overwrite to replace)"
        if unmatched:
            text += f"; {len(unmatched)} did not match: {', '.join(unmatched[:MAX_NAMES])}"
        self.report({"INFO"}, text)
        return {"FINISHED"} if labelled else {"CANCELLED"}


def sections_naming(data, label_type: str, value: str, where: str = "") -> list[str]:
    """Where a parameter-file table (an imported section the panels keep) has the label
    `label_type`: `value` in a `labels` table, e.g. ['assets[0].labels']."""
    found = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, item in items:
        path = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}" if where else str(key)
        if key == "labels" and isinstance(item, dict):
            values = item.get(label_type)
            if value == values or (isinstance(values, list) and value in values):
                found.append(path)
        else:
            found += sections_naming(item, label_type, value, path)
    return found


class SDG_OT_rename_label_value(bpy.types.Operator):
    """Rename a label value on every object and collection of the file that has it (e.g. class mugg -> mug)"""

    bl_idname = "sdg.rename_label_value"
    bl_label = "Rename Label Value"
    bl_options = {"REGISTER", "UNDO"}

    label_type: StringProperty(name="Type", default="class")
    old_value: StringProperty(name="Old Value", default="")
    new_value: StringProperty(name="New Value", default="")

    @classmethod
    def poll(cls, context):
        from .job import not_recording

        # During a recording the open scene is the randomized one, restored by undo at its end.
        return context.scene is not None and not_recording(cls)

    def execute(self, context):
        problem = check_label_text(self.label_type, self.old_value) or check_label_text(self.label_type, self.new_value)
        label_type, old, new = (composed(t.strip()) for t in (self.label_type, self.old_value, self.new_value))
        if not problem and old == new:
            problem = f"the new value is the old one ({old!r})"
        if problem:
            self.report({"ERROR"}, f"Rename Label Value: {problem}")
            return {"CANCELLED"}
        # Linked data (from a library .blend) cannot be edited here: counted, not changed.
        blocks = [*bpy.data.objects, *bpy.data.collections]
        local = [b for b in blocks if b.library is None]
        changed, problems = rename_label_value(local, label_type, old, new)
        linked = [b for b in blocks if b.library is not None and old in own_labels_or_empty(b).get(label_type, [])]
        for p in problems:
            self.report({"ERROR"}, f"Rename Label Value: {p} (fix or remove its '{LABEL_PROPERTY}' property)")
        objects = sum(isinstance(b, bpy.types.Object) for b in changed)
        if linked:
            self.report(
                {"WARNING"},
                f"{len(linked)} linked from a library keep {label_type}:{old} ({', '.join(b.name for b in linked[:MAX_NAMES])}): "
                "rename it in their own .blend",
            )
        extra = sections_naming(json.loads(context.scene.sdg.extra_json or "{}"), label_type, old)
        if extra:
            self.report(
                {"WARNING"},
                f"the imported parameter sections still name {label_type}:{old} ({', '.join(extra)}): "
                "edit the parameter file and import it again",
            )
        if not changed:
            self.report({"ERROR"}, f"Rename Label Value: no object or collection has the label {label_type}:{old}")
            return {"CANCELLED"}
        names = ", ".join(b.name for b in changed[:MAX_NAMES]) + (", ..." if len(changed) > MAX_NAMES else "")
        self.report(
            {"INFO"},
            f"Renamed {label_type}:{old} to {label_type}:{new} on {objects} object(s) and "
            f"{len(changed) - objects} collection(s): {names}",
        )
        return {"FINISHED"}


def own_labels_or_empty(idblock) -> dict[str, list[str]]:
    try:
        return own_labels(idblock)
    except ValueError:
        return {}


class SDG_PT_labels(SidebarPanel, bpy.types.Panel):
    bl_idname = "SDG_PT_labels"
    bl_label = "Semantic Labels"

    def draw(self, context):
        layout = self.layout
        settings = context.window_manager.sdg
        scene = context.scene
        if scene is None:
            return
        draw_active(layout, context, scene)

        box = layout.box()
        box.label(text="Add Label", icon="ADD")
        row = box.row(align=True)
        row.prop(settings, "label_type", text="")
        row.prop(settings, "label_value", text="")
        row = box.row(align=True)
        # The active collection (the Outliner's): the Scene Collection holds no labels.
        coll = getattr(context, "collection", None)
        coll = coll if coll is not None and coll != scene.collection else None
        for target, text in (("SELECTED", "Selected"), ("COLLECTION", "Collection")):
            sub = row.row(align=True)
            if target == "COLLECTION":
                sub.enabled = coll is not None
                text = f"Collection '{coll.name}'" if coll is not None else text
            op = sub.operator(SDG_OT_add_label.bl_idname, text=text)
            op.label_type, op.value, op.target = settings.label_type, settings.label_value, target
        op = row.operator(SDG_OT_remove_label.bl_idname, text="", icon="X")
        op.label_type, op.value, op.target = settings.label_type, settings.label_value, "SELECTED"
        if coll is not None:
            try:
                text = format_labels(own_labels(coll))
            except ValueError as e:
                text = str(e)
            box.label(text=f"Collection '{coll.name}': {text}", icon="OUTLINER_COLLECTION")

        draw_rename(layout.box(), settings)
        draw_rule(layout.box(), context, settings, scene)
        draw_warning(layout, scene)


def draw_rename(box, settings):
    box.label(text="Rename Label Value", icon="FONT_DATA")
    row = box.row(align=True)
    row.prop(settings, "label_type", text="")
    row.prop(settings, "rename_from", text="")
    row.label(text="", icon="FORWARD")
    row.prop(settings, "rename_to", text="")
    op = box.operator(SDG_OT_rename_label_value.bl_idname, text="Rename Everywhere", icon="FILE_REFRESH")
    op.label_type, op.old_value, op.new_value = settings.label_type, settings.rename_from, settings.rename_to


def draw_active(layout, context, scene):
    box = layout.box()
    obj = context.active_object
    if obj is None:
        box.label(text="No active object", icon="OBJECT_DATA")
        return
    box.label(text=obj.name, icon="OBJECT_DATA")
    try:
        own = own_labels(obj)
        resolved = resolved_labels(obj, collection_parents(scene))
    except ValueError as e:
        box.label(text=str(e), icon="ERROR")
        return
    col = box.column(align=True)
    col.label(text="Own:" if own else "Own: (none)")
    for label_type, values in sorted(own.items()):
        for value in values:
            row = col.row(align=True)
            row.label(text=f"{label_type}:{value}")
            op = row.operator(SDG_OT_remove_label.bl_idname, text="", icon="X", emboss=False)
            op.label_type, op.value, op.target = label_type, value, "ACTIVE"
    inherited = {t: v for t, v in resolved.items() if own.get(t) != v}
    col.label(text=f"Resolved: {format_labels(resolved)}")
    if inherited:
        col.label(text=f"Inherited: {format_labels(inherited)}", icon="LINKED")


def draw_rule(box, context, settings, scene):
    box.label(text="Label by Name Rule", icon="SORTALPHA")
    col = box.column(align=True)
    col.prop(settings, "label_type")
    col.prop(settings, "rule_prefixes")
    col.prop(settings, "rule_suffix")
    col.prop(settings, "rule_pattern")
    row = box.row(align=True)
    row.prop(settings, "rule_scope", text="")
    row.prop(settings, "rule_lowercase", toggle=True)
    row.prop(settings, "rule_overwrite", toggle=True)
    rule = NameRule.from_text(
        settings.rule_pattern, settings.rule_prefixes, settings.rule_suffix, settings.rule_lowercase
    )
    problem = rule.check()
    if problem:
        box.label(text=problem, icon="ERROR")
    else:
        selected = getattr(context, "selected_objects", None) or []
        preview = box.column(align=True)
        for idblock in rule_targets(scene, settings.rule_scope, selected)[:3]:
            value = rule.value(idblock.name)
            preview.label(text=f"{idblock.name} -> {value if value is not None else '(no match)'}")
    op = box.operator(SDG_OT_label_by_rule.bl_idname, icon="CHECKMARK")
    op.label_type = settings.label_type
    op.pattern, op.prefixes, op.suffix = settings.rule_pattern, settings.rule_prefixes, settings.rule_suffix
    op.lowercase, op.scope, op.overwrite = settings.rule_lowercase, settings.rule_scope, settings.rule_overwrite


def draw_warning(layout, scene):
    try:
        missing = unlabelled_objects(scene, WARN_TYPE)
    except ValueError as e:
        layout.label(text=str(e), icon="ERROR")
        return
    if not missing:
        return
    box = layout.box()
    box.alert = True
    box.label(text=f"{len(missing)} mesh object(s) without a '{WARN_TYPE}' label", icon="ERROR")
    names = ", ".join(missing[:MAX_NAMES]) + (", ..." if len(missing) > MAX_NAMES else "")
    box.label(text=names)
    box.label(text="They are UNLABELLED in masks and absent from boxes")


CLASSES = (SDG_OT_add_label, SDG_OT_remove_label, SDG_OT_rename_label_value, SDG_OT_label_by_rule, SDG_PT_labels)
