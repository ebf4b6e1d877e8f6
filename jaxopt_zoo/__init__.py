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
from ._base import MaskOrFn as MaskOrFn
from ._base import Params as Params
from ._base import TransformInitFn as TransformInitFn
from ._base import TransformUpdateExtraArgsFn as TransformUpdateExtraArgsFn
from ._base import TransformUpdateFn as TransformUpdateFn
from ._base import Updates as Updates
from ._base import OptState as OptState
from ._base import Schedule as Schedule
from ._base import ScalarOrSchedule as ScalarOrSchedule
from ._base import apply_updates as apply_updates
from ._base import with_extra_args_support as with_extra_args_support
from ._base import chain as chain
from ._base import identity as identity
from ._base import init_empty_state as init_empty_state
from ._base import set_to_zero as set_to_zero
from ._numerics import global_norm as global_norm

# --- numerics (optax's public helpers; one home: _numerics.py) ----------------------------
from ._numerics import bias_correction as bias_correction
from ._numerics import safe_increment as safe_increment
from ._numerics import safe_int32_increment as safe_int32_increment
from ._numerics import safe_norm as safe_norm
from ._numerics import safe_root_mean_squares as safe_root_mean_squares
from ._numerics import update_infinity_moment as update_infinity_moment
from ._numerics import update_moment as update_moment
from ._numerics import update_moment_per_elem_norm as update_moment_per_elem_norm

# --- building blocks (transforms/) ------------------------------------------------------
from .transforms._scaling import ScaleByScheduleState as ScaleByScheduleState
from .transforms._scaling import ScaleState as ScaleState
from .transforms._scaling import scale as scale
from .transforms._scaling import scale_by_learning_rate as scale_by_learning_rate
from .transforms._scaling import scale_by_schedule as scale_by_schedule
from .transforms._weight_decay import AddDecayedWeightsState as AddDecayedWeightsState
from .transforms._weight_decay import add_decayed_weights as add_decayed_weights
from .transforms._clipping import ClipByGlobalNormState as ClipByGlobalNormState
from .transforms._clipping import ClipState as ClipState
from .transforms._clipping import clip as clip
from .transforms._clipping import clip_by_block_rms as clip_by_block_rms
from .transforms._clipping import clip_by_global_norm as clip_by_global_norm
from .transforms._momentum import EmaState as EmaState
from .transforms._momentum import TraceState as TraceState
from .transforms._momentum import ema as ema
from .transforms._momentum import trace as trace
from .transforms._masking import MaskedNode as MaskedNode
from .transforms._masking import MaskedState as MaskedState
from .transforms._masking import masked as masked
from .transforms._partition import MultiTransformState as MultiTransformState
from .transforms._partition import multi_transform as multi_transform

# --- optax transformations (transforms/) ---------------------------------------------------
from .transforms._stateless import stateless as stateless
from .transforms._stateless import stateless_with_tree_map as stateless_with_tree_map
from .transforms._combine import PartitionState as PartitionState
from .transforms._combine import freeze as freeze
from .transforms._combine import named_chain as named_chain
from .transforms._combine import partition as partition
from .transforms._combine import selective_transform as selective_transform
from .transforms._conditional import ConditionallyMaskState as ConditionallyMaskState
from .transforms._conditional import ConditionallyTransformState as ConditionallyTransformState
from .transforms._conditional import conditionally_mask as conditionally_mask
from .transforms._conditional import conditionally_transform as conditionally_transform
from .transforms._constrain import NonNegativeParamsState as NonNegativeParamsState
from .transforms._constrain import ZeroNansState as ZeroNansState
from .transforms._constrain import keep_params_nonnegative as keep_params_nonnegative
from .transforms._constrain import zero_nans as zero_nans
from .transforms._layout import flatten as flatten
from .transforms._snapshot import SnapshotState as SnapshotState
from .transforms._snapshot import measure_with_ema as measure_with_ema
from .transforms._snapshot import snapshot as snapshot
from .transforms._adaptive_clip import AdaptiveGradClipState as AdaptiveGradClipState
from .transforms._adaptive_clip import adaptive_grad_clip as adaptive_grad_clip
from .transforms._per_example import per_example_global_norm_clip as per_example_global_norm_clip
from .transforms._per_example import per_example_layer_norm_clip as per_example_layer_norm_clip
from .transforms._normalize import centralize as centralize
from .transforms._normalize import normalize_by_update_norm as normalize_by_update_norm
from .transforms._normalize import scale_by_param_block_norm as scale_by_param_block_norm
from .transforms._apply_every import ApplyEvery as ApplyEvery
from .transforms._apply_every import apply_every as apply_every
from .transforms._averaging import incremental_update as incremental_update
from .transforms._averaging import periodic_update as periodic_update
from .transforms._scale_gradient import scale_gradient as scale_gradient
from .transforms._tree_map_params import tree_map_params as tree_map_params
from .transforms._microbatch import AccumulationType as AccumulationType
from .transforms._microbatch import Accumulator as Accumulator
from .transforms._microbatch import microbatch as microbatch

