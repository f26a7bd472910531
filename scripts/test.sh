#!/usr/bin/env bash
# Install the pinned environment and run the whole test suite (CI runs exactly this).
source "$(dirname "$0")/env.sh"
.venv/bin/python -m pytest "$@"
