r"""The shortest augmenting path algorithm for linear assignment (scipy's ``linear_sum_assignment``).

For an :math:`n \times m` cost matrix :math:`C` (:math:`n \le m`, else transposed), each row
in turn is matched by a shortest augmenting path in the reduced costs
:math:`C_{ij} - u_i - v_j` (Dijkstra over the columns, preferring a free column on ties);
the potentials are then updated with the path lengths, which keeps every reduced cost
non-negative, and the matching is flipped along the path. :math:`O(n^2 m)`.

References:
  Crouse, `On implementing 2D rectangular assignment algorithms
  <https://doi.org/10.1109/TAES.2016.140952>`_, 2016.
  Jonker, Volgenant, `A shortest augmenting path algorithm for dense and sparse linear
  assignment problems <https://doi.org/10.1007/BF02278710>`_, 1987.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _shortest_path(cost, u, v, path, row4col, row):
    """Dijkstra from ``row`` over the columns; returns the sink (a free column), the path
    length, the visited rows/columns, the distances and the predecessor rows."""
    n, m = cost.shape

    def relax(it, s):
        todo, base, i, dist, path, lowest, pick = s
        j = todo[it]
        r = base + cost[i, j] - u[i] - v[j]
        path = path.at[j].set(jnp.where(r < dist[j], i, path[j]))
        dist = dist.at[j].min(r)
        pick = jnp.where((dist[j] < lowest) | ((dist[j] == lowest) & (row4col[j] == -1)), it, pick)
        return todo, base, i, dist, path, jnp.minimum(lowest, dist[j]), pick

    def visit(s):
        i, base, left, todo, seen_r, seen_c, dist, path, sink = s
        seen_r = seen_r.at[i].set(True)
        todo, _, _, dist, path, lowest, pick = jax.lax.fori_loop(
            0, left, relax, (todo, base, i, dist, path, jnp.inf, -1))
        j = todo[pick]
        free = row4col[j] == -1
        sink = jnp.where(free, j, sink)
        i = jnp.where(free, i, row4col[j])
        seen_c = seen_c.at[j].set(True)
        left = left - 1
        todo = todo.at[pick].set(todo[left])
        return i, lowest, left, todo, seen_r, seen_c, dist, path, sink

    start = (row, 0.0, m, jnp.arange(m)[::-1], jnp.zeros(n, bool), jnp.zeros(m, bool),
             jnp.full(m, jnp.inf), path, -1)
    _, base, _, _, seen_r, seen_c, dist, path, sink = jax.lax.while_loop(lambda s: s[-1] == -1, visit, start)
    return sink, base, seen_r, seen_c, dist, path


def base_hungarian_algorithm(cost_matrix: jax.Array) -> tuple:
    r"""An optimal assignment of rows to columns by shortest augmenting paths (scipy's algorithm).

    Args:
      cost_matrix: an ``(n, m)`` matrix of costs.

    Returns:
      ``(i, j)``: integer arrays of length ``min(n, m)``, row ``i[k]`` assigned to column
      ``j[k]``, with ``i`` increasing (as ``scipy.optimize.linear_sum_assignment``).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> cost = jnp.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
      >>> i, j = zoo.assignment.base_hungarian_algorithm(cost)
      >>> print(i, j, cost[i, j].sum())
      [0 1 2] [1 0 2] 5.0
    """
    if cost_matrix.shape[0] == 0 or cost_matrix.shape[1] == 0:
        return jnp.zeros(0, int), jnp.zeros(0, int)
    transposed = cost_matrix.shape[1] < cost_matrix.shape[0]
    cost = (cost_matrix.T if transposed else cost_matrix).astype(float)
    n, m = cost.shape

    def add_row(row, s):
        u, v, path, row4col, col4row = s
        sink, base, seen_r, seen_c, dist, path = _shortest_path(cost, u, v, path, row4col, row)
        u = u.at[row].add(base)
        u = jnp.where(seen_r & (jnp.arange(n) != row), u + base - dist[col4row], u)
        v = jnp.where(seen_c, v + dist - base, v)

        def flip(t):
            j, row4col, col4row, _ = t
            i = path[j]
            row4col = row4col.at[j].set(i)
            col4row, j = col4row.at[i].set(j), col4row[i]
            return j, row4col, col4row, i == row

        _, row4col, col4row, _ = jax.lax.while_loop(lambda t: ~t[-1], flip, (sink, row4col, col4row, False))
        return u, v, path, row4col, col4row

    init = (jnp.zeros(n, cost.dtype), jnp.zeros(m, cost.dtype), jnp.full(m, -1), jnp.full(m, -1), jnp.full(n, -1))
    *_, col4row = jax.lax.fori_loop(0, n, add_row, init)
    if transposed:
        order = col4row.argsort()
        return col4row[order], order
    return jnp.arange(n), col4row
