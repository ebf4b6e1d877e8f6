"""Second-order quantities of a loss, under ``optax.second_order``' names: Hessian-vector
products, the Hessian diagonal and the empirical Fisher diagonal."""

from ._fisher import fisher_diag as fisher_diag
from ._hessian import hessian_diag as hessian_diag
from ._hessian import hvp as hvp