# --- optimizers (optimizers/) -----------------------------------------------------------
from .optimizers._adam import ScaleByAdamState as ScaleByAdamState
from .optimizers._adam import ScaleByAmsgradState as ScaleByAmsgradState
from .optimizers._adam import adam as adam
from .optimizers._adam import adamw as adamw
from .optimizers._adam import amsgrad as amsgrad
from .optimizers._adam import nadam as nadam
from .optimizers._adam import scale_by_adam as scale_by_adam
from .optimizers._adam import scale_by_amsgrad as scale_by_amsgrad
from .optimizers._sgd import sgd as sgd
from .optimizers._adagrad import ScaleByRssState as ScaleByRssState
from .optimizers._adagrad import adagrad as adagrad
from .optimizers._adagrad import scale_by_rss as scale_by_rss
from .optimizers._rmsprop import ScaleByRmsState as ScaleByRmsState
from .optimizers._rmsprop import ScaleByRmsWithCountState as ScaleByRmsWithCountState
from .optimizers._rmsprop import ScaleByRStdDevState as ScaleByRStdDevState
from .optimizers._rmsprop import ScaleByRStdDevWithCountState as ScaleByRStdDevWithCountState
from .optimizers._rmsprop import rmsprop as rmsprop
from .optimizers._rmsprop import scale_by_rms as scale_by_rms
from .optimizers._rmsprop import scale_by_stddev as scale_by_stddev
from .optimizers._adadelta import ScaleByAdaDeltaState as ScaleByAdaDeltaState
from .optimizers._adadelta import adadelta as adadelta
from .optimizers._adadelta import scale_by_adadelta as scale_by_adadelta
from .optimizers._adamax import adamax as adamax
from .optimizers._adamax import scale_by_adamax as scale_by_adamax
from .optimizers._radam import radam as radam
from .optimizers._radam import scale_by_radam as scale_by_radam
# modern
from .transforms._trust_ratio import scale_by_param_block_rms as scale_by_param_block_rms
from .transforms._trust_ratio import ScaleByTrustRatioState as ScaleByTrustRatioState
from .transforms._trust_ratio import scale_by_trust_ratio as scale_by_trust_ratio
from .optimizers._lars import lars as lars
from .optimizers._lamb import lamb as lamb
from .optimizers._adabelief import ScaleByBeliefState as ScaleByBeliefState
from .optimizers._adabelief import adabelief as adabelief
from .optimizers._adabelief import scale_by_belief as scale_by_belief
from .optimizers._lion import ScaleByLionState as ScaleByLionState
from .optimizers._lion import lion as lion
from .optimizers._lion import scale_by_lion as scale_by_lion
from .optimizers._adafactor import FactoredState as FactoredState
from .optimizers._adafactor import adafactor as adafactor
from .optimizers._adafactor import scale_by_factored_rms as scale_by_factored_rms
from .optimizers._rprop import ScaleByRpropState as ScaleByRpropState
from .optimizers._rprop import rprop as rprop
from .optimizers._rprop import scale_by_rprop as scale_by_rprop
from .optimizers._adan import ScaleByAdanState as ScaleByAdanState
from .optimizers._adan import adan as adan
from .optimizers._adan import scale_by_adan as scale_by_adan
from .optimizers._adam_mini import AdamMiniState as AdamMiniState
from .optimizers._adam_mini import adam_mini as adam_mini
from .optimizers._cautious import cautious as cautious
from .optimizers._laprop import ScaleByLaPropState as ScaleByLaPropState
from .optimizers._laprop import laprop as laprop
from .optimizers._laprop import scale_by_laprop as scale_by_laprop
from .optimizers._mars import ScaleByMarsState as ScaleByMarsState
from .optimizers._mars import mars as mars
from .optimizers._mars import scale_by_mars as scale_by_mars
from .optimizers._kron import ScaleByKronState as ScaleByKronState
from .optimizers._kron import kron as kron
from .optimizers._kron import scale_by_kron as scale_by_kron
from .optimizers._schedule_free_radam import schedule_free_radam as schedule_free_radam
from .optimizers._soap import ScaleBySoapState as ScaleBySoapState
from .optimizers._soap import scale_by_soap as scale_by_soap
from .optimizers._soap import soap as soap
from .optimizers._shampoo import ScaleByShampooState as ScaleByShampooState
from .optimizers._shampoo import scale_by_shampoo as scale_by_shampoo
from .optimizers._shampoo import shampoo as shampoo
from .optimizers._padam import PAdamState as PAdamState
from .optimizers._padam import padam as padam
from .optimizers._adai import AdaiState as AdaiState
from .optimizers._adai import adai as adai
from .optimizers._madgrad import MadgradState as MadgradState
from .optimizers._madgrad import madgrad as madgrad
from .optimizers._madgrad import scale_by_madgrad as scale_by_madgrad
# wrappers and schedule-free
from .optimizers._lookahead import LookaheadParams as LookaheadParams
from .optimizers._lookahead import LookaheadState as LookaheadState
from .optimizers._lookahead import centralize_gradients as centralize_gradients
from .optimizers._lookahead import lookahead as lookahead
from .optimizers._lookahead import ranger as ranger
from .optimizers._sam import SAMState as SAMState
from .optimizers._sam import NormalizeState as NormalizeState
from .optimizers._sam import normalize as normalize
from .optimizers._sam import sam as sam
from .optimizers._schedule_free import ScheduleFreeState as ScheduleFreeState
from .optimizers._schedule_free import schedule_free_adamw as schedule_free_adamw
from .optimizers._schedule_free import schedule_free_eval_params as schedule_free_eval_params
from .optimizers._schedule_free import schedule_free_sgd as schedule_free_sgd
from .transforms._monitor import MonitorState as MonitorState
from .transforms._monitor import RecordNormsState as RecordNormsState
from .transforms._monitor import monitor as monitor
from .transforms._monitor import record_norms as record_norms

