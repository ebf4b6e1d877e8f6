"""PyTorch recipes in JAX with the very same numbers.

``jaxopt_zoo.torch_compat`` mirrors ``torch.optim`` and ``torch.optim.lr_scheduler``: the same
class names, keyword names and defaults, and — tested side by side against torch — the same
trajectories. Each optimizer returns a ``GradientTransformation``; each scheduler returns a
schedule ``t -> lr`` to pass as an optimizer's ``lr``.

    from jaxopt_zoo import torch_compat as tc
    tx = tc.SGD(lr=tc.lr_scheduler.StepLR(0.1, step_size=30, steps_per_epoch=100), momentum=0.9)
"""

from . import lr_scheduler as lr_scheduler
from . import swa_utils as swa_utils
from . import transformers as transformers

# --- optimizers (torch.optim look-alikes) -----------------------------------------------
from ._sgd import SGD as SGD
from ._adam import Adam as Adam
from ._adam import AdamW as AdamW
from ._adagrad import Adagrad as Adagrad
from ._rmsprop import RMSprop as RMSprop
from ._adadelta_adamax import Adadelta as Adadelta
from ._adadelta_adamax import Adamax as Adamax
from ._nadam_radam import NAdam as NAdam
from ._nadam_radam import RAdam as RAdam
from ._rprop_asgd import Rprop as Rprop
from ._rprop_asgd import ASGD as ASGD
from ._rprop_asgd import asgd_averaged_params as asgd_averaged_params
from ._muon import Muon as Muon
from ._adafactor import Adafactor as Adafactor
from ._lbfgs import LBFGS as LBFGS

# --- gradient clipping (torch.nn.utils look-alikes) ---------------------------------------
from ._clip import clip_grad_norm as clip_grad_norm
from ._clip import clip_grad_value as clip_grad_value

# --- param groups (the state of an optimizer given ``param_groups``) ----------------------
from ._groups import ParamGroupsState as ParamGroupsState
