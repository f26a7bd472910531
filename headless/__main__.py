import sys

from .cli import main

# Guarded: worker processes are spawned and import the parent's main module.
if __name__ == "__main__":
    code = main(sys.argv[1:])
    if "bpy" in sys.modules:  # a fluid simulation must be freed before Python shuts down
        from sdg_addon.scene.caches import free_simulations_before_exit

        free_simulations_before_exit()
    sys.exit(code)
