"""Features: one module per feature, each loaded only when a run uses it (see engine/capability.py)."""
