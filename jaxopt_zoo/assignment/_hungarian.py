r"""The Hungarian algorithm (Kuhn-Munkres with potentials) for the linear assignment problem.

Given an :math:`n \times m` cost matrix :math:`C` (:math:`n \le m`, else it is transposed),
find an injective :math:`\sigma` from rows to columns minimising
:math:`\sum_i C_{i \sigma(i)}`. Rows are added one at a time; row potentials :math:`u` and
column potentials :math:`v` keep the reduced costs :math:`C_{ij} - u_i - v_j \ge 0` and
zero on matched pairs. Adding a row grows a Dijkstra-like tree of tight edges: each step
takes the unvisited column of least reduced cost :math:`\delta`, shifts :math:`u` up and
:math:`v` down by :math:`\delta` on the tree, and stops at a free column, after which the
matching is flipped along the path. :math:`O(n^2 m)` operations, all in ``lax`` loops.

References:
  Kuhn, `The Hungarian method for the assignment problem
  <https://doi.org/10.1002/nav.3800020109>`_, 1955.
  Jonker, Volgenant, `A shortest augmenting path algorithm for dense and sparse linear
  assignment problems <https://doi.org/10.1007/BF02278710>`_, 1987.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def hungarian_algorithm(cost_matrix: jax.Array) -> tuple:
    r"""An optimal assignment of rows to columns of ``cost_matrix`` (minimum total cost).

    Args:
      cost_matrix: an ``(n, m)`` matrix of costs.

    Returns:
      ``(i, j)``: integer arrays of length ``min(n, m)``, row ``i[k]`` assigned to column
      ``j[k]``; ``cost_matrix[i, j].sum()`` is the least possible.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> cost = jnp.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
      >>> i, j = zoo.assignment.hungarian_algorithm(cost)
      >>> print(i, j, cost[i, j].sum())
      [1 0 2] [0 1 2] 5.0
    """
    if cost_matrix.shape[0] == 0 or cost_matrix.shape[1] == 0:
        return jnp.zeros(0, int), jnp.zeros(0, int)
    transposed = cost_matrix.shape[0] > cost_matrix.shape[1]
    cost = cost_matrix.T if transposed else cost_matrix
    n, m = cost.shape
    # 1-based columns: column 0 is the virtual root, owner[j] is the row (1-based) matched to j.

    def add_row(carry, row):
        u, v, owner = carry
        owner = owner.at[0].set(row + 1)

        def grow(state):
            u, v, seen, slack, back, col = state
            seen = seen.at[col].set(True)
            open_cols = ~seen[1:]
            r = owner[col]
            reduced = jnp.where(open_cols, cost[r - 1, :] - u[r] - v[1:], jnp.inf)
            better = reduced < slack
            back = jnp.where(better, col, back)
            slack = jnp.where(better, reduced, slack)
            nxt = jnp.argmin(jnp.where(open_cols, slack, jnp.inf)) + 1
            delta = slack.min(where=open_cols, initial=jnp.inf)
            u = u.at[jnp.where(seen, owner, n + 1)].add(delta)  # slot n + 1 absorbs unseen columns
            v = jnp.where(seen, v - delta, v)
            slack = jnp.where(open_cols, slack - delta, slack)
            return u, v, seen, slack, back, nxt

        start = (u, v, jnp.zeros(m + 1, bool), jnp.full(m, jnp.inf), jnp.zeros(m, int), 0)
        u, v, _, _, back, col = jax.lax.while_loop(lambda s: owner[s[-1]] != 0, grow, start)

        def flip(state):
            owner, col = state
            prev = back[col - 1]
            return owner.at[col].set(owner[prev]), prev

        owner, _ = jax.lax.while_loop(lambda s: s[1] != 0, flip, (owner, col))
        return (u, v, owner), None

    init = (jnp.zeros(n + 2), jnp.zeros(m + 1), jnp.zeros(m + 1, int))
    (_, _, owner), _ = jax.lax.scan(add_row, init, jnp.arange(n))
    if n == m:
        rows, cols = owner[1:], jnp.arange(n)
    else:
        rows, cols = jax.lax.top_k(owner[1:], n)
    rows = rows - 1
    return (cols, rows) if transposed else (rows, cols)
