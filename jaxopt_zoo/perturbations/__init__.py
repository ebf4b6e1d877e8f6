"""Perturbed (Monte-Carlo smoothed) functions, under ``optax.perturbations``' names."""

from ._make_perturbed import make_perturbed_fun as make_perturbed_fun
from ._noise import Gumbel as Gumbel
from ._noise import Normal as Normal
