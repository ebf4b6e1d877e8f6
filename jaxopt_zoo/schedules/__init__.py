"""Learning-rate schedules: pure callables ``step -> value``.

Every member is also exported from ``jaxopt_zoo`` itself; this namespace groups them, as
``optax.schedules`` does::

    from jaxopt_zoo import schedules
    s = schedules.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 1000)
"""

from ._cosine import cosine_decay_schedule as cosine_decay_schedule
from ._cosine import cosine_warm_restarts_schedule as cosine_warm_restarts_schedule
from ._cosine import sgdr_schedule as sgdr_schedule
from ._cosine import warmup_cosine_decay_schedule as warmup_cosine_decay_schedule
from ._cyclic import cyclic_schedule as cyclic_schedule
from ._cyclic import CyclicalSchedule as CyclicalSchedule
from ._cyclic import one_cycle_schedule as one_cycle_schedule
from ._join import join_schedules as join_schedules
from ._join import piecewise_constant_schedule as piecewise_constant_schedule
from ._join import piecewise_interpolate_schedule as piecewise_interpolate_schedule
from ._join import warmup_exponential_decay_schedule as warmup_exponential_decay_schedule
from ._simple import constant_schedule as constant_schedule
from ._simple import exponential_decay as exponential_decay
from ._simple import inverse_time_decay_schedule as inverse_time_decay_schedule
from ._simple import linear_schedule as linear_schedule
from ._simple import polynomial_schedule as polynomial_schedule
from ._step import multistep_decay_schedule as multistep_decay_schedule
from ._step import step_decay_schedule as step_decay_schedule
from ._step import warmup_linear_decay_schedule as warmup_linear_decay_schedule
from ._onecycle import cosine_onecycle_schedule as cosine_onecycle_schedule
from ._onecycle import linear_onecycle_schedule as linear_onecycle_schedule
from ._onecycle import warmup_constant_schedule as warmup_constant_schedule
from ._wsd import inverse_sqrt_schedule as inverse_sqrt_schedule
from ._wsd import wsd_schedule as wsd_schedule
