"""Guaranteed corner cases, counted (no bpy).

A case is declared in `[[cases]]` with the number of frames it needs:
- a fixed case sets randomizer values on its frames (`set = [{type = "light", target =
  "key", location = [0, 3, 1]}]`: the key light behind the objects);
- a quota case names a condition measured on the annotations: an object with the label
  `label` (any labelled object when empty) whose `measure` (occlusion, truncation or
  pixels) is within [min, max] in the camera's frame.

Which frames serve which case is a function of (seed, run.frames, the cases) alone: a
seeded permutation of all frame indices, the first `frames` of it for the first case, the
next ones for the second, and so on. So one process, N shards or a resumed run assign the
same frames, and frame f rendered alone is frame f of the full run. On an assigned frame
the recorder redraws the frame's values with derived seeds (attempt 1, 2, ...) until the
condition holds, at most `max_tries` renders, keeping the last. Every frame is measured
against every quota case (frames that meet it by chance count too); the manifest counts,
per case, the frames requested, made and which, from the frame logs of every shard.
"""

from __future__ import annotations

import fnmatch
from dataclasses import field

import numpy as np

from ..config.fields import Field, section_class

MEASURES = ("occlusion", "truncation", "pixels")

# Each try is a whole render of the frame: more than this is a typo, not a plan.
MAX_CASE_TRIES = 1000
CASE_FIELDS = (
    Field("name", "name", "", "name of the case (manifest key)", required=True),
    Field("frames", "int", 1, "frames requested (assigned from the run's frames by a seeded permutation)", low=1),
    Field(
        "measure",
        "choice",
        "occlusion",
        "quota cases: what is measured on each object's annotation",
        choices=MEASURES,
    ),
    Field("label", "str", "", "quota cases: the object's label value (e.g. `mug`); empty: any labelled object"),
    Field("semantic_type", "str", "class", "quota cases: the label type `label` refers to"),
    Field("min", "float", None, "quota cases: measure >= min (occlusion/truncation ratio, or pixels)", nullable=True),
    Field("max", "float", None, "quota cases: measure <= max", nullable=True),
    Field("camera", "str", "", "quota cases: the camera whose frame is measured (default: the first)"),
    Field(
        "max_tries",
        "int",
        10,
        "renders per assigned frame at most (redraws with derived seeds)",
        low=1,
        high=MAX_CASE_TRIES,
    ),
)
CaseSpec = section_class("CaseSpec", CASE_FIELDS, extra=(("set", list, field(default_factory=list)),))


def is_quota(case) -> bool:
    return not case.set


def assign_frames(seed: int, total_frames: int, cases: list) -> dict[str, list[int]]:
    """Frames that must show each case; disjoint, a function of (seed, frames, cases)."""
    order = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0xCA5E5]))).permutation(total_frames)
    out, start = {}, 0
    for c in cases:
        out[c.name] = sorted(int(f) for f in order[start : start + c.frames])
        start += c.frames
    return out


def apply_overrides(sampled: list[dict], case) -> None:
    """Set a fixed case's values into a frame's sampled values (in place)."""
    for entry in case.set:
        for s in sampled:
            named = [k for k in entry if k in s and k not in ("type", "values")]  # a property's path
            if s["type"] != entry["type"] or any(entry[k] != s[k] for k in named):
                continue  # another type, or another entry of it
            for target, values in s["values"].items():
                if fnmatch.fnmatchcase(target, entry.get("target", "*")):
                    values.update({k: v for k, v in entry.items() if k not in ("type", "target", *named)})


def unmatched_case_targets(cases: list, specs: list, targets: list[list[str]]) -> list[tuple[str, object, str]]:
    """(field, value, expected) of each fixed case's `set` entry whose `target` names none of
    the objects its type's entries draw for (`targets`: each entry's resolved names): it
    would set nothing, yet its frames would count as made."""
    out = []
    for ci, case in enumerate(cases):
        for si, entry in enumerate(case.set):
            drawn = sorted(
                {
                    name
                    for spec, names in zip(specs, targets)
                    if spec.name == entry["type"]
                    and all(spec.options.get(k) == entry[k] for k in spec.LOGGED_OPTIONS if k in entry)
                    for name in names
                }
            )
            pattern = entry.get("target", "*")
            if drawn and not any(fnmatch.fnmatchcase(name, pattern) for name in drawn):
                out.append(
                    (
                        f"cases[{ci}].set[{si}].target",
                        pattern,
                        f"a name or glob matching a target of the {entry['type']} entries ({', '.join(drawn)})",
                    )
                )
    return out


