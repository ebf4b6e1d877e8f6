"""Building blocks: one file per concern. Import them from ``jaxopt_zoo``."""