# --- optax contrib members (optimizers/) -------------------------------------------------
from .optimizers._galore import GaLoreDimensionNumbers as GaLoreDimensionNumbers
from .optimizers._galore import GaLoreState as GaLoreState
from .optimizers._galore import galore as galore
from .optimizers._galore import scale_by_galore as scale_by_galore
from .optimizers._muon import MuonDimensionNumbers as MuonDimensionNumbers
from .optimizers._muon import MuonState as MuonState
from .optimizers._muon import muon as muon
from .optimizers._muon import scale_by_muon as scale_by_muon
from .optimizers._lbfgs import lbfgs as lbfgs
from .optimizers._lbfgs import scale_by_lbfgs as scale_by_lbfgs
from .optimizers._lbfgs import ScaleByLBFGSState as ScaleByLBFGSState
from .transforms._linesearch import BacktrackingLinesearchInfo as BacktrackingLinesearchInfo
from .transforms._linesearch import scale_by_backtracking_linesearch as scale_by_backtracking_linesearch
from .transforms._linesearch import ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState
from .transforms._linesearch import value_and_grad_from_state as value_and_grad_from_state
from .transforms._zoom import scale_by_zoom_linesearch as scale_by_zoom_linesearch
from .transforms._zoom import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from .transforms._zoom import ZoomLinesearchInfo as ZoomLinesearchInfo
from .optimizers._adopt import adopt as adopt
from .optimizers._adopt import scale_by_adopt as scale_by_adopt
from .optimizers._dog import DoGState as DoGState
from .optimizers._dog import dog as dog
from .optimizers._dog import scale_by_dog as scale_by_dog
from .optimizers._dog import DoWGState as DoWGState
from .optimizers._dog import dowg as dowg
from .optimizers._dog import scale_by_dowg as scale_by_dowg
from .optimizers._dog import ScaleByDistanceOverGradientsState as ScaleByDistanceOverGradientsState
from .optimizers._dog import scale_by_distance_over_gradients as scale_by_distance_over_gradients
from .optimizers._cocob import COCOBState as COCOBState
from .optimizers._cocob import cocob as cocob
from .optimizers._cocob import scale_by_cocob as scale_by_cocob
from .optimizers._momo import MomoState as MomoState
from .optimizers._momo import MomoAdamState as MomoAdamState
from .optimizers._momo import momo as momo
from .optimizers._momo import momo_adam as momo_adam
from .optimizers._sophia import HutchinsonState as HutchinsonState
from .optimizers._sophia import hutchinson_estimator_diag_hessian as hutchinson_estimator_diag_hessian
from .optimizers._sophia import SophiaState as SophiaState
from .optimizers._sophia import scale_by_sophia as scale_by_sophia
from .optimizers._sophia import sophia as sophia
from .optimizers._dpsgd import differentially_private_aggregate as differentially_private_aggregate
from .optimizers._dpsgd import DifferentiallyPrivateAggregateState as DifferentiallyPrivateAggregateState
from .optimizers._dpsgd import dpsgd as dpsgd
from .transforms._complex import split_real_and_imaginary as split_real_and_imaginary
from .transforms._complex import SplitRealAndImaginaryArrays as SplitRealAndImaginaryArrays
from .transforms._complex import SplitRealAndImaginaryState as SplitRealAndImaginaryState
from .optimizers._ademamix import ScaleByAdemamixState as ScaleByAdemamixState
from .optimizers._ademamix import ScaleBySimplifiedAdEMAMixState as ScaleBySimplifiedAdEMAMixState
from .optimizers._ademamix import ademamix as ademamix
from .optimizers._ademamix import scale_by_ademamix as scale_by_ademamix
from .optimizers._ademamix import scale_by_simplified_ademamix as scale_by_simplified_ademamix
from .optimizers._ademamix import simplified_ademamix as simplified_ademamix
from .optimizers._prodigy import ProdigyState as ProdigyState
from .optimizers._prodigy import prodigy as prodigy
from .optimizers._dadapt_adamw import DAdaptAdamWState as DAdaptAdamWState
from .optimizers._dadapt_adamw import dadapt_adamw as dadapt_adamw
from .optimizers._mechanize import MechanicState as MechanicState
from .optimizers._mechanize import mechanize as mechanize
from .optimizers._acprop import acprop as acprop
from .optimizers._acprop import scale_by_acprop as scale_by_acprop
from .optimizers._schedule_free import schedule_free as schedule_free

