"""Linear assignment (minimum-cost bipartite matching), under ``optax.assignment``' names."""

from ._base_hungarian import base_hungarian_algorithm as base_hungarian_algorithm
from ._hungarian import hungarian_algorithm as hungarian_algorithm
