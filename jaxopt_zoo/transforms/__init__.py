"""Building blocks, one file per concern: scaling, clipping, momentum, weight decay, trust
ratio, masking, partitions, hyperparameter injection, plateau, faults, accumulation, packing.

Every member is also exported from ``jaxopt_zoo`` itself; this namespace groups them, as
``optax.transforms`` does::

    from jaxopt_zoo import transforms
    tx = transforms.clip_by_global_norm(1.0)
"""

from ._accumulate import MultiSteps as MultiSteps
from ._accumulate import MultiStepsState as MultiStepsState
from ._accumulate import ShouldSkipUpdateFunction as ShouldSkipUpdateFunction
from ._accumulate import skip_large_updates as skip_large_updates
from ._accumulate import skip_not_finite as skip_not_finite
from ._clipping import clip as clip
from ._clipping import clip_by_block_rms as clip_by_block_rms
from ._clipping import clip_by_global_norm as clip_by_global_norm
from ._faults import apply_if_finite as apply_if_finite
from ._faults import ApplyIfFiniteState as ApplyIfFiniteState
from ._inject import current_hyperparams as current_hyperparams
from ._inject import inject_hyperparams as inject_hyperparams
from ._inject import InjectHyperparamsState as InjectHyperparamsState
from ._inject import inject_stateful_hyperparams as inject_stateful_hyperparams
from ._inject import InjectStatefulHyperparamsState as InjectStatefulHyperparamsState
from ._inject import WrappedSchedule as WrappedSchedule
from ._inject import WrappedScheduleState as WrappedScheduleState
from ._masking import masked as masked
from ._masking import MaskedNode as MaskedNode
from ._masking import MaskedState as MaskedState
from ._momentum import ema as ema
from ._momentum import EmaState as EmaState
from ._momentum import trace as trace
from ._momentum import TraceState as TraceState
from ._monitor import monitor as monitor
from ._monitor import MonitorState as MonitorState
from ._monitor import record_norms as record_norms
from ._monitor import RecordNormsState as RecordNormsState
from ._packed import pack_tree as pack_tree
from ._packed import packed as packed
from ._packed import packed_apply as packed_apply
from ._packed import PackedState as PackedState
from ._packed import unpack_tree as unpack_tree
from ._partition import multi_transform as multi_transform
from ._partition import MultiTransformState as MultiTransformState
from ._plateau import reduce_on_plateau as reduce_on_plateau
from ._plateau import ReduceLROnPlateauState as ReduceLROnPlateauState
from ._scaling import scale as scale
from ._scaling import scale_by_learning_rate as scale_by_learning_rate
from ._scaling import scale_by_schedule as scale_by_schedule
from ._scaling import ScaleByScheduleState as ScaleByScheduleState
from ._trust_ratio import scale_by_param_block_rms as scale_by_param_block_rms
from ._trust_ratio import scale_by_trust_ratio as scale_by_trust_ratio
from ._weight_decay import add_decayed_weights as add_decayed_weights
from ._noise import add_noise as add_noise
from ._noise import AddNoiseState as AddNoiseState
from ._adaptive_clip import adaptive_grad_clip as adaptive_grad_clip
from ._apply_every import apply_every as apply_every
from ._apply_every import ApplyEvery as ApplyEvery
from ._averaging import incremental_update as incremental_update
from ._averaging import periodic_update as periodic_update
from ._combine import freeze as freeze
from ._combine import named_chain as named_chain
from ._combine import partition as partition
from ._combine import PartitionState as PartitionState
from ._combine import selective_transform as selective_transform
from ._conditional import conditionally_mask as conditionally_mask
from ._conditional import conditionally_transform as conditionally_transform
from ._conditional import ConditionallyMaskState as ConditionallyMaskState
from ._conditional import ConditionallyTransformState as ConditionallyTransformState
from ._constrain import keep_params_nonnegative as keep_params_nonnegative
from ._constrain import zero_nans as zero_nans
from ._constrain import ZeroNansState as ZeroNansState
from ._layout import flatten as flatten
from ._microbatch import AccumulationType as AccumulationType
from ._microbatch import Accumulator as Accumulator
from ._microbatch import microbatch as microbatch
from ._normalize import centralize as centralize
from ._normalize import normalize_by_update_norm as normalize_by_update_norm
from ._normalize import scale_by_param_block_norm as scale_by_param_block_norm
from ._per_example import per_example_global_norm_clip as per_example_global_norm_clip
from ._per_example import per_example_layer_norm_clip as per_example_layer_norm_clip
from ._scale_gradient import scale_gradient as scale_gradient
from ._snapshot import measure_with_ema as measure_with_ema
from ._snapshot import snapshot as snapshot
from ._snapshot import SnapshotState as SnapshotState
from ._stateless import stateless as stateless
from ._stateless import stateless_with_tree_map as stateless_with_tree_map
from ._tree_map_params import tree_map_params as tree_map_params
from ._complex import split_real_and_imaginary as split_real_and_imaginary
from ._complex import SplitRealAndImaginaryArrays as SplitRealAndImaginaryArrays
from ._complex import SplitRealAndImaginaryState as SplitRealAndImaginaryState
from ._linesearch import BacktrackingLinesearchInfo as BacktrackingLinesearchInfo
from ._linesearch import scale_by_backtracking_linesearch as scale_by_backtracking_linesearch
from ._linesearch import ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState
from ._linesearch import value_and_grad_from_state as value_and_grad_from_state
from ._zoom import scale_by_zoom_linesearch as scale_by_zoom_linesearch
from ._zoom import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from ._zoom import ZoomLinesearchInfo as ZoomLinesearchInfo
