"""Optimizer families, one file each: the ``scale_by_x`` transformation and the ``x`` alias.

Every member is also exported from ``jaxopt_zoo`` itself; this namespace groups them::

    from jaxopt_zoo import optimizers
    tx = optimizers.adamw(1e-3)
"""

from ._adabelief import adabelief as adabelief
from ._adabelief import scale_by_belief as scale_by_belief
from ._adabelief import ScaleByBeliefState as ScaleByBeliefState
from ._adadelta import adadelta as adadelta
from ._adadelta import scale_by_adadelta as scale_by_adadelta
from ._adadelta import ScaleByAdaDeltaState as ScaleByAdaDeltaState
from ._adafactor import adafactor as adafactor
from ._adafactor import FactoredState as FactoredState
from ._adafactor import scale_by_factored_rms as scale_by_factored_rms
from ._adagrad import adagrad as adagrad
from ._adagrad import scale_by_rss as scale_by_rss
from ._adagrad import ScaleByRssState as ScaleByRssState
from ._adai import adai as adai
from ._adai import AdaiState as AdaiState
from ._adam import adam as adam
from ._adam import adamw as adamw
from ._adam import amsgrad as amsgrad
from ._adam import nadam as nadam
from ._adam import scale_by_adam as scale_by_adam
from ._adam import ScaleByAdamState as ScaleByAdamState
from ._adam import ScaleByAmsgradState as ScaleByAmsgradState
from ._adamax import adamax as adamax
from ._adamax import scale_by_adamax as scale_by_adamax
from ._adan import adan as adan
from ._adan import AdanState as AdanState
from ._lamb import lamb as lamb
from ._lars import lars as lars
from ._lion import lion as lion
from ._lion import scale_by_lion as scale_by_lion
from ._lion import ScaleByLionState as ScaleByLionState
from ._lookahead import centralize_gradients as centralize_gradients
from ._lookahead import lookahead as lookahead
from ._lookahead import LookaheadParams as LookaheadParams
from ._lookahead import LookaheadState as LookaheadState
from ._lookahead import ranger as ranger
from ._madgrad import madgrad as madgrad
from ._madgrad import MadgradState as MadgradState
from ._madgrad import scale_by_madgrad as scale_by_madgrad
from ._padam import padam as padam
from ._padam import PAdamState as PAdamState
from ._radam import radam as radam
from ._radam import scale_by_radam as scale_by_radam
from ._rmsprop import rmsprop as rmsprop
from ._rmsprop import scale_by_rms as scale_by_rms
from ._rmsprop import scale_by_stddev as scale_by_stddev
from ._rmsprop import ScaleByRmsState as ScaleByRmsState
from ._rmsprop import ScaleByRmsWithCountState as ScaleByRmsWithCountState
from ._rmsprop import ScaleByRStdDevState as ScaleByRStdDevState
from ._rmsprop import ScaleByRStdDevWithCountState as ScaleByRStdDevWithCountState
from ._rprop import rprop as rprop
from ._rprop import ScaleByRpropState as ScaleByRpropState
from ._sam import normalize as normalize
from ._sam import sam as sam
from ._sam import SAMState as SAMState
from ._schedule_free import schedule_free_adamw as schedule_free_adamw
from ._schedule_free import schedule_free_eval_params as schedule_free_eval_params
from ._schedule_free import schedule_free_sgd as schedule_free_sgd
from ._schedule_free import ScheduleFreeState as ScheduleFreeState
from ._sgd import sgd as sgd
