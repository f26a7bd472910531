"""Rendering and pass read-back (bpy)."""
