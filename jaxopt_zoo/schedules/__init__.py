"""Learning-rate schedules. Import them from ``jaxopt_zoo``."""
