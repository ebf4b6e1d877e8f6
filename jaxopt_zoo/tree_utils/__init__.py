"""Pytree utilities under ``optax.tree_utils``' names: ``zoo.tree_utils.tree_add`` is ``optax.tree_utils.tree_add``.

The moment helpers (``tree_update_moment``, ``tree_bias_correction``, ...) are the very
functions every zoo optimizer uses (``jaxopt_zoo._numerics``); ``tree_map_params`` is
``zoo.tree_map_params``. ``jaxopt_zoo.tree`` holds the same functions under short names.
"""

from .. import _numerics
from ..transforms._tree_map_params import tree_map_params as tree_map_params
from ._arithmetic import tree_add as tree_add
from ._arithmetic import tree_add_scale as tree_add_scale
from ._arithmetic import tree_clip as tree_clip
from ._arithmetic import tree_conj as tree_conj
from ._arithmetic import tree_div as tree_div
from ._arithmetic import tree_mul as tree_mul
from ._arithmetic import tree_real as tree_real
from ._arithmetic import tree_scale as tree_scale
from ._arithmetic import tree_sub as tree_sub
from ._arithmetic import tree_where as tree_where
from ._casting import tree_cast as tree_cast
from ._casting import tree_cast_like as tree_cast_like
from ._casting import tree_dtype as tree_dtype
from ._constructors import tree_batch_shape as tree_batch_shape
from ._constructors import tree_full_like as tree_full_like
from ._constructors import tree_ones_like as tree_ones_like
from ._constructors import tree_zeros_like as tree_zeros_like
from ._random import tree_random_like as tree_random_like
from ._random import tree_split_key_like as tree_split_key_like
from ._random import tree_unwrap_random_key_data as tree_unwrap_random_key_data
from ._reductions import tree_allclose as tree_allclose
from ._reductions import tree_l1_norm as tree_l1_norm
from ._reductions import tree_l2_norm as tree_l2_norm
from ._reductions import tree_linf_norm as tree_linf_norm
from ._reductions import tree_max as tree_max
from ._reductions import tree_min as tree_min
from ._reductions import tree_norm as tree_norm
from ._reductions import tree_size as tree_size
from ._reductions import tree_sum as tree_sum
from ._reductions import tree_vdot as tree_vdot
from ._state import NamedTupleKey as NamedTupleKey
from ._state import tree_get as tree_get
from ._state import tree_get_all_with_path as tree_get_all_with_path
from ._state import tree_set as tree_set

tree_bias_correction = _numerics.bias_correction
tree_update_infinity_moment = _numerics.update_infinity_moment
tree_update_moment = _numerics.update_moment
tree_update_moment_per_elem_norm = _numerics.update_moment_per_elem_norm

# optax's older names (deprecated there since 0.2.5, still importable)
tree_scalar_mul = tree_scale
tree_add_scalar_mul = tree_add_scale
