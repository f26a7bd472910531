"""Dataset report and comparison (no bpy): `python -m headless report OUT [OTHER]`."""

from .page import write_comparison, write_report
from .stats import Stats, collect

__all__ = ["Stats", "collect", "write_comparison", "write_report"]
