"""Entry for the Blender executable: `blender -b -P headless/run.py -- render FILE --out DIR`.

Blender passes its own arguments in sys.argv; ours are those after `--`. The repository
root is put on sys.path so `headless` and `sdg_addon` import as in `python -m headless`.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from headless.cli import exit_with, main  # noqa: E402


def script_args(argv: list[str]) -> list[str]:
    return argv[argv.index("--") + 1 :] if "--" in argv else []


if __name__ == "__main__":
    # In background mode Blender exits with the status of a SystemExit raised by the script.
    exit_with(main(script_args(sys.argv)))
