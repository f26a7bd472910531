"""Headless batch driver: `python -m headless ...` (bpy module) or
`blender -b -P headless/run.py -- ...` (Blender executable). Same arguments, same code."""
