# Sourced by the other scripts: make .venv (Python 3.11) with the pinned requirements.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3 python; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY=$c; break
    fi
  done
fi
[ -n "$PY" ] || { echo "Python 3.11 is required (the bpy wheels are cp311); set PYTHON=/path/to/python3.11" >&2; exit 2; }
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt; then
  echo "pip install -r requirements.txt failed" >&2; exit 1
fi
export PYTHONUNBUFFERED=1
