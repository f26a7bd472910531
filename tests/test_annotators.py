"""Annotator tests on hand-built frames (pure numpy, no bpy).

Each scene is "rendered" by a tiny ray tracer written here (Moller-Trumbore against every
triangle, one ray per pixel), so the instance, depth, normal and rgb passes are consistent
with the geometry the annotators rasterize, the way Cycles' passes are. The tracer can
sample at pixel centres or, as Cycles does, at a jittered point inside each pixel.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sdg_addon.annotators import ANNOTATORS, create_annotator
from sdg_addon.annotators import silhouettes as sil
from sdg_addon.annotators.bbox2d import BBOX_2D_DTYPE
from sdg_addon.annotators.bbox3d import BBOX_3D_DTYPE
from sdg_addon.frame import Camera, FrameData, LabelTable, SceneObject

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------
# Scene building


def translate(x, y, z):
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def rotate(axis, degrees):
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    m = np.eye(4)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def scale(x, y, z):
    return np.diag([x, y, z, 1.0])


def look_at(eye, target, up=(0.0, 0.0, 1.0)):
    """camera_to_world of a Blender camera (looks down its -Z, +Y up) at eye, facing target."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    f = target - eye
    f /= np.linalg.norm(f)
    x = np.cross(f, up)
    x /= np.linalg.norm(x)
    y = np.cross(-f, x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, -f, eye
    return m


def perspective(w=128, h=96, f=100.0, cam_to_world=None, cx=None, cy=None, near=0.1, far=100.0):
    return Camera(
        name="cam",
        width=w,
        height=h,
        projection="perspective",
        camera_to_world=np.eye(4) if cam_to_world is None else cam_to_world,
        fx=f,
        fy=f,
        cx=w / 2 if cx is None else cx,
        cy=h / 2 if cy is None else cy,
        clip_start=near,
        clip_end=far,
        focal_length_mm=50.0,
        sensor_width_mm=50.0 * w / f,
        sensor_height_mm=50.0 * h / f,
    )


def orthographic(w=64, h=48, ortho_scale=4.0, cam_to_world=None, near=0.1, far=100.0):
    f = w / ortho_scale  # ortho_scale spans the wider side (Blender's AUTO sensor fit)
    return Camera(
        name="ortho",
        width=w,
        height=h,
        projection="orthographic",
        camera_to_world=np.eye(4) if cam_to_world is None else cam_to_world,
        fx=f,
        fy=f,
        cx=w / 2,
        cy=h / 2,
        clip_start=near,
        clip_end=far,
        focal_length_mm=50.0,
        sensor_width_mm=36.0,
        sensor_height_mm=27.0,
        ortho_scale=ortho_scale,
    )


# Box corner k: bit 0 x, bit 1 y, bit 2 z (min or max); faces wound outwards.
_BOX_FACES = [(0, 4, 6, 2), (1, 3, 7, 5), (0, 1, 5, 4), (2, 6, 7, 3), (0, 2, 3, 1), (4, 5, 7, 6)]


def box_corners_local(lo, hi):
    return np.array([[(hi if (k >> a) & 1 else lo)[a] for a in range(3)] for k in range(8)], dtype=np.float64)


def transform_points(m, p):
    p = np.asarray(p, dtype=np.float64)
    return p @ m[:3, :3].T + m[:3, 3]


def box_triangles(lo, hi, to_world):
    c = transform_points(to_world, box_corners_local(lo, hi))
    tris = []
    for a, b, cc, d in _BOX_FACES:
        tris += [(c[a], c[b], c[cc]), (c[a], c[cc], c[d])]
    return np.array(tris)


def quad_triangles(corner, u, v):
    """Two triangles of the parallelogram corner + [0, 1] u + [0, 1] v; normal along u x v."""
    p0 = np.asarray(corner, dtype=np.float64)
    p1, p2, p3 = p0 + u, p0 + np.add(u, v), p0 + v
    return np.array([(p0, p1, p2), (p0, p2, p3)])


def make_object(iid, name, tris, labels=None, to_world=None, lo=None, hi=None):
    tris = np.asarray(tris, dtype=np.float64)
    if to_world is None:
        to_world = np.eye(4)
        pts = tris.reshape(-1, 3)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
    return SceneObject(
        instance_id=iid,
        name=name,
        path=f"/World/{name}",
        labels=labels if labels is not None else {"class": [name]},
        object_to_world=to_world,
        bbox_min=np.asarray(lo, dtype=np.float64),
        bbox_max=np.asarray(hi, dtype=np.float64),
        triangles=tris,
    )


def box_object(iid, name, lo, hi, to_world, labels=None):
    return make_object(iid, name, box_triangles(lo, hi, to_world), labels, to_world, lo, hi)


def colour_of(iid):
    return np.array([(37 * iid) % 256, (91 * iid) % 256, (151 * iid) % 256, 255], dtype=np.uint8)


def trace(camera: Camera, objects, jitter_seed=None):
    """Render instance / depth / normal / rgb passes: one ray per pixel, nearest hit wins.

    Rays go through pixel centres, or through a uniformly jittered point of each pixel
    (as Cycles samples its id passes) when jitter_seed is given. Depth is the distance to
    the image plane (the ray direction has camera-space z = -1); normals are the triangles'
    geometric normals (from their winding), world space.
    """
    w, h = camera.width, camera.height
    uu, vv = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    if jitter_seed is not None:
        rng = np.random.default_rng(jitter_seed)
        uu = uu + rng.uniform(-0.5, 0.5, uu.shape)
        vv = vv + rng.uniform(-0.5, 0.5, vv.shape)
    x, y = (uu - camera.cx) / camera.fx, -(vv - camera.cy) / camera.fy
    if camera.projection == "perspective":
        o_cam = np.zeros((h, w, 3))
        d_cam = np.stack([x, y, -np.ones_like(x)], -1)
    else:
        o_cam = np.stack([x, y, np.zeros_like(x)], -1)
        d_cam = np.broadcast_to([0.0, 0.0, -1.0], (h, w, 3))
    m = camera.camera_to_world
    o = (o_cam @ m[:3, :3].T + m[:3, 3]).reshape(-1, 1, 3)
    d = (d_cam @ m[:3, :3].T).reshape(-1, 1, 3)

    tris = np.concatenate([obj.triangles for obj in objects])
    owner = np.concatenate([np.full(len(obj.triangles), obj.instance_id) for obj in objects])
    v0, e1, e2 = tris[:, 0], tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    pvec = np.cross(d, e2)
    det = np.einsum("ptk,tk->pt", pvec, e1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        tvec = o - v0
        a = np.einsum("ptk,ptk->pt", tvec, pvec) * inv
        qvec = np.cross(tvec, e1)
        b = np.einsum("ptk,ptk->pt", np.broadcast_to(d, qvec.shape), qvec) * inv
        t = np.einsum("ptk,tk->pt", qvec, e2) * inv
        hit = (np.abs(det) > 1e-12) & (a >= 0) & (b >= 0) & (a + b <= 1)  # a + b: inf - inf where det is 0
    hit &= (t >= camera.clip_start) & (t <= camera.clip_end)
    t = np.where(hit, t, np.inf)
    best = np.argmin(t, axis=1)
    depth = t[np.arange(t.shape[0]), best]
    found = np.isfinite(depth)
    normals = np.cross(e1, e2)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    instance = np.where(found, owner[best], 0).astype(np.uint32)
    normal = np.where(found[:, None], normals[best], 0.0)
    colours = np.zeros((int(owner.max()) + 1, 4), dtype=np.uint8)
    colours[0] = (0, 0, 0, 255)
    for obj in objects:
        colours[obj.instance_id] = colour_of(obj.instance_id)
    return {
        "instance": instance.reshape(h, w),
        "depth": depth.reshape(h, w).astype(np.float32),
        "normal": normal.reshape(h, w, 3).astype(np.float32),
        "rgb": colours[instance].reshape(h, w, 4),
    }


def make_frame(camera, objects, values=None, jitter_seed=None):
    if values is None:
        values = {"class": sorted({v for o in objects for v in o.labels.get("class", [])})}
    return FrameData(
        frame=0,
        camera=camera,
        passes=trace(camera, objects, jitter_seed),
        objects={o.instance_id: o for o in objects},
        label_table=LabelTable(values),
    )


def annotate(name, frame, **options):
    return create_annotator(name, **options).annotate(frame)


def row_of(result, iid):
    ids = result["info"]["bboxIds"]
    assert iid in ids, f"instance {iid} has no row: {ids}"
    return result["data"][ids.index(iid)]


def x_at(camera, u, depth):
    """Camera-space x of pixel column coordinate u at a depth (camera at the origin)."""
    return (u - camera.cx) * depth / camera.fx


def y_at(camera, v, depth):
    return -(v - camera.cy) * depth / camera.fy


def screen_quad(iid, name, camera, u0, u1, v0, v1, depth, labels=None):
    """A camera-facing rectangle at `depth` covering pixel coordinates [u0, u1] x [v0, v1]."""
    xa, xb = x_at(camera, u0, depth), x_at(camera, u1, depth)
    ya, yb = y_at(camera, v1, depth), y_at(camera, v0, depth)  # v down, y up
    tris = quad_triangles((xa, ya, -depth), (xb - xa, 0, 0), (0, yb - ya, 0))
    return make_object(iid, name, tris, labels)


def screen_box(iid, name, camera, uc, vc, size, depth, labels=None):
    """An axis-aligned cube of edge `size` (metres) centred on pixel (uc, vc) at `depth`."""
    centre = (x_at(camera, uc, depth), y_at(camera, vc, depth), -depth)
    half = np.full(3, size / 2)
    return box_object(iid, name, -half, half, translate(*centre), labels)


def replicator_project(params, world_points):
    """Project world points the way Replicator's readers do, then to pixels (y down)."""
    view = np.array(params["cameraViewTransform"]).reshape(4, 4)
    proj = np.array(params["cameraProjection"]).reshape(4, 4)
    hom = np.pad(np.asarray(world_points, dtype=np.float64), ((0, 0), (0, 1)), constant_values=1.0)
    ndc = hom @ (view @ proj)
    ndc = ndc / ndc[:, 3:]
    w, h = params["renderProductResolution"]
    return np.stack([(ndc[:, 0] + 1) / 2 * w, (1 - ndc[:, 1]) / 2 * h], axis=1)


# ---------------------------------------------------------------------------------------
# Registry and catalogue

EXPECTED = {
    "rgb",
    "distance_to_image_plane",
    "distance_to_camera",
    "normals",
    "instance_segmentation",
    "instance_id_segmentation",
    "semantic_segmentation",
    "bounding_box_2d_tight",
    "bounding_box_2d_loose",
    "bounding_box_3d",
    "occlusion",
    "pointcloud",
    "camera_params",
}


def test_every_annotator_is_registered_and_catalogued():
    assert EXPECTED <= set(ANNOTATORS)
    doc = (ROOT / "docs" / "annotators.md").read_text()
    headings = {line[4:].strip().strip("`") for line in doc.splitlines() if line.startswith("### ")}
    missing = set(ANNOTATORS) - headings
    assert not missing, f"docs/annotators.md has no '### name' section for {sorted(missing)}"
    for name, cls in ANNOTATORS.items():
        section = doc.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        for option in cls.OPTIONS:
            assert f"`{option}`" in section, f"option {option!r} of {name} is not documented"


def test_label_aware_annotators_take_semantic_filters():
    for name in ("instance_segmentation", "semantic_segmentation", "bounding_box_2d_tight",
                 "bounding_box_2d_loose", "bounding_box_3d", "occlusion", "pointcloud"):  # fmt: skip
        assert {"semantic_type", "semantic_filter"} <= set(ANNOTATORS[name].OPTIONS), name


# ---------------------------------------------------------------------------------------
# Loose box, occlusion, truncation


def half_occluded_cube_scene(with_wall=True):
    cam = perspective()
    cube_m = translate(x_at(cam, 70.3, 6.0), y_at(cam, 47.6, 6.0), -6.0) @ rotate("y", 30) @ rotate("x", 20)
    cube = box_object(2, "cube", [-0.6] * 3, [0.6] * 3, cube_m)
    objects = [cube]
    if with_wall:
        # A wall in front covering the image left of u = 70.3 (the cube's centre column).
        objects.append(screen_quad(3, "wall", cam, -20.0, 70.3, -20.0, 120.0, 3.0))
    return cam, objects


def test_loose_box_of_half_occluded_cube_equals_its_full_projection():
    cam, objects = half_occluded_cube_scene()
    frame = make_frame(cam, objects)
    # The cube's full projection: its pixels when rendered with nothing in front of it.
    alone = trace(cam, objects[:1])["instance"] == 2
    ys, xs = np.nonzero(alone)
    expected = (xs.min(), ys.min(), xs.max(), ys.max())
    loose = row_of(annotate("bounding_box_2d_loose", frame), 2)
    tight = row_of(annotate("bounding_box_2d_tight", frame), 2)
    assert (loose["x_min"], loose["y_min"], loose["x_max"], loose["y_max"]) == expected
    assert tight["x_min"] > loose["x_min"] + 5, "the wall must hide the cube's left part"
    assert tight["x_max"] == loose["x_max"], "the right part is visible"
    assert loose["y_min"] <= tight["y_min"] and tight["y_max"] <= loose["y_max"]
    visible = np.count_nonzero(frame.passes["instance"] == 2)
    assert loose["occlusionRatio"] == pytest.approx(1 - visible / alone.sum(), abs=1e-6)
    assert 0.35 < loose["occlusionRatio"] < 0.65


def occlusion_scene(cam):
    return [
        screen_quad(2, "wall", cam, -10.0, 50.2, -10.0, 106.0, 4.0),  # left part of the image
        screen_box(3, "hidden", cam, 25.4, 48.3, 0.8, 8.0),  # behind the wall
        screen_box(4, "front", cam, 25.7, 20.2, 0.6, 3.0),  # in front of the wall
        screen_quad(5, "half", cam, 70.3, 110.6, 50.2, 90.7, 7.0),  # 40 x 40 px square...
        screen_quad(6, "blocker", cam, 60.2, 90.45, 45.1, 95.3, 5.0),  # ...its left half covered
    ]


@pytest.mark.parametrize("jitter", [None, 7])
def test_occlusion_behind_in_front_and_half_covered(jitter):
    cam = perspective()
    frame = make_frame(cam, occlusion_scene(cam), jitter_seed=jitter)
    result = annotate("occlusion", frame)
    data = result["data"]
    by_id = {int(r["instanceId"]): r for r in data}
    assert set(by_id) == {2, 3, 4, 5, 6}, "every labelled object in view has a row, hidden ones too"
    assert by_id[3]["visiblePixels"] == 0 and by_id[3]["unoccludedPixels"] > 50
    assert by_id[3]["occlusionRatio"] == 1.0
    # Tolerance: pixels along the outline may differ between the jittered instance pass
    # and the pixel-centre silhouette (docs/annotators.md): outline / area.
    tol = 0.0 if jitter is None else 0.05
    assert by_id[4]["occlusionRatio"] <= tol
    half_tol = 1.0 / 40 if jitter is None else 0.05  # one column of the 40-px square
    assert by_id[5]["occlusionRatio"] == pytest.approx(0.5, abs=half_tol)
    assert by_id[6]["occlusionRatio"] <= tol
    assert result["info"]["primPaths"] == [f"/World/{n}" for n in ("wall", "hidden", "front", "half", "blocker")]
    assert data.dtype.names[:3] == ("instanceId", "semanticId", "occlusionRatio")
    # The 2D boxes carry the same ratio; the tight box has no row for the hidden cube.
    tight = annotate("bounding_box_2d_tight", frame)
    loose = annotate("bounding_box_2d_loose", frame)
    assert 3 not in tight["info"]["bboxIds"]
    assert row_of(loose, 3)["occlusionRatio"] == 1.0
    assert row_of(tight, 5)["occlusionRatio"] == pytest.approx(by_id[5]["occlusionRatio"])
    assert tight.get("data").dtype == BBOX_2D_DTYPE and loose["data"].dtype == BBOX_2D_DTYPE


def test_occlusion_is_exact_without_jitter():
    cam = perspective()
    frame = make_frame(cam, occlusion_scene(cam))
    by_id = {int(r["instanceId"]): r for r in annotate("occlusion", frame)["data"]}
    half = by_id[5]
    # Columns 70..110 (41) x rows 50..90 (41); left of u = 90.45: columns 70..89 (20).
    assert half["unoccludedPixels"] == 41 * 41
    assert half["visiblePixels"] == 21 * 41
    assert by_id[4]["occlusionRatio"] == 0.0


def test_truncation_of_an_object_half_outside_the_image():
    cam = perspective()
    # 40 x 40-pixel square centred on the left image border, one fully inside.
    cut = screen_quad(2, "cut", cam, -20.3, 19.7, 30.2, 70.2, 5.0)
    inside = screen_quad(3, "inside", cam, 60.2, 100.2, 30.2, 70.2, 6.0)
    corner = screen_quad(4, "corner", cam, 108.1, 148.1, 76.1, 116.1, 6.0)  # bottom-right corner
    frame = make_frame(cam, [cut, inside, corner])
    for name in ("bounding_box_2d_tight", "bounding_box_2d_loose", "bounding_box_3d"):
        result = annotate(name, frame)
        trunc = dict(zip(result["info"]["bboxIds"], result["info"]["truncationRatio"]))
        assert trunc[2] == pytest.approx(0.5, abs=0.03), name
        assert trunc[3] == 0.0, name
        assert trunc[4] == pytest.approx(0.75, abs=0.03), name
    loose = annotate("bounding_box_2d_loose", frame)
    row = row_of(loose, 2)
    assert (row["x_min"], row["x_max"]) == (0, 19), "boxes are clipped to the image"
    row = row_of(loose, 4)
    assert (row["x_max"], row["y_max"]) == (127, 95)
    assert row["occlusionRatio"] == 0.0, "the part outside the image is truncation, not occlusion"
    occl = annotate("occlusion", frame)
    assert occl["info"]["truncationRatio"][0] == pytest.approx(0.5, abs=0.03)


def test_loose_box_info_holds_the_whole_projections_extent_past_the_border():
    """info["bboxesFull"] of the loose box: each row's extent not clipped to the image (the
    pixel centres its projection covers, past the border too): what the mot writer's full
    boxes are, the same as instance_segmentation_amodal's; the row's box where nothing is
    truncated, a hidden object's included."""
    cam = perspective()
    cut = screen_quad(2, "cut", cam, -20.3, 19.7, 30.2, 70.2, 5.0)  # centres -19.5 .. 19.5
    inside = screen_quad(3, "inside", cam, 60.2, 100.2, 30.2, 70.2, 6.0)
    corner = screen_quad(4, "corner", cam, 108.1, 148.1, 76.1, 116.1, 6.0)  # past 128 x 96
    hidden = screen_box(5, "hidden", cam, 80.2, 50.3, 0.3, 9.0)  # behind `inside`
    frame = make_frame(cam, [cut, inside, corner, hidden])
    loose = annotate("bounding_box_2d_loose", frame)
    full = dict(zip(loose["info"]["bboxIds"], loose["info"]["bboxesFull"]))
    assert full[2] == [-20, 30, 19, 69]
    assert full[4] == [108, 76, 147, 115]
    for iid in (3, 5):
        row = row_of(loose, iid)
        assert full[iid] == [int(row[k]) for k in ("x_min", "y_min", "x_max", "y_max")]
    assert row_of(loose, 5)["occlusionRatio"] == 1.0
    amodal = annotate("instance_segmentation_amodal", frame)["info"]
    assert dict(zip(amodal["instanceIds"], amodal["bboxesFull"])) == full


def test_full_box_is_the_pixel_centres_the_projection_covers_past_the_border_too():
    """Truncated shapes whose tips cover no pixel centre of the row or column their bounds
    name: the full box (bounding_box_2d_loose's and the amodal mask's bboxesFull: BOP's
    bbox_obj, MOT's full boxes) is the extent of the pixel centres the projection covers,
    as a rasterization on a canvas large enough shows (before: the centres inside the
    vertices' bounds, a row or column too many on each side, inside the image too)."""
    from sdg_addon.annotators.raster import rasterize as draw

    cam = perspective()  # 128 x 96
    d = 5.0

    def shape(*uv):
        return [tuple((x_at(cam, u, d), y_at(cam, v, d), -d) for u, v in tri) for tri in uv]

    def drawn_extent(uv):  # on a canvas 100 px larger each way
        mask = draw(np.asarray(uv, dtype=np.float64) + 100.0, 128 + 200, 96 + 200)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        return [int(cols[0]) - 100, int(rows[0]) - 100, int(cols[-1]) - 100, int(rows[-1]) - 100]

    diamond = [((-20.0, 50.0), (5.0, 69.8), (30.0, 50.0)), ((-20.0, 50.0), (30.0, 50.0), (5.0, 30.2))]
    wedge = [((-20.0, 20.2), (-20.0, 60.2), (10.0, 50.0))]  # its top and bottom in the part outside
    corner = [((110.3, 80.2), (140.7, 85.1), (120.2, 110.6))]  # past the right and bottom borders
    for uv in (diamond, wedge, corner):
        frame = make_frame(cam, [make_object(2, "cut", shape(*uv))])
        amodal = annotate("instance_segmentation_amodal", frame)
        assert amodal["info"]["truncationRatio"][0] > 0
        expected = drawn_extent(uv)
        assert amodal["info"]["bboxesFull"] == [expected], uv
        assert annotate("bounding_box_2d_loose", frame)["info"]["bboxesFull"] == [expected]
    assert drawn_extent(diamond)[1:] == [31, 28, 68]  # the tips' rows 30 and 69 hold no centre


def test_full_box_leaves_out_vertices_no_face_uses():
    """A mesh's loose vertex (no face uses it: Cycles renders nothing there) lies far left of
    the image: the full box of the quad, half past the left border, is the quad's alone,
    as its clipped triangles give it."""
    cam = perspective()
    quad = screen_quad(2, "cut", cam, -20.3, 19.7, 30.2, 70.2, 5.0)
    tris = quad.triangles
    verts = np.concatenate([tris.reshape(-1, 3), [[x_at(cam, -90.0, 5.0), y_at(cam, 50.0, 5.0), -5.0]]])
    quad.vertices, quad.faces = verts, np.arange(6).reshape(2, 3)  # its triangles kept: the same faces
    frame = make_frame(cam, [quad])
    assert annotate("bounding_box_2d_loose", frame)["info"]["bboxesFull"] == [[-20, 30, 19, 69]]


def test_truncation_on_a_reduced_canvas(monkeypatch):
    """Projections larger than the canvas budget are rasterized at a reduced scale."""
    cam = perspective()
    cut = screen_quad(2, "cut", cam, -2000.0, 19.7, 30.2, 70.2, 5.0)  # 2020 px wide, 19.7 inside
    exact = make_frame(cam, [cut])
    t_exact = sil.truncation_ratio(exact, 2)
    assert t_exact == pytest.approx(1 - 20 / 2020, abs=1e-3)
    monkeypatch.setattr(sil, "_CANVAS_FACTOR", 0)
    monkeypatch.setattr(sil, "_CANVAS_MIN", 128 * 96 // 4)
    reduced = make_frame(cam, [cut])
    assert sil.truncation_ratio(reduced, 2) == pytest.approx(t_exact, abs=0.01)
    # Half outside, on a canvas scaled to ~0.46: still about half.
    half = make_frame(cam, [screen_quad(2, "cut", cam, -20.3, 19.7, 30.2, 70.2, 5.0)])
    assert sil.truncation_ratio(half, 2) == pytest.approx(0.5, abs=0.06)


def test_truncation_of_geometry_crossing_the_camera_plane():
    """A floor reaching behind the camera: near-clipped, projected far outside, still a ratio."""
    cam = perspective(cam_to_world=look_at((0, 0, 1.5), (0, 10, 1.0)))
    floor = make_object(2, "floor", quad_triangles((-20, -20, 0), (40, 0, 0), (0, 40, 0)))
    frame = make_frame(cam, [floor])
    t = sil.truncation_ratio(frame, 2)
    assert 0.5 < t < 1.0
    rows = annotate("bounding_box_2d_loose", frame)["data"]
    assert len(rows) == 1 and rows[0]["y_max"] == 95


def test_object_behind_the_camera_has_no_rows():
    cam = perspective()
    behind = box_object(2, "behind", [-1] * 3, [1] * 3, translate(0, 0, 5))
    frame = make_frame(cam, [behind])
    for name in ("bounding_box_2d_tight", "bounding_box_2d_loose", "bounding_box_3d", "occlusion"):
        assert len(annotate(name, frame)["data"]) == 0, name
    assert sil.truncation_ratio(frame, 2) == 1.0


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_far_plane_cuts_silhouettes_as_it_cuts_the_render(projection):
    """Cycles renders nothing beyond clip_end: a cube the far plane cuts is not occluded
    there, its loose box is what is left in front of the plane, and a cube wholly beyond it
    is not in view (before, both kept their whole silhouette: occlusionRatio 0.5 and 1.0
    with nothing in front of them)."""
    make = perspective if projection == "perspective" else orthographic
    cam = make(near=0.1, far=6.0)
    half = 0.5 if projection == "perspective" else 0.4
    # A cube turned 40 degrees about the view axis's perpendicular, centred on the far plane.
    cut = box_object(2, "cut", [-half] * 3, [half] * 3, translate(-0.3, 0.1, -6.0) @ rotate("y", 40))
    beyond = box_object(3, "beyond", [-half] * 3, [half] * 3, translate(0.9, -0.4, -7.5))
    frame = make_frame(cam, [cut, beyond])
    seen = frame.passes["instance"]
    assert np.count_nonzero(seen == 2) > 20 and not (seen == 3).any()
    occl = {int(r["instanceId"]): r for r in annotate("occlusion", frame)["data"]}
    assert set(occl) == {2}, "a cube wholly beyond the far plane is not in view"
    assert occl[2]["occlusionRatio"] == 0.0
    assert occl[2]["unoccludedPixels"] == np.count_nonzero(seen == 2)
    ys, xs = np.nonzero(seen == 2)
    row = row_of(annotate("bounding_box_2d_loose", frame), 2)
    assert (row["x_min"], row["y_min"], row["x_max"], row["y_max"]) == (xs.min(), ys.min(), xs.max(), ys.max())
    assert annotate("bounding_box_3d", frame)["info"]["bboxIds"] == [2]
    assert np.array_equal(sil.amodal_mask(frame, 2), seen == 2)
    assert sil.truncation_ratio(frame, 2) == 0.0


# ---------------------------------------------------------------------------------------
# 3D boxes


def bbox3d_scene(projection):
    m = translate(0.4, -0.3, 0.6) @ rotate("z", 35) @ rotate("x", 15) @ scale(1.5, 0.7, 1.2)
    lo, hi = np.array([-0.5, -0.4, -0.3]), np.array([0.6, 0.4, 0.5])
    obj = box_object(2, "crate", lo, hi, m)
    other = box_object(3, "ball", [-0.3] * 3, [0.3] * 3, translate(-1.2, 0.8, 0.3))
    c2w = look_at((4.0, -6.0, 3.0), (0.0, 0.0, 0.5))
    if projection == "perspective":
        cam = perspective(cam_to_world=c2w, cx=60.3, cy=50.1, f=140.0)
    else:
        cam = orthographic(w=128, h=96, ortho_scale=5.0, cam_to_world=c2w)
    return cam, [obj, other], m, lo, hi


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_3d_box_contract_and_projected_corners_enclose_the_loose_box(projection):
    cam, objects, m, lo, hi = bbox3d_scene(projection)
    frame = make_frame(cam, objects)
    result = annotate("bounding_box_3d", frame)
    data, info = result["data"], result["info"]
    assert data.dtype == BBOX_3D_DTYPE
    assert info["bboxIds"] == [2, 3]
    assert set(info) >= {"bboxIds", "idToLabels", "primPaths", "truncationRatio", "corners_px"}
    row = data[0]
    sid = frame.label_table.semantic_id("class", "crate")
    assert row["semanticId"] == sid and info["idToLabels"][sid] == {"class": "crate"}
    assert info["primPaths"][0] == "/World/crate"
    np.testing.assert_allclose([row["x_min"], row["y_min"], row["z_min"]], lo, atol=1e-7)
    np.testing.assert_allclose([row["x_max"], row["y_max"], row["z_max"]], hi, atol=1e-7)
    np.testing.assert_allclose(row["transform"], m.T, atol=1e-6)
    assert row["occlusionRatio"] == pytest.approx(0.0, abs=0.02)

    # A Replicator reader: corners from the extents in the documented order, to world with
    # the row-vector transform, to pixels with camera_params' view and projection matrices.
    params = annotate("camera_params", frame)
    loose = annotate("bounding_box_2d_loose", frame)
    for k, iid in enumerate(info["bboxIds"]):
        r = data[k]
        mins = np.array([r["x_min"], r["y_min"], r["z_min"]], dtype=np.float64)
        maxs = np.array([r["x_max"], r["y_max"], r["z_max"]], dtype=np.float64)
        local = np.array([[maxs[a] if (c >> a) & 1 else mins[a] for a in range(3)] for c in range(8)])
        world = np.pad(local, ((0, 0), (0, 1)), constant_values=1.0) @ r["transform"].astype(np.float64)
        px = replicator_project(params, world[:, :3])
        np.testing.assert_allclose(px, np.array(info["corners_px"][k]), atol=1e-3)
        b = row_of(loose, iid)
        # Covered pixel centres lie inside the projected hull of the corners.
        assert px[:, 0].min() <= b["x_min"] + 0.5 and px[:, 0].max() >= b["x_max"] + 0.5
        assert px[:, 1].min() <= b["y_min"] + 0.5 and px[:, 1].max() >= b["y_max"] + 0.5
        # ...and not by much: the box of a box is within a few pixels of its silhouette.
        assert px[:, 0].min() > b["x_min"] - 0.5 - 0.25 * (b["x_max"] - b["x_min"])
    # Corner order: 0 = all minima, 7 = all maxima, bit 0 = x.
    c_world = np.array(info["corners_world"][0])
    np.testing.assert_allclose(c_world[0], transform_points(m, lo), atol=1e-9)
    np.testing.assert_allclose(c_world[7], transform_points(m, hi), atol=1e-9)
    np.testing.assert_allclose(c_world[1], transform_points(m, [hi[0], lo[1], lo[2]]), atol=1e-9)


def test_3d_box_lists_fully_occluded_objects_in_view():
    cam = perspective()
    frame = make_frame(cam, occlusion_scene(cam))
    result = annotate("bounding_box_3d", frame)
    assert result["info"]["bboxIds"] == [2, 3, 4, 5, 6]
    assert result["data"][1]["occlusionRatio"] == 1.0


# ---------------------------------------------------------------------------------------
# Point cloud and normals


def tilted_plane_scene(projection):
    n = np.array([0.3, -0.5, 0.8])
    n /= np.linalg.norm(n)
    p0 = np.array([0.2, 0.1, 0.0])
    u = np.cross(n, [0.0, 0.0, 1.0])
    u /= np.linalg.norm(u)
    v = np.cross(n, u)
    plane = make_object(2, "plane", quad_triangles(p0 - 3 * u - 3 * v, 6 * u, 6 * v))
    assert np.cross(6 * u, 6 * v) @ n > 0
    blob = box_object(3, "blob", [-0.2] * 3, [0.2] * 3, translate(0.5, 0.0, 1.0), labels={})
    c2w = look_at((1.0, -4.0, 5.0), (0.0, 0.0, 0.0))
    cam = perspective(cam_to_world=c2w) if projection == "perspective" else orthographic(cam_to_world=c2w)
    return cam, [plane, blob], p0, n


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_pointcloud_points_of_a_plane_lie_on_it(projection):
    cam, objects, p0, n = tilted_plane_scene(projection)
    frame = make_frame(cam, objects)
    result = annotate("pointcloud", frame)
    pts, info = result["data"], result["info"]
    plane_px = frame.passes["instance"] == 2
    assert pts.dtype == np.float32 and pts.shape == (plane_px.sum(), 3)
    assert plane_px.sum() > 500
    assert np.abs((pts.astype(np.float64) - p0) @ n).max() < 1e-4
    assert np.all(info["pointInstance"] == 2), "the unlabelled blob is left out by default"
    assert np.all(info["pointSemantic"] == frame.label_table.semantic_id("class", "plane"))
    assert np.all(info["pointRgb"] == colour_of(2)) and info["pointRgb"].dtype == np.uint8
    np.testing.assert_allclose(info["pointNormals"], np.broadcast_to(n, pts.shape), atol=1e-6)
    xs, ys = info["pointPixels"].T
    assert plane_px[ys, xs].all()
    # Every point projects back into its own pixel.
    px, _ = cam.project(pts.astype(np.float64))
    np.testing.assert_allclose(px, info["pointPixels"] + 0.5, atol=2e-3)

    everything = annotate("pointcloud", frame, include_unlabelled=True)
    blob = everything["info"]["pointInstance"] == 3
    assert blob.sum() == np.count_nonzero(frame.passes["instance"] == 3) > 0
    assert np.all(everything["info"]["pointSemantic"][blob] == 1), "UNLABELLED"

    cam_space = annotate("pointcloud", frame, space="camera")["data"].astype(np.float64)
    np.testing.assert_allclose(cam.to_camera(pts.astype(np.float64)), cam_space, atol=1e-4)


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_pixel_points_are_the_pixel_rays_taken_to_the_depth(projection):
    """pixel_points works the rays of the chosen pixels out itself: bitwise the points of
    Camera.pixel_rays (origin + depth * direction), then moved into each space."""
    from sdg_addon.annotators.pointcloud import pixel_points

    cam, objects, _p0, _n = tilted_plane_scene(projection)
    frame = make_frame(cam, objects)
    depth = frame.passes["depth"]
    ys, xs = np.nonzero(np.isfinite(depth))
    origin, direction = cam.pixel_rays()
    ref = origin[ys, xs] + depth[ys, xs].astype(np.float64)[:, None] * direction[ys, xs]
    assert np.array_equal(pixel_points(frame, ys, xs, "camera"), ref)
    m = cam.camera_to_world
    assert np.array_equal(pixel_points(frame, ys, xs, "world"), ref @ m[:3, :3].T + m[:3, 3])
    assert np.array_equal(pixel_points(frame, ys, xs, "camera_opencv"), ref * [1.0, -1.0, -1.0])


def test_pointcloud_keeps_exactly_the_pixels_with_a_surface_and_a_kept_id():
    """The kept pixels (found from the runs of ids) are those of the per-pixel definition:
    a kept instance id and a finite, positive depth; in row-major order, for every option."""
    cam, objects, _p0, _n = tilted_plane_scene("perspective")
    frame = make_frame(cam, objects)
    depth, inst = frame.passes["depth"], frame.passes["instance"]
    ys, xs = np.nonzero(inst == 2)
    for j, bad in enumerate([np.inf, np.nan, 0.0, -1.0]):  # no surface there
        depth[ys[7 * j], xs[7 * j]] = bad
    surface = np.isfinite(depth) & (depth > 0)
    for options, ids in (
        ({}, inst == 2),
        ({"include_unlabelled": True}, inst != 0),
        ({"include_unlabelled": True, "include_background": True}, np.ones(inst.shape, bool)),
    ):
        frame.cache.clear()
        got = annotate("pointcloud", frame, **options)["info"]["pointPixels"]
        want_y, want_x = np.nonzero(surface & ids)
        assert np.array_equal(got, np.stack([want_x, want_y], axis=1)), options
        assert len(got) > 400


def test_pointcloud_distance_matches_depth_annotators():
    cam, objects, _p0, _n = tilted_plane_scene("perspective")
    frame = make_frame(cam, objects)
    pts = annotate("pointcloud", frame)["data"].astype(np.float64)
    xs, ys = annotate("pointcloud", frame)["info"]["pointPixels"].T
    dist = annotate("distance_to_camera", frame)[ys, xs]
    eye = cam.camera_to_world[:3, 3]
    np.testing.assert_allclose(np.linalg.norm(pts - eye, axis=1), dist, rtol=1e-5)


def test_distance_to_camera_shares_one_ray_length_table_per_intrinsics():
    """The per-pixel ray lengths are made once per process and intrinsics, not once per
    annotator (a worker's sinks, the benchmark's passes): the same read-only array, the
    norms of pixel_rays' directions; another focal length gets its own."""
    cam, objects, _p0, _n = tilted_plane_scene("perspective")
    lengths = cam.pixel_ray_lengths()
    assert perspective().pixel_ray_lengths() is lengths  # another pose, the same intrinsics
    assert not lengths.flags.writeable
    assert np.array_equal(lengths, np.linalg.norm(cam.pixel_rays()[1], axis=-1))
    zoomed = perspective(f=cam.fx * 2, w=cam.width, h=cam.height)
    assert zoomed.pixel_ray_lengths() is not lengths
    frame = make_frame(cam, objects)
    first = annotate("distance_to_camera", frame)  # each call: a new annotator instance
    again = annotate("distance_to_camera", frame)
    assert np.array_equal(first, again) and first is not again
    depth = frame.passes["depth"]
    assert np.array_equal(first, (depth * lengths).astype(np.float32))
    assert cam.pixel_ray_lengths() is lengths  # still the one table


def cached_unit_normals(frame):
    from sdg_addon.annotators.normals import unit_normals

    return unit_normals(frame)[0]


def test_normals_of_a_plane_facing_the_camera_point_at_it():
    eye = np.array([2.0, -3.0, 1.5])
    cam = perspective(cam_to_world=look_at(eye, (0.0, 0.0, 0.0)))
    n = eye / np.linalg.norm(eye)  # the plane through the origin faces the camera squarely
    u = np.cross(n, [0.0, 0.0, 1.0])
    u /= np.linalg.norm(u)
    v = np.cross(n, u)
    plane = make_object(2, "plane", quad_triangles(-u - v, 2 * u, 2 * v))
    frame = make_frame(cam, [plane])
    surface = frame.passes["instance"] == 2
    assert 0 < surface.sum() < surface.size

    world = annotate("normals", frame)
    assert world.shape == (96, 128, 3) and world.dtype == np.float32
    points = annotate("pointcloud", frame, include_unlabelled=True)
    xs, ys = points["info"]["pointPixels"].T
    to_eye = eye - points["data"].astype(np.float64)
    assert np.all(np.einsum("nk,nk->n", world[ys, xs], to_eye) > 0), "normals point at the camera"
    np.testing.assert_allclose(world[surface], np.broadcast_to(n, (surface.sum(), 3)), atol=1e-6)
    assert np.all(world[~surface] == 0)
    # World normals are the frame's one cached array, handed on without a copy and
    # read-only: a writer cannot change what the point cloud and other writers read.
    assert np.shares_memory(world, cached_unit_normals(frame)) and not world.flags.writeable
    with pytest.raises(ValueError):
        world[0, 0] = 1.0

    cam_n = annotate("normals", frame, space="camera")
    np.testing.assert_allclose(cam_n[surface], np.broadcast_to([0, 0, 1], (surface.sum(), 3)), atol=1e-6)
    cv_n = annotate("normals", frame, space="camera_opencv", channels=4)
    assert cv_n.shape == (96, 128, 4)
    np.testing.assert_allclose(cv_n[surface][:, :3], np.broadcast_to([0, 0, -1], (surface.sum(), 3)), atol=1e-6)
    assert np.all(cv_n[..., 3] == surface)
    with pytest.raises(ValueError):
        create_annotator("normals", space="screen")


def test_normals_are_renormalized():
    cam = perspective()
    frame = make_frame(cam, [screen_quad(2, "q", cam, 10.2, 50.2, 10.2, 50.2, 4.0)])
    frame.passes["normal"] = frame.passes["normal"] * 0.5
    out = annotate("normals", frame)
    mask = frame.passes["instance"] == 2
    np.testing.assert_allclose(np.linalg.norm(out[mask], axis=1), 1.0, atol=1e-6)


def test_normals_of_odd_pass_values_are_zero_or_unit():
    """No surface, a length below 1e-12, inf or NaN: 0 (and the point cloud's normal too);
    a finite non-unit vector is scaled to unit length."""
    cam = perspective()
    frame = make_frame(cam, [screen_quad(2, "q", cam, 10.2, 50.2, 10.2, 50.2, 4.0)])
    normal = np.array(frame.passes["normal"], dtype=np.float32)
    odd = [[np.inf, 0, 0], [np.nan, 1, 0], [1e-13, 0, 0], [0, 0, 0], [3, 4, 0], [-np.inf, np.inf, 1]]
    normal[20, 20:26] = odd  # on the quad
    frame.passes["normal"] = normal
    out = annotate("normals", frame)
    assert out[20, 20:26].tolist() == [[0, 0, 0]] * 4 + [[0.6000000238418579, 0.800000011920929, 0]] + [[0, 0, 0]]
    assert np.isfinite(out).all()
    cloud = annotate("pointcloud", frame)
    at = {tuple(p): n for p, n in zip(cloud["info"]["pointPixels"].tolist(), cloud["info"]["pointNormals"])}
    assert [at[(x, 20)].tolist() for x in (20, 21, 22, 25)] == [[0, 0, 0]] * 4


# ---------------------------------------------------------------------------------------
# camera_params


def test_camera_params_perspective_as_a_replicator_reader_uses_them():
    eye = np.array([3.0, -5.0, 2.0])
    cam = perspective(cam_to_world=look_at(eye, (0.0, 0.5, 0.3)), cx=70.4, cy=40.2, f=110.0)
    frame = FrameData(0, cam, {}, {}, LabelTable())
    params = annotate("camera_params", frame)
    # Points given in camera space (Blender axes), placed in the world by hand.
    cam_pts = np.array([[0.0, 0.0, -4.0], [0.7, -0.2, -3.0], [-1.1, 0.9, -6.5], [0.3, 0.4, -0.5]])
    c2w = cam.camera_to_world
    world = cam_pts @ c2w[:3, :3].T + c2w[:3, 3]
    depth = -cam_pts[:, 2]
    expected = np.stack([70.4 + 110.0 * cam_pts[:, 0] / depth, 40.2 - 110.0 * cam_pts[:, 1] / depth], 1)
    np.testing.assert_allclose(replicator_project(params, world), expected, atol=1e-6)
    # OpenCV route: K @ (world_to_camera_opencv @ X).
    cv = np.pad(world, ((0, 0), (0, 1)), constant_values=1.0) @ np.array(params["world_to_camera_opencv"]).T
    k = np.array(params["intrinsics"])
    uvw = cv[:, :3] @ k.T
    np.testing.assert_allclose(uvw[:, :2] / uvw[:, 2:], expected, atol=1e-6)
    # The view transform's inverse holds the camera position in its last row (row vectors).
    view = np.array(params["cameraViewTransform"]).reshape(4, 4)
    np.testing.assert_allclose(np.linalg.inv(view)[3, :3], eye, atol=1e-9)
    # Lens: fx from focal length and aperture, principal point from the aperture offset.
    ax, ay = params["cameraAperture"]
    ox, oy = params["cameraApertureOffset"]
    f_mm = params["cameraFocalLength"]
    assert f_mm * 128 / ax == pytest.approx(110.0) and f_mm * 96 / ay == pytest.approx(110.0)
    assert 128 / 2 - ox / ax * 128 == pytest.approx(70.4)
    assert 96 / 2 + oy / ay * 96 == pytest.approx(40.2)
    assert params["cameraModel"] == "pinhole" and params["projection"] == "perspective"
    assert params["renderProductResolution"] == [128, 96]
    assert params["cameraNearFar"] == [0.1, 100.0]
    # A shifted lens: row 3 of the projection carries the principal point's offset (docs).
    proj = np.array(params["cameraProjection"]).reshape(4, 4)
    np.testing.assert_allclose(proj[2], [1 - 2 * 70.4 / 128, 2 * 40.2 / 96 - 1, 1e-8, -1], rtol=1e-12)
    assert params["lens"]["fov_deg"][0] == pytest.approx(np.degrees(np.arctan(70.4 / 110) + np.arctan(57.6 / 110)))


# Replicator's camera_params keys (omni.replicator.core camera_params annotator, 1.x).
REPLICATOR_CAMERA_KEYS = {
    "cameraAperture",
    "cameraApertureOffset",
    "cameraFisheyeLensP",
    "cameraFisheyeLensS",
    "cameraFisheyeMaxFOV",
    "cameraFisheyeNominalHeight",
    "cameraFisheyeNominalWidth",
    "cameraFisheyeOpticalCentre",
    "cameraFisheyePolynomial",
    "cameraFocalLength",
    "cameraFocusDistance",
    "cameraFStop",
    "cameraModel",
    "cameraNearFar",
    "cameraProjection",
    "cameraViewTransform",
    "metersPerSceneUnit",
    "renderProductResolution",
}


def test_camera_params_have_every_replicator_key_and_reverse_z_depth():
    cam = perspective(cam_to_world=look_at((1.0, -4.0, 2.0), (0.0, 0.0, 0.0)), near=0.05, far=30.0)
    params = annotate("camera_params", FrameData(0, cam, {}, {}, LabelTable()))
    assert REPLICATOR_CAMERA_KEYS <= set(params)
    assert params["cameraFStop"] == 0.0 and params["cameraFisheyePolynomial"] == [0.0] * 5
    # Replicator's perspective projection: reverse-Z, infinite far plane (row-vector layout).
    proj = np.array(params["cameraProjection"]).reshape(4, 4)
    np.testing.assert_allclose(proj[2], [0, 0, 1e-8, -1], atol=0)
    np.testing.assert_allclose(proj[3], [0, 0, 0.05, 0], atol=0)
    for depth in (0.05, 1.0, 1e6):
        clip = np.array([0.0, 0.0, -depth, 1.0]) @ proj
        assert clip[2] / clip[3] == pytest.approx(0.05 / depth - 1e-8, rel=1e-9, abs=1e-15)
    assert "ortho_scale" not in params  # only lens.ortho_scale, null for a perspective camera
    assert params["lens"]["ortho_scale"] is None


def test_camera_params_orthographic_reproject_a_point():
    cam = orthographic(w=64, h=48, ortho_scale=4.0, cam_to_world=translate(0.0, 0.0, 10.0))
    frame = FrameData(0, cam, {}, {}, LabelTable())
    params = annotate("camera_params", frame)
    # 64 px over 4 m: 16 px per metre; the camera looks down -Z from above the origin.
    point = np.array([[1.0, 0.5, 0.0], [-1.5, -1.0, 3.0]])
    expected = np.array([[32 + 16.0, 24 - 8.0], [32 - 24.0, 24 + 16.0]])
    np.testing.assert_allclose(replicator_project(params, point), expected, atol=1e-9)
    proj = np.array(params["cameraProjection"]).reshape(4, 4).T  # column-vector form
    np.testing.assert_allclose(proj[3], [0, 0, 0, 1], atol=0)  # orthographic: w stays 1
    near = proj @ [0, 0, -0.1, 1]
    far = proj @ [0, 0, -100.0, 1]
    assert near[2] == pytest.approx(-1.0) and far[2] == pytest.approx(1.0)
    k = np.array(params["intrinsics"])
    cv = np.pad(point, ((0, 0), (0, 1)), constant_values=1.0) @ np.array(params["world_to_camera_opencv"]).T
    uv = np.column_stack([cv[:, 0], cv[:, 1], np.ones(2)]) @ k.T
    np.testing.assert_allclose(uv[:, :2], expected, atol=1e-9)
    assert params["cameraModel"] == "orthographic"
    assert params["lens"]["pixels_per_meter"] == [16.0, 16.0]
    assert params["lens"]["ortho_size_m"] == [4.0, 3.0]
    assert params["cameraAperture"] == pytest.approx([40.0, 30.0])  # USD: tenths of a unit
    assert params["lens"]["focal_length_mm"] is None


def test_camera_params_orthographic_sizes_named_in_metres_are_metres_in_a_scene_in_centimetres():
    """A base .blend modelled in centimetres (unit scale 0.01): K and ortho_scale stay in
    scene units (the units of world_to_camera_opencv), but lens.ortho_size_m and
    lens.pixels_per_meter, named in metres, were scene units too (a 3 m view read 300 m)."""
    cam = replace(
        orthographic(w=64, h=48, ortho_scale=300.0, cam_to_world=translate(0.0, 0.0, 1000.0)), meters_per_unit=0.01
    )
    params = annotate("camera_params", FrameData(0, cam, {}, {}, LabelTable()))
    assert params["lens"]["ortho_scale"] == 300.0 and params["fx"] == pytest.approx(64 / 300)
    assert params["lens"]["ortho_size_m"] == pytest.approx([3.0, 2.25])
    assert params["lens"]["pixels_per_meter"] == pytest.approx([64 / 3, 64 / 3])
    # K still maps the scene-unit camera coordinates to pixels: 30 cm right is 6.4 px.
    cv = np.array(params["world_to_camera_opencv"]) @ [30.0, 0.0, 0.0, 1.0]
    assert (np.array(params["intrinsics"]) @ [cv[0], cv[1], 1.0])[:2] == pytest.approx([32 + 6.4, 24])


def test_camera_params_orthographic_rotated_round_trip_through_pixel_rays():
    cam = orthographic(w=40, h=30, ortho_scale=3.0, cam_to_world=look_at((2, -3, 4), (0, 0, 0)))
    params = annotate("camera_params", FrameData(0, cam, {}, {}, LabelTable()))
    origin, direction = cam.pixel_rays()
    pts_cam = (origin + 2.7 * direction).reshape(-1, 3)
    world = transform_points(cam.camera_to_world, pts_cam)
    uv = replicator_project(params, world)
    jj, ii = np.meshgrid(np.arange(40) + 0.5, np.arange(30) + 0.5)
    np.testing.assert_allclose(uv, np.stack([jj.ravel(), ii.ravel()], 1), atol=1e-9)


# ---------------------------------------------------------------------------------------
# Semantic filters


def filter_scene():
    cam = perspective()
    objects = [
        screen_box(2, "mug", cam, 30.2, 40.3, 0.8, 5.0, labels={"class": ["mug"], "color": ["red"]}),
        screen_box(3, "box", cam, 90.4, 40.1, 0.8, 5.0, labels={"class": ["box"], "color": ["blue"]}),
        screen_box(4, "cup", cam, 60.3, 75.2, 0.6, 5.0, labels={"class": ["cup", "mug"]}),
        screen_box(5, "bare", cam, 60.2, 15.3, 0.6, 5.0, labels={}),
    ]
    values = {"class": ["mug", "box", "cup,mug"], "color": ["red", "blue"]}
    return make_frame(cam, objects, values)


def test_filtered_out_classes_become_unlabelled_and_lose_their_rows():
    frame = filter_scene()
    inst = frame.passes["instance"]
    assert all(np.any(inst == i) for i in (2, 3, 4, 5))
    mug_only = {"semantic_filter": ["mug"]}  # the cup is also a mug (multi-valued label)

    seg = annotate("instance_segmentation", frame, **mug_only)["data"]
    assert np.all(seg[inst == 3] == 1) and np.all(seg[inst == 5] == 1), "UNLABELLED"
    assert np.all(seg[inst == 2] == 2) and np.all(seg[inst == 4] == 4)
    assert np.all(seg[inst == 0] == 0)
    sem = annotate("semantic_segmentation", frame, **mug_only)
    ids = frame.label_table
    assert np.all(sem["data"][inst == 3] == 1)
    assert np.all(sem["data"][inst == 2] == ids.semantic_id("class", "mug"))
    assert np.all(sem["data"][inst == 4] == ids.semantic_id("class", "cup,mug"))
    assert set(sem["info"]["idToLabels"]) == {0, 1, 2, 4}
    unfiltered = annotate("semantic_segmentation", frame)["data"]
    assert np.all(unfiltered[inst == 3] == ids.semantic_id("class", "box"))

    for name in ("bounding_box_2d_tight", "bounding_box_2d_loose", "bounding_box_3d"):
        assert annotate(name, frame, **mug_only)["info"]["bboxIds"] == [2, 4], name
        assert annotate(name, frame)["info"]["bboxIds"] == [2, 3, 4], name
    assert annotate("occlusion", frame, **mug_only)["data"]["instanceId"].tolist() == [2, 4]
    assert annotate("occlusion", frame, include_unlabelled=True)["data"]["instanceId"].tolist() == [2, 3, 4, 5]
    pc = annotate("pointcloud", frame, **mug_only)["info"]["pointInstance"]
    assert set(np.unique(pc).tolist()) == {2, 4}


def test_semantic_filter_patterns_and_other_label_types():
    frame = filter_scene()
    assert annotate("bounding_box_2d_tight", frame, semantic_filter=["b*"])["info"]["bboxIds"] == [3]
    assert annotate("bounding_box_2d_tight", frame, semantic_filter=["cup,mug"])["info"]["bboxIds"] == [4]
    assert annotate("bounding_box_2d_tight", frame, semantic_filter=["nothing"])["data"].shape == (0,)
    by_colour = annotate("bounding_box_2d_tight", frame, semantic_type="color")
    assert by_colour["info"]["bboxIds"] == [2, 3], "objects without a colour label have no row"
    assert by_colour["info"]["idToLabels"] == {2: {"color": "red"}, 3: {"color": "blue"}}
    sem = annotate("semantic_segmentation", frame, semantic_type="color", semantic_filter=["blue"])
    inst = frame.passes["instance"]
    assert np.all(sem["data"][inst == 3] == 3) and np.all(sem["data"][inst == 2] == 1)


# ---------------------------------------------------------------------------------------
# Shared per-frame statistics


@pytest.mark.parametrize("offset", [0, 5000])
def test_visible_stats_match_brute_force(offset):
    rng = np.random.default_rng(3)
    inst = np.zeros((37, 53), dtype=np.uint32)
    for k in range(2, 30):
        y, x = rng.integers(0, 30), rng.integers(0, 45)
        inst[y : y + rng.integers(1, 8), x : x + rng.integers(1, 9)] = k + offset
    cam = perspective(w=53, h=37)
    frame = FrameData(0, cam, {"instance": inst}, {}, LabelTable())
    counts, extents = sil.visible_counts(frame), sil.visible_extents(frame)
    present = set(np.unique(inst).tolist()) - {0}
    assert set(counts) == present == set(extents)
    for iid in present:
        ys, xs = np.nonzero(inst == iid)
        assert counts[iid] == len(xs)
        assert extents[iid] == (xs.min(), ys.min(), xs.max(), ys.max())


def test_silhouettes_are_computed_once_per_frame(monkeypatch):
    cam = perspective()
    frame = make_frame(cam, occlusion_scene(cam))
    calls = []
    real = sil.raster.rasterize_chains
    monkeypatch.setattr(
        sil.raster, "rasterize_chains", lambda chains, *a: calls.append((len(chains), *a)) or real(chains, *a)
    )
    for name in ("bounding_box_2d_tight", "bounding_box_2d_loose", "bounding_box_3d", "occlusion"):
        annotate(name, frame)
    # Every object once, all in one batched pass (further calls: truncation's extended
    # canvases, one per object crossing the border, once each).
    image = [c for c in calls if c[1:] == (cam.width, cam.height)]
    assert image == [(len(frame.objects), cam.width, cam.height)]
    assert len(calls) - 1 <= sum(0 < sil.truncation_ratio(frame, i) < 1 for i in frame.objects)


def test_amodal_mask_is_the_unoccluded_render_and_matches_boxes_and_occlusion():
    """The half-hidden cube's amodal mask is exactly its pixels rendered alone; the visible
    pixels lie inside it; its extent is the loose box; 1 - visible / amodal is the
    occlusion ratio of the occlusion and box annotators (exactly, same float)."""
    cam, objects = half_occluded_cube_scene()
    frame = make_frame(cam, objects)
    alone = trace(cam, objects[:1])["instance"] == 2
    amodal = annotate("instance_segmentation_amodal", frame)
    info = amodal["info"]
    assert amodal["data"].shape == (2, cam.height, cam.width) and amodal["data"].dtype == bool
    assert info["instanceIds"] == [2, 3]
    mask = amodal["data"][0]
    assert np.array_equal(mask, alone)
    visible = frame.passes["instance"] == 2
    assert 0 < visible.sum() < 0.8 * mask.sum() and not (visible & ~mask).any()
    assert info["visiblePixels"][0] == visible.sum() and info["amodalPixels"][0] == mask.sum()
    loose = row_of(annotate("bounding_box_2d_loose", frame), 2)
    ys, xs = np.nonzero(mask)
    assert info["bboxes"][0] == [xs.min(), ys.min(), xs.max(), ys.max()]
    assert (loose["x_min"], loose["y_min"], loose["x_max"], loose["y_max"]) == tuple(info["bboxes"][0])
    occ = annotate("occlusion", frame)["data"]
    row = occ[list(occ["instanceId"]).index(2)]
    ratio = 1 - visible.sum() / mask.sum()
    assert info["occlusionRatio"][0] == pytest.approx(ratio, abs=1e-12)
    assert row["occlusionRatio"] == np.float32(info["occlusionRatio"][0]) == loose["occlusionRatio"]
    assert row["unoccludedPixels"] == mask.sum() and row["visiblePixels"] == visible.sum()
    # The wall in front is not occluded: its amodal mask is its visible mask.
    assert np.array_equal(amodal["data"][1], frame.passes["instance"] == 3) and info["occlusionRatio"][1] == 0.0


def test_amodal_mask_holds_visible_pixels_the_silhouette_misses():
    """Where the renderer saw an object at a pixel whose centre the rasterizer leaves out
    (an edge tie, a rounding), the amodal mask still holds it: visible is always a subset."""
    cam, objects = half_occluded_cube_scene(with_wall=False)
    frame = make_frame(cam, objects)
    inst = frame.passes["instance"]
    ys, xs = np.nonzero(inst == 2)
    inst[ys.min() - 1, xs.min()] = 2  # one extra "visible" pixel just outside the silhouette
    frame.cache.clear()
    info = annotate("instance_segmentation_amodal", frame)
    mask = info["data"][0]
    assert mask[ys.min() - 1, xs.min()] and not ((inst == 2) & ~mask).any()
    assert info["info"]["occlusionRatio"][0] == 0.0
    assert info["info"]["bboxes"][0][1] == ys.min() - 1


def test_amodal_extent_is_the_extent_of_the_amodal_mask():
    """The loose box comes from the silhouette's local mask and the visible pixels it
    misses, not from the image-sized mask: the same box for every object of the occlusion
    scene (behind, in front, crossing the border), with a stray visible pixel too."""
    from sdg_addon.annotators.raster import silhouette_extent

    cam = perspective()
    for stray in (False, True):
        frame = make_frame(cam, occlusion_scene(cam))
        if stray:  # above and left of an object's visible pixels, inside the image
            inst = frame.passes["instance"]
            target = next(
                i
                for i in frame.objects
                if (inst == i).any() and min(np.nonzero(inst == i)[0].min(), np.nonzero(inst == i)[1].min()) >= 3
            )
            ys, xs = np.nonzero(inst == target)
            inst[ys.min() - 1, xs.min() - 2] = target
        checked = 0
        for iid in frame.objects:
            expected = silhouette_extent(sil.amodal_mask(frame, iid))
            assert sil.amodal_extent(frame, iid) == expected, (stray, iid)
            checked += expected is not None
        assert checked >= 3
    assert sil._visible_outside_silhouette(frame, target) is not None  # the stray is outside it
    assert sil.amodal_extent(frame, target)[:2] == (xs.min() - 2, ys.min() - 1)


def test_keypoints_visibility_by_depth_test_outside_occluded_visible():
    """Keypoints on a cube seen through a half wall: projected where the camera model puts
    them; 2 when nothing is in front, 1 behind the wall (another object), 1 on the cube's
    far side (the cube itself), 0 outside the image and behind the camera."""
    cam = perspective()
    cube = screen_box(2, "cube", cam, 80.0, 48.0, 1.0, 6.0)
    wall = screen_quad(3, "wall", cam, -20.0, 64.0, -20.0, 120.0, 3.0)
    centre = np.array([x_at(cam, 80.0, 6.0), y_at(cam, 48.0, 6.0), -6.0])
    cube.keypoints = {
        "front": (centre + [0, 0, 0.5]).tolist(),  # the face towards the camera
        "back": (centre + [0, 0, -0.5]).tolist(),  # hidden by the cube itself
        "hidden": [x_at(cam, 40.0, 5.5), y_at(cam, 48.0, 5.5), -5.5],  # behind the wall
        "outside": [x_at(cam, 200.0, 6.0), 0.0, -6.0],
        "behind": [0.0, 0.0, 1.0],
    }
    cube.skeleton = [["front", "back"]]
    frame = make_frame(cam, [cube, wall])
    out = annotate("keypoints", frame)
    rows = {out["info"]["names"][2][r["index"]]: r for r in out["data"]}
    assert out["info"]["skeletons"][2] == [[0, 1]]
    # By hand: u = cx + f x / depth, v = cy - f y / depth (f = 100, cx, cy = 64, 48).
    fx, fy = 64 + 100 * centre[0] / 5.5, 48 - 100 * centre[1] / 5.5
    assert rows["front"]["x"] == pytest.approx(fx, abs=1e-4) and rows["front"]["y"] == pytest.approx(fy, abs=1e-4)
    assert rows["front"]["depth"] == pytest.approx(5.5, abs=1e-6)
    assert rows["hidden"]["x"] == pytest.approx(40.0, abs=1e-4)
    flags = {name: int(r["visibility"]) for name, r in rows.items()}
    assert flags == {"front": 2, "back": 1, "hidden": 1, "outside": 0, "behind": 0}
    # The wall has no keypoints: no rows. A tolerance larger than the cube keeps "back" visible.
    assert set(out["data"]["instanceId"].tolist()) == {2}
    loose = annotate("keypoints", frame, depth_tolerance=2.0)
    assert int(loose["data"][1]["visibility"]) == 2


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_keypoints_on_a_surface_seen_at_a_grazing_angle_are_visible(projection):
    """Keypoints on a floor seen 6 degrees above it in a 64 x 48 image: the floor's depth
    changes by about a metre across a pixel, so the pixel-centre sample lies up to half of
    that in front of a keypoint in the same pixel. Each is visible (2): its depth is compared
    with the floor continued from the sample to the keypoint's own ray. Points 0.3 m under
    the floor are hidden (1), by the floor."""
    w, h = 64, 48
    to_world = look_at((0.0, -8.0, 0.84), (0.0, 0.0, 0.0))  # ~6 degrees down
    cam = (
        perspective(w, h, f=60.0, cam_to_world=to_world)
        if projection == "perspective"
        else orthographic(w, h, 8.0, to_world)
    )
    floor = make_object(2, "floor", quad_triangles((-6.0, -6.0, 0.0), (12.0, 0, 0), (0, 12.0, 0)))
    rng = np.random.default_rng(3)
    on = np.column_stack([rng.uniform(-2.5, 2.5, 60), rng.uniform(-2.5, 2.5, 60), np.zeros(60)])
    under = on[:20] - [0.0, 0.0, 0.3]
    floor.keypoints = {f"k{i}": p.tolist() for i, p in enumerate(np.concatenate([on, under]))}
    frame = make_frame(cam, [floor])
    depth = np.where(np.isfinite(frame.passes["depth"]), frame.passes["depth"], np.nan)
    assert np.nanmax(np.abs(np.diff(depth, axis=0))) > 0.5  # grazing: the floor's depth steps by > 0.5 m a row
    flags = annotate("keypoints", frame)["data"]["visibility"]
    assert flags[:60].tolist() == [2] * 60
    assert flags[60:].tolist() == [1] * 20


def test_a_keypoint_over_background_under_an_orthographic_camera_warns_nothing():
    """A keypoint whose pixel and neighbours are background (depth inf) under an
    orthographic camera: the slope's inf - inf printed numpy's 'RuntimeWarning: invalid value
    encountered in subtract' on the user's terminal at every such frame. It is visible (2),
    silently."""
    import warnings

    w, h = 64, 48
    cam = orthographic(w, h, 6.4, look_at((0.0, 0.0, 10.0), (0.0, 0.0, 0.0), up=(0.0, 1.0, 0.0)))
    box = make_object(2, "box", quad_triangles((-1.0, -1.0, 0.0), (2.0, 0, 0), (0, 2.0, 0)))
    box.keypoints = {"centre": [0.0, 0.0, 0.0], "aside": [2.5, 0.0, 0.0]}  # the second over background
    frame = make_frame(cam, [box])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flags = annotate("keypoints", frame)["data"]["visibility"]
    assert flags.tolist() == [2, 2]


def test_an_object_without_triangles_has_its_visible_pixels_as_its_projection():
    """Hair curves, point clouds and volumes render (an id in the instance pass) but send no
    triangles. Their amodal mask is their visible pixels, so their loose box is their tight
    box, occlusion 0 and truncation 0; before, truncation was 1.0 ("nothing of it in the
    image") for a cloud in the middle of the image, which a KITTI reader drops as truncated."""
    cam = perspective()
    cube = screen_box(2, "cube", cam, 40.0, 48.0, 1.0, 6.0)
    cloud = make_object(3, "cloud", np.zeros((0, 3, 3)), lo=[-0.5] * 3, hi=[0.5] * 3, to_world=np.eye(4))
    frame = make_frame(cam, [cube])  # the tracer sees triangles only
    frame.objects[3] = cloud
    frame.label_table = LabelTable({"class": ["cloud", "cube"]})
    frame.passes["instance"][30:50, 80:100] = 3  # where the cloud renders
    frame.passes["depth"][30:50, 80:100] = 5.0
    occ = annotate("occlusion", frame)
    rows = dict(zip(occ["data"]["instanceId"].tolist(), occ["info"]["truncationRatio"]))
    assert rows[3] == 0.0 and rows[2] == 0.0
    row = occ["data"][occ["data"]["instanceId"] == 3][0]
    assert (row["visiblePixels"], row["unoccludedPixels"], row["occlusionRatio"]) == (400, 400, 0.0)
    loose, tight = annotate("bounding_box_2d_loose", frame), annotate("bounding_box_2d_tight", frame)
    assert row_of(loose, 3).tolist() == row_of(tight, 3).tolist()
    assert tuple(row_of(loose, 3))[1:5] == (80, 30, 99, 49)
    assert annotate("bounding_box_3d", frame)["info"]["truncationRatio"][1] == 0.0


def test_object_pose_model_frame_keeps_scale_in_the_model():
    """A scaled, rotated, moved box: the pose is rigid (a rotation), the model's vertices
    carry the scale, and pose @ model vertex = the world vertex seen from the camera."""
    from sdg_addon.annotators.pose import diameter

    cam = perspective()
    to_world = translate(0.3, -0.2, -6.0) @ rotate("z", 30) @ rotate("x", 20) @ scale(2.0, 1.0, 0.5)
    box = box_object(2, "box", [-0.5] * 3, [0.5] * 3, to_world)
    frame = make_frame(cam, [box])
    out = annotate("object_pose", frame)
    pose = out["data"][0]
    assert np.allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-12)
    model = out["info"]["models"]["box"]["vertices"].astype(np.float64)
    assert np.allclose(np.sort(np.abs(model).max(axis=0)), [0.25, 0.5, 1.0], atol=1e-6)
    world = np.unique(box.triangles.reshape(-1, 3).round(6), axis=0)
    cv = world @ cam.world_to_camera_opencv[:3, :3].T + cam.world_to_camera_opencv[:3, 3]
    placed = model @ pose[:3, :3].T + pose[:3, 3]
    assert np.allclose(np.unique(placed.round(5), axis=0), np.unique(cv.round(5), axis=0), atol=1e-5)
    assert out["info"]["diameter"][0] == pytest.approx(np.sqrt(2.0**2 + 1.0 + 0.25), rel=1e-6)
    rng = np.random.default_rng(0)
    cloud = rng.normal(size=(2000, 3))
    exact = np.sqrt(((cloud[:, None] - cloud[None]) ** 2).sum(-1).max())
    assert diameter(cloud) == pytest.approx(exact, rel=1e-3) and diameter(cloud) <= exact


def test_object_pose_model_of_an_indexed_mesh_is_the_same_model():
    """The capture sends meshes as vertices + faces: the model keeps those vertices (the ones
    the faces use: a loose vertex is no part of the model), and it is the model the welded
    triangle soup of the same mesh gives (same positions, same triangles, same diameter)."""
    from sdg_addon.annotators.pose import diameter, model_mesh, rigid_part

    cam = perspective()
    to_world = translate(0.3, -0.2, -6.0) @ rotate("z", 30) @ rotate("x", 20) @ scale(2.0, 1.0, 0.5)
    soup = box_object(2, "box", [-0.5] * 3, [0.5] * 3, to_world)
    corners, faces = np.unique(soup.triangles.reshape(-1, 3), axis=0, return_inverse=True)
    loose = np.array([[50.0, 50.0, 50.0]])  # far away: in the model, it would set the diameter
    indexed = box_object(2, "box", [-0.5] * 3, [0.5] * 3, to_world)
    indexed.triangles = None
    indexed.vertices = np.concatenate([loose, corners])
    indexed.faces = faces.reshape(-1, 3) + 1
    m2w = rigid_part(to_world)
    v_soup, f_soup = model_mesh(soup, m2w)
    v_mesh, f_mesh = model_mesh(indexed, m2w)
    assert len(v_mesh) == 8 and np.array_equal(np.unique(v_mesh, axis=0), v_soup)
    assert {tuple(map(tuple, v_mesh[t])) for t in f_mesh} == {tuple(map(tuple, v_soup[t])) for t in f_soup}
    assert diameter(v_mesh) == diameter(v_soup)
    frame = make_frame(cam, [box_object(2, "box", [-0.5] * 3, [0.5] * 3, to_world)])  # traced as a soup
    sent = frame.objects[2]
    sent.triangles, sent.vertices, sent.faces = None, indexed.vertices, indexed.faces  # then sent indexed
    out = annotate("object_pose", frame)
    assert len(out["info"]["models"]["box"]["vertices"]) == 8
    assert out["info"]["diameter"][0] == pytest.approx(np.sqrt(2.0**2 + 1.0 + 0.25), rel=1e-6)


@pytest.mark.parametrize("n", [2, 3, 77, 600])
def test_diameter_is_exact_up_to_600_vertices(n):
    """At most 600 vertices the farthest pair is found among all pairs (to rounding), far
    from the origin too (the products are taken about the centre)."""
    from sdg_addon.annotators.pose import diameter

    rng = np.random.default_rng(n)
    cloud = rng.uniform(-1, 1, size=(n, 3)) * [3.0, 1.0, 0.2] + [1e4, -2e4, 5e3]
    exact = np.sqrt(((cloud[:, None] - cloud[None]) ** 2).sum(-1).max())
    assert diameter(cloud) == pytest.approx(exact, rel=1e-12)


# ---------------------------------------------------------------------------------------
# Object coordinates (Kubric)


def test_object_coordinates_place_each_pixel_in_its_objects_box():
    """A turned, scaled, moved box: each of its pixels' fractions, taken back through its
    box and its object_to_world, is the pointcloud's point of that pixel; a face seen is at
    0 or 1 along its axis. The flat plane reads 0.5 across its thickness; an unlabelled
    object and the background are 0."""
    lo, hi = np.array([-0.5, -0.25, 0.0]), np.array([0.5, 0.25, 0.4])
    to_world = translate(0.3, 0.2, 0.1) @ rotate("z", 30) @ rotate("x", 10) @ scale(1.5, 1.0, 2.0)
    box = box_object(2, "box", lo, hi, to_world)
    plane = make_object(3, "plane", quad_triangles(np.array([-3.0, -3.0, -0.5]), [6.0, 0, 0], [0, 6.0, 0]))
    blob = box_object(4, "blob", [-0.2] * 3, [0.2] * 3, translate(-1.2, 0.0, 0.5), labels={})
    cam = perspective(cam_to_world=look_at((1.0, -4.0, 3.0), (0.0, 0.0, 0.0)))
    frame = make_frame(cam, [box, plane, blob])
    coords = annotate("object_coordinates", frame)
    assert coords.shape == (cam.height, cam.width, 3) and coords.dtype == np.float32
    inst = frame.passes["instance"]
    assert (inst == 2).sum() > 300 and (inst == 4).sum() > 20
    cloud = annotate("pointcloud", frame)
    xs, ys = cloud["info"]["pointPixels"].T
    on_box = inst[ys, xs] == 2
    frac = coords[ys[on_box], xs[on_box]].astype(np.float64)
    local = lo + frac * (hi - lo)
    world = local @ to_world[:3, :3].T + to_world[:3, 3]
    np.testing.assert_allclose(world, cloud["data"][on_box], atol=1e-4)
    assert ((np.abs(frac) < 1e-4) | (np.abs(frac - 1) < 1e-4)).any(axis=1).all()  # on a face
    assert np.all((frac >= 0) & (frac <= 1))
    assert np.all(coords[inst == 3][:, 2] == 0.5)  # the plane has no thickness
    assert np.all(coords[(inst == 0) | (inst == 4)] == 0)  # background, unlabelled
