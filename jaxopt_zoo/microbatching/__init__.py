"""Microbatching under ``optax.microbatching``' names: ``microbatch``, ``micro_vmap``, ``micro_grad``.

``microbatch``, ``Accumulator``, ``AccumulationType`` and ``reshape_batch_axis`` are the
zoo's own (``zoo.microbatch`` is ``zoo.microbatching.microbatch``).
"""

from ..transforms._microbatch import AccumulationType as AccumulationType
from ..transforms._microbatch import Accumulator as Accumulator
from ..transforms._microbatch import microbatch as microbatch
from ..transforms._microbatch import reshape_batch_axis as reshape_batch_axis
from ._micro_grad import IndividualOutputs as IndividualOutputs
from ._micro_grad import micro_grad as micro_grad
from ._micro_vmap import micro_vmap as micro_vmap
