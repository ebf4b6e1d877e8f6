"""jaxopt_zoo: optimizers and learning-rate schedules for JAX.

Every optimizer and schedule is a pure ``(init, update)`` gradient transformation that
composes with ``chain``, runs under ``jit``/``pmap``/sharded ``jit``, and is tested equal to a
named reference implementation (optax, torch.optim, pytorch_optimizer or schedulefree).

Each section below belongs to one area of the library; names are re-exported explicitly.
"""

# --- protocol -------------------------------------------------------------------------
from ._base import EmptyState as EmptyState
from ._base import GradientTransformation as GradientTransformation
from ._base import GradientTransformationExtraArgs as GradientTransformationExtraArgs
from ._base import Params as Params
from ._base import Updates as Updates
from ._base import OptState as OptState
from ._base import Schedule as Schedule
from ._base import ScalarOrSchedule as ScalarOrSchedule
from ._base import apply_updates as apply_updates
from ._base import chain as chain
from ._base import identity as identity
from ._base import set_to_zero as set_to_zero
from ._numerics import global_norm as global_norm

# --- building blocks (transforms/) ------------------------------------------------------
from .transforms._scaling import ScaleByScheduleState as ScaleByScheduleState
from .transforms._scaling import scale as scale
from .transforms._scaling import scale_by_learning_rate as scale_by_learning_rate
from .transforms._scaling import scale_by_schedule as scale_by_schedule
from .transforms._weight_decay import add_decayed_weights as add_decayed_weights

# --- optimizers (optimizers/) -----------------------------------------------------------
from .optimizers._adam import ScaleByAdamState as ScaleByAdamState
from .optimizers._adam import ScaleByAmsgradState as ScaleByAmsgradState
from .optimizers._adam import adam as adam
from .optimizers._adam import adamw as adamw
from .optimizers._adam import amsgrad as amsgrad
from .optimizers._adam import nadam as nadam
from .optimizers._adam import scale_by_adam as scale_by_adam

# --- schedules (schedules/) -------------------------------------------------------------

# --- hyperparameters and plateau ---------------------------------------------------------

# --- reliability (issue: bad input, faults, precision) ------------------------------------

__version__ = "0.1.0"