# --- schedules (schedules/) -------------------------------------------------------------
from .schedules._simple import constant_schedule as constant_schedule
from .schedules._simple import exponential_decay as exponential_decay
from .schedules._simple import inverse_time_decay_schedule as inverse_time_decay_schedule
from .schedules._simple import linear_schedule as linear_schedule
from .schedules._simple import polynomial_schedule as polynomial_schedule
from .schedules._join import join_schedules as join_schedules
from .schedules._join import piecewise_constant_schedule as piecewise_constant_schedule
from .schedules._join import piecewise_interpolate_schedule as piecewise_interpolate_schedule
from .schedules._cosine import cosine_decay_schedule as cosine_decay_schedule
from .schedules._cosine import cosine_warm_restarts_schedule as cosine_warm_restarts_schedule
from .schedules._cosine import sgdr_schedule as sgdr_schedule
from .schedules._cosine import warmup_cosine_decay_schedule as warmup_cosine_decay_schedule
from .schedules._join import warmup_exponential_decay_schedule as warmup_exponential_decay_schedule
from .schedules._step import multistep_decay_schedule as multistep_decay_schedule
from .schedules._step import step_decay_schedule as step_decay_schedule
from .schedules._step import warmup_linear_decay_schedule as warmup_linear_decay_schedule
from .schedules._cyclic import CyclicalSchedule as CyclicalSchedule
from .schedules._cyclic import cyclic_schedule as cyclic_schedule
from .schedules._cyclic import one_cycle_schedule as one_cycle_schedule

