"""torch.optim.swa_utils look-alikes: ``SWALR`` and ``AveragedModel`` (SWA / EMA of the weights).

``SWALR`` is a schedule ``t -> lr`` with torch's values; ``AveragedModel`` is a transformation
(last in a chain) whose state keeps torch's averaged weights, read with ``averaged_params``.

    from jaxopt_zoo import torch_compat as tc
    from jaxopt_zoo.torch_compat import swa_utils
    tx = zoo.chain(tc.AdamW(lr=1e-3), swa_utils.AveragedModel(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.999)))
    ema_params = swa_utils.averaged_params(opt_state)
"""

from ._swa import SWALR as SWALR
from ._swa import AveragedModel as AveragedModel
from ._swa import AveragedModelState as AveragedModelState
from ._swa import averaged_params as averaged_params
from ._swa import get_ema_avg_fn as get_ema_avg_fn
from ._swa import get_ema_multi_avg_fn as get_ema_multi_avg_fn
from ._swa import get_swa_avg_fn as get_swa_avg_fn
from ._swa import get_swa_multi_avg_fn as get_swa_multi_avg_fn
