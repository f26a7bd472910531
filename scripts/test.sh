#!/usr/bin/env bash
# Install the pinned environments and run the whole test suite (CI runs exactly this):
# .venv (bpy 5.0.1) runs pytest; .venv42 (bpy 4.2 LTS) runs the extension smoke test.
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/env42.sh"
.venv/bin/python -m pytest "$@"