# --- optax core members (optimizers/) ----------------------------------------------------
from .optimizers._adam import nadamw as nadamw
from .optimizers._adamax import adamaxw as adamaxw
from .optimizers._yogi import scale_by_yogi as scale_by_yogi
from .optimizers._yogi import yogi as yogi
from .optimizers._sign import scale_by_sign as scale_by_sign
from .optimizers._sign import sign_sgd as sign_sgd
from .optimizers._sign import signum as signum
from .optimizers._novograd import ScaleByNovogradState as ScaleByNovogradState
from .optimizers._novograd import novograd as novograd
from .optimizers._novograd import scale_by_novograd as scale_by_novograd
from .optimizers._fromage import fromage as fromage
from .optimizers._sm3 import ScaleBySM3State as ScaleBySM3State
from .optimizers._sm3 import scale_by_sm3 as scale_by_sm3
from .optimizers._sm3 import sm3 as sm3
from .optimizers._optimistic import ScaleByOptimisticGradientState as ScaleByOptimisticGradientState
from .optimizers._optimistic import optimistic_adam as optimistic_adam
from .optimizers._optimistic import optimistic_adam_v2 as optimistic_adam_v2
from .optimizers._optimistic import optimistic_gradient_descent as optimistic_gradient_descent
from .optimizers._optimistic import scale_by_optimistic_gradient as scale_by_optimistic_gradient
from .optimizers._polyak import polyak_sgd as polyak_sgd
from .optimizers._polyak import scale_by_polyak as scale_by_polyak
from .transforms._noise import AddNoiseState as AddNoiseState
from .transforms._noise import add_noise as add_noise
from .optimizers._noisy_sgd import noisy_sgd as noisy_sgd
from .schedules._onecycle import cosine_onecycle_schedule as cosine_onecycle_schedule
from .schedules._onecycle import linear_onecycle_schedule as linear_onecycle_schedule
from .schedules._onecycle import warmup_constant_schedule as warmup_constant_schedule
from .schedules._wsd import inverse_sqrt_schedule as inverse_sqrt_schedule
from .schedules._wsd import wsd_schedule as wsd_schedule

# --- hyperparameters and plateau ---------------------------------------------------------
from .transforms._inject import InjectHyperparamsState as InjectHyperparamsState
from .transforms._inject import current_hyperparams as current_hyperparams
from .transforms._inject import inject_hyperparams as inject_hyperparams
from .transforms._inject import InjectStatefulHyperparamsState as InjectStatefulHyperparamsState
from .transforms._inject import WrappedSchedule as WrappedSchedule
from .transforms._inject import WrappedScheduleState as WrappedScheduleState
from .transforms._inject import inject_stateful_hyperparams as inject_stateful_hyperparams
from .transforms._plateau import ReduceLROnPlateauState as ReduceLROnPlateauState
from .transforms._plateau import reduce_on_plateau as reduce_on_plateau

# --- plotting (matplotlib, imported when called) --------------------------------------------
from .cli._plots import plot_schedules as plot_schedules

# --- reliability (faults, accumulation) ---------------------------------------------------
from .transforms._faults import ApplyIfFiniteState as ApplyIfFiniteState
from .transforms._faults import apply_if_finite as apply_if_finite
from .transforms._accumulate import MultiSteps as MultiSteps
from .transforms._accumulate import MultiStepsState as MultiStepsState
from .transforms._accumulate import ShouldSkipUpdateFunction as ShouldSkipUpdateFunction
from .transforms._accumulate import skip_large_updates as skip_large_updates
from .transforms._accumulate import skip_not_finite as skip_not_finite

# --- performance (fused / grouped updates) ------------------------------------------------
from .transforms._packed import PackedState as PackedState
from .transforms._packed import pack_tree as pack_tree
from .transforms._packed import packed as packed
from .transforms._packed import packed_apply as packed_apply
from .transforms._packed import unpack_tree as unpack_tree

# --- optax's utility namespaces -------------------------------------------------------------
from . import tree_utils as tree_utils
from . import tree as tree
from . import projections as projections
from . import second_order as second_order
from . import perturbations as perturbations
from . import microbatching as microbatching
from . import assignment as assignment
from ._linalg._power_iteration import power_iteration as power_iteration
from ._linalg._matrix_root import matrix_inverse_pth_root as matrix_inverse_pth_root
from ._linalg._nnls import nnls as nnls
from ._multi_normal import multi_normal as multi_normal

def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jaxopt_zoo")
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        return "0+unknown"


__version__ = _version()
del _version
