"""torch.optim.lr_scheduler look-alikes: each returns a schedule ``t -> lr``.

The first argument is the base lr (torch's is the optimizer); the rest are torch's keywords.
The value at ``t`` equals torch's lr after ``t`` calls of ``scheduler.step()``.
"""
from ._plateau import ReduceLROnPlateau as ReduceLROnPlateau