def unknown_case_labels(cases: list, scene_labels: dict[str, set[str]]) -> list[tuple[str, object, str]]:
    """(field, value, expected) of each quota case whose `label` no object of the built
    scene has (`scene_labels`: label type -> the values objects carry): no frame could meet
    it, and every assigned frame would be rendered max_tries times in vain."""
    out = []
    for ci, case in enumerate(cases):
        if not is_quota(case) or not case.label:
            continue
        known = sorted(scene_labels.get(case.semantic_type, ()))
        if case.label not in known:
            out.append(
                (
                    f"cases[{ci}].label",
                    case.label,
                    f"a {case.semantic_type} label an object of the scene has ({', '.join(known) or 'none'}): "
                    "no frame could meet the case",
                )
            )
    return out


def case_values_that_would_stay(cases: list, specs: list, targets: list[list[str]], seed: int) -> list:
    """(field, value, expected) of each fixed case's value of a parameter that an entry of
    its type does not set on every frame for a target the case names. Set on the case's
    frames only, it would stay on every frame rendered after them in that process (a
    parameter an entry leaves out is not touched), so frame f would depend on the frames
    before it: alone, in shards and after a resume it would differ. Entries that place
    from scene facts (scatter, camera_look_at, ...) are left out: their values are whole.
    Call after the entries are bound to the built scene (they are sampled once here)."""
    from .sampler import frame_rng

    out = []
    for ci, case in enumerate(cases):
        for si, entry in enumerate(case.set):
            pattern = entry.get("target", "*")
            for i, (spec, names) in enumerate(zip(specs, targets)):
                if spec.name != entry["type"] or spec.needs_facts:
                    continue
                if any(spec.options.get(k) != entry[k] for k in spec.LOGGED_OPTIONS if k in entry):
                    continue  # another entry of the type (another property path)
                named = sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))
                if not named:
                    continue
                values = spec.sample(frame_rng(seed, 0, i), 0, sorted(names))
                for key in [k for k in entry if k in spec.PARAMS]:
                    if all(key in values.get(n, {}) for n in named):
                        continue
                    out.append(
                        (
                            f"cases[{ci}].set[{si}].{key}",
                            entry[key],
                            f"a parameter randomizers[{i}] ({spec.name}, for {', '.join(named)}) sets on every "
                            f"frame: it leaves {key} as it is, so the case's value would stay on the frames "
                            f"rendered after the case's. Give that entry {key} (a constant is fine: the value "
                            "it has in the scene)",
                        )
                    )
    return out


def measure(case, frame) -> list[tuple[str, float]]:
    """(object path, measured value) for the objects of `frame` (FrameData) the case is about."""
    from ..annotators.silhouettes import in_view, occlusion_ratio, truncation_ratio, visible_counts

    visible = visible_counts(frame)
    out = []
    for iid, obj in sorted(frame.objects.items()):
        value = obj.label(case.semantic_type)
        if value is None or (case.label and value != case.label):
            continue
        # Objects in view only, whatever the measure: one wholly outside the image is in no
        # picture (its 0 pixels would meet every `pixels` max, a tiny object in each frame).
        if not in_view(frame, iid):
            continue
        if case.measure == "pixels":
            out.append((obj.path, float(visible.get(iid, 0))))
        else:
            m = occlusion_ratio(frame, iid) if case.measure == "occlusion" else truncation_ratio(frame, iid)
            out.append((obj.path, float(m)))
    return out


def holds(case, frame) -> bool:
    """True when some object of the case's kind has its measure within [min, max]."""
    for _path, value in measure(case, frame):
        if (case.min is None or value >= case.min) and (case.max is None or value <= case.max):
            return True
    return False


def case_report(cases: list, assigned: dict[str, list[int]], records: dict[int, dict]) -> dict:
    """Per case: frames requested, made (frames whose log says the case holds), which."""
    out = {}
    for c in cases:
        made = sorted(f for f, r in records.items() if r.get("cases", {}).get(c.name))
        out[c.name] = {
            "kind": "quota" if is_quota(c) else "fixed",
            "requested": c.frames,
            "made": len(made),
            "met": len(made) >= c.frames,
            "frames": made,
            "assigned_frames": assigned.get(c.name, []),
            "assigned_not_met": sorted(f for f in assigned.get(c.name, []) if f in records and f not in made),
        }
    return out


def case_warnings(report: dict) -> list[str]:
    """The warnings a case report gives: one per case not met yet."""
    return [
        f"case {name!r}: {r['made']} of {r['requested']} frames made so far"
        for name, r in report.items()
        if not r["met"]
    ]
