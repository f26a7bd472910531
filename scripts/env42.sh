# Sourced by scripts/test.sh after env.sh: .venv42 with bpy 4.2 LTS for the smoke test of
# tests/test_blender_versions.py. SDG_SKIP_BLENDER42=1 leaves it out (the test then skips).
if [ "${SDG_SKIP_BLENDER42:-0}" != "1" ]; then
  if [ ! -x .venv42/bin/python ]; then
    "$PY" -m venv .venv42
  fi
  if ! .venv42/bin/python -m pip install -q --disable-pip-version-check -r requirements-blender42.txt; then
    echo "pip install -r requirements-blender42.txt failed (set SDG_SKIP_BLENDER42=1 to skip the 4.2 smoke test)" >&2
    exit 1
  fi
fi
