import sys

from .cli import main

# Guarded: worker processes are spawned and import the parent's main module.
if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
