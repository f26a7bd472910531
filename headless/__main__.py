import sys

from .cli import exit_with, main

# Guarded: worker processes are spawned and import the parent's main module.
if __name__ == "__main__":
    exit_with(main(sys.argv[1:]))
