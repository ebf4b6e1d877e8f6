"""Hugging Face transformers' learning-rate schedules (``transformers.optimization.get_*_schedule*``).

Each takes the base lr first (transformers' first argument is the optimizer), then
transformers' keywords and defaults, and returns a schedule ``t -> lr`` (a
``torch_compat.lr_scheduler.LambdaLR``) equal to transformers' lr after ``t`` scheduler steps.

    from jaxopt_zoo import torch_compat as tc
    from jaxopt_zoo.torch_compat import transformers as hf
    tx = tc.AdamW(lr=hf.get_cosine_schedule_with_warmup(5e-5, num_warmup_steps=100, num_training_steps=1000))
"""

from ._hf_schedules import get_constant_schedule as get_constant_schedule
from ._hf_schedules import get_constant_schedule_with_warmup as get_constant_schedule_with_warmup
from ._hf_schedules import get_linear_schedule_with_warmup as get_linear_schedule_with_warmup
from ._hf_schedules import get_cosine_schedule_with_warmup as get_cosine_schedule_with_warmup
from ._hf_schedules import (
    get_cosine_with_hard_restarts_schedule_with_warmup as get_cosine_with_hard_restarts_schedule_with_warmup,
)
from ._hf_schedules import get_polynomial_decay_schedule_with_warmup as get_polynomial_decay_schedule_with_warmup
from ._hf_schedules import get_inverse_sqrt_schedule as get_inverse_sqrt_schedule
from ._hf_schedules import get_cosine_with_min_lr_schedule_with_warmup as get_cosine_with_min_lr_schedule_with_warmup
from ._hf_schedules import get_wsd_schedule as get_wsd_schedule
