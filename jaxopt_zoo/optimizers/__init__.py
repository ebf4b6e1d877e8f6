"""Optimizer families: one file each. Import them from ``jaxopt_zoo``."""
