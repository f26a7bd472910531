"""Blender scene construction and per-frame randomization (bpy)."""
