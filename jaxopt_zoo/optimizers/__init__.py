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
from ._adam import nadamw as nadamw
from ._adamax import adamaxw as adamaxw
from ._fromage import fromage as fromage
from ._noisy_sgd import noisy_sgd as noisy_sgd
from ._novograd import novograd as novograd
from ._novograd import scale_by_novograd as scale_by_novograd
from ._novograd import ScaleByNovogradState as ScaleByNovogradState
from ._optimistic import optimistic_adam_v2 as optimistic_adam_v2
from ._optimistic import optimistic_gradient_descent as optimistic_gradient_descent
from ._optimistic import scale_by_optimistic_gradient as scale_by_optimistic_gradient
from ._optimistic import ScaleByOptimisticGradientState as ScaleByOptimisticGradientState
from ._polyak import polyak_sgd as polyak_sgd
from ._polyak import scale_by_polyak as scale_by_polyak
from ._sign import scale_by_sign as scale_by_sign
from ._sign import sign_sgd as sign_sgd
from ._sign import signum as signum
from ._sm3 import scale_by_sm3 as scale_by_sm3
from ._sm3 import ScaleBySM3State as ScaleBySM3State
from ._sm3 import sm3 as sm3
from ._yogi import scale_by_yogi as scale_by_yogi
from ._yogi import yogi as yogi
