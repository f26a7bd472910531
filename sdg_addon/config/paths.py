"""The files, folders and globs a parameter file names relative to itself (no bpy): one
list for whatever moves a parameter file's table elsewhere (the panels' Import and Export,
the benchmark's copy in a temporary folder)."""

from __future__ import annotations

from ..sampling.randomizers import RANDOMIZERS

ASSET_PATH_KEYS = ("file", "files")  # [[assets]]: a model file, a pool's glob


def map_file_paths(table: dict, convert) -> dict:
    """`table` with `convert` (str -> str) applied to each path in it that is relative to its
    file: assets' `file` and `files`, `asset_list`, the randomizers' PATH_OPTIONS (not
    `[scene] blend`, which each caller names its own way). Entries it does not know (a table
    not validated) are left as they are."""
    for asset in table.get("assets", []):
        for key in ASSET_PATH_KEYS:
            if isinstance(asset, dict) and isinstance(asset.get(key), str):
                asset[key] = convert(asset[key])
    if isinstance(table.get("asset_list"), str):
        table["asset_list"] = convert(table["asset_list"])
    if isinstance(table.get("randomizers"), list):
        table["randomizers"] = [
            RANDOMIZERS[r["type"]].map_paths(r, convert) if isinstance(r, dict) and r.get("type") in RANDOMIZERS else r
            for r in table["randomizers"]
        ]
    return table
