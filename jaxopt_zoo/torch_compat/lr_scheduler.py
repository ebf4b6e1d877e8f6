"""torch.optim.lr_scheduler look-alikes: each returns a schedule ``t -> lr``.

The first argument is the base lr (torch's is the optimizer); the rest are torch's keywords.
The value at ``t`` equals torch's lr after ``t`` calls of ``scheduler.step()``; the keyword
``steps_per_epoch`` (default 1) maps optimizer steps to scheduler steps for schedulers torch
steps once per epoch: the value at optimizer step ``t`` is torch's lr after
``floor(t / steps_per_epoch)`` scheduler steps. CyclicLR and OneCycleLR overwrite the lr in
torch, so they take torch's arguments without the optimizer (``CyclicLR(base_lr, max_lr,
...)``, ``OneCycleLR(max_lr, total_steps, ...)``; OneCycleLR's ``steps_per_epoch`` keeps
torch's meaning) and expose ``.momentum``, the schedule torch writes into ``momentum`` /
``betas[0]``.
"""

from ._sched_base import TorchLRScheduler as TorchLRScheduler
from ._sched_compose import ChainedScheduler as ChainedScheduler
from ._sched_compose import SequentialLR as SequentialLR
from ._sched_cosine import CosineAnnealingLR as CosineAnnealingLR
from ._sched_cosine import CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts
from ._sched_cyclic import CyclicLR as CyclicLR
from ._sched_cyclic import OneCycleLR as OneCycleLR
from ._sched_simple import ConstantLR as ConstantLR
from ._sched_simple import ExponentialLR as ExponentialLR
from ._sched_simple import LambdaLR as LambdaLR
from ._sched_simple import LinearLR as LinearLR
from ._sched_simple import MultiplicativeLR as MultiplicativeLR
from ._sched_simple import MultiStepLR as MultiStepLR
from ._sched_simple import PolynomialLR as PolynomialLR
from ._sched_simple import StepLR as StepLR
from ._plateau import ReduceLROnPlateau as ReduceLROnPlateau
