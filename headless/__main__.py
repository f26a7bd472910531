import sys

from . import early_signals

# Guarded: worker processes are spawned and import the parent's main module.
if __name__ == "__main__":
    early_signals.keep()  # a Ctrl-C while the modules below load waits for the run

from .cli import exit_with, main  # noqa: E402

if __name__ == "__main__":
    exit_with(main(sys.argv[1:]))
