"""``optax.tree``'s short names: ``zoo.tree.add`` is ``zoo.tree_utils.tree_add`` (the same function).

Every name here is an alias of a ``jaxopt_zoo.tree_utils`` function; see that page for the
documentation.
"""

from . import tree_utils as _t

# ``max``, ``min``, ``set`` and ``sum`` shadow builtins here, as in optax.tree.
add = _t.tree_add
add_scale = _t.tree_add_scale
allclose = _t.tree_allclose
batch_shape = _t.tree_batch_shape
bias_correction = _t.tree_bias_correction
cast = _t.tree_cast
cast_like = _t.tree_cast_like
clip = _t.tree_clip
conj = _t.tree_conj
div = _t.tree_div
dtype = _t.tree_dtype
full_like = _t.tree_full_like
get = _t.tree_get
get_all_with_path = _t.tree_get_all_with_path
map_params = _t.tree_map_params
max = _t.tree_max
min = _t.tree_min
mul = _t.tree_mul
norm = _t.tree_norm
ones_like = _t.tree_ones_like
random_like = _t.tree_random_like
real = _t.tree_real
scale = _t.tree_scale
set = _t.tree_set
size = _t.tree_size
split_key_like = _t.tree_split_key_like
sub = _t.tree_sub
sum = _t.tree_sum
unwrap_random_key_data = _t.tree_unwrap_random_key_data
update_infinity_moment = _t.tree_update_infinity_moment
update_moment = _t.tree_update_moment
update_moment_per_elem_norm = _t.tree_update_moment_per_elem_norm
vdot = _t.tree_vdot
where = _t.tree_where
zeros_like = _t.tree_zeros_like

del _t
