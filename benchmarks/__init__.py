"""Side-by-side benchmarks: jaxopt_zoo against optax, and both against the memory floor.

Run ``make bench`` (or ``python -m benchmarks.run [--quick]``); see ``benchmarks/run.py``.
"""
