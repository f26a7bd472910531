#!/usr/bin/env bash
# Install the pinned environment and render the built-in default preset.
#   bash scripts/install_and_render.sh [extra render args, e.g. --frames 0:4 --device cuda]
source "$(dirname "$0")/env.sh"
.venv/bin/python -m headless render presets/default.toml --out out/default --overwrite "$@"
.venv/bin/python -m headless preview out/default --sheet >/dev/null 2>&1 && echo "contact sheet: out/default/preview/" || true
