"""Every optimizer in the zoo makes real progress on three problems.

Parity suites prove each member equals its reference; this suite catches a member that is
wired wrongly as a whole (sign, learning-rate placement, state not threaded): such a member
does not reach these thresholds. Each run is one scan; the runs of all members on one problem
are one jit-compiled program (tests/_batched.py: one compile instead of one per member), and each
member's test checks its own final loss.
"""

import jax
import jax.numpy as jnp
import optax
import pytest
from flax import nnx
from sklearn.datasets import load_digits
from tests import _batched

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

NAMES = sorted(_registry.OPTIMIZERS)
EXTRAS = _registry.UPDATE_EXTRAS  # members whose update needs extras (value=, grad=, value_fn=)

# Learning rates where a member's catalogue example does not suit a problem (found by a scan
# over 3e-4..3; e.g. RAdam's un-rectified first steps are SGD with momentum, which explodes on
# Rosenbrock at lr 1e-2, and AdaDelta's first steps are ~sqrt(eps) long).
LEARNING_RATE = {
    "quadratic": {"adadelta": 3.0, "lion": 0.1, "radam": 0.1, "ranger": 0.1, "rmsprop": 0.03, "schedule_free_adamw": 0.1,
                  "schedule_free_radam": 0.1},
    # acprop (optax.contrib.acprop does the same): its centred second moment
    # (g - m)^2 is tiny while the gradients keep their direction, and at its example lr 1e-2 the
    # MLP's loss blows up to ~2e3 in 150 steps; 3e-3 trains it.
    "digits": {"acprop": 3e-3},
    "rosenbrock": {"adai": 3e-3, "radam": 3e-3, "ranger": 3e-3, "schedule_free_sgd": 1e-2, "sgd": 1e-3},
}

# optax core members without momentum (plain gradient steps): the ravine's curvature 20 and
# Rosenbrock's valley need the small rates plain SGD needs there.
LEARNING_RATE["quadratic"].update({"noisy_sgd": 1e-2, "optimistic_gradient_descent": 1e-2})
LEARNING_RATE["rosenbrock"].update({"noisy_sgd": 1e-3, "optimistic_gradient_descent": 1e-3})
LEARNING_RATE["rosenbrock"]["dpsgd"] = 1e-3  # SGD with momentum 0.9 (clipped at 10): as sgd's


def build(name, problem=None, **override):
    if name in LEARNING_RATE.get(problem, {}):
        override = {"learning_rate": LEARNING_RATE[problem][name], **override}
    return _registry.build(name, **override)


def final_loss(tx, loss, params, steps, extras=()):
    """The loss after ``steps`` steps of ``tx`` from ``params`` (traceable: called inside a jit)."""
    def step(carry, _):
        p, s = carry
        value, g = jax.value_and_grad(loss)(p)
        have = dict(value=value, grad=g, value_fn=loss)  # what a step has; `extras` names what tx takes
        u, s = tx.update(g, s, p, **{k.partition('=')[0]: have[k.partition('=')[2] or k] for k in extras})  # 'obj_fn=value_fn': sophia
        return (zoo.apply_updates(p, u), s), None

    (p, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return loss(p)


def final_losses(request, test, problem, loss, params, steps):
    """Every collected member's final loss on ``problem``, in one compiled program."""
    names = _batched.collected_params(request, test)
    return _batched.run_each(
        names, lambda name, p: final_loss(build(name, problem), loss, p, steps, EXTRAS.get(name, ())), params,
        compiler_options=_batched.LLVM_O0)


def quadratic(p):
    """The seed documents' ravine x^2 + 10 y^2, in several leaves."""
    return jnp.sum(p["x"] ** 2) + 10 * jnp.sum(p["y"] ** 2)


def rosenbrock(p):
    x, y = p["xy"][0], p["xy"][1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


QUADRATIC_START = {"x": jnp.full((3,), 3.0), "y": jnp.full((2,), 1.0)}
ROSENBROCK_START = {"xy": jnp.array([-1.2, 1.0])}


@pytest.fixture(scope="module")
def quadratic_losses(request):
    return final_losses(request, "test_quadratic", "quadratic", quadratic, QUADRATIC_START, 400)


@pytest.fixture(scope="module")
def rosenbrock_losses(request):
    return final_losses(request, "test_rosenbrock", "rosenbrock", rosenbrock, ROSENBROCK_START, 1000)


@pytest.mark.parametrize("name", NAMES)
def test_quadratic(name, quadratic_losses):
    start = float(quadratic(QUADRATIC_START))
    assert float(_batched.result(quadratic_losses, name)) < 0.05 * start


@pytest.mark.parametrize("name", NAMES)
def test_rosenbrock(name, rosenbrock_losses):
    start = float(rosenbrock(ROSENBROCK_START))
    assert float(_batched.result(rosenbrock_losses, name)) < 0.25 * start


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return jnp.asarray(x[:512] / 16.0, jnp.float32), jnp.asarray(y[:512])


@pytest.fixture(scope="module")
def digits_problem(digits):
    x, y = digits
    model = nnx.Sequential(nnx.Linear(64, 32, rngs=nnx.Rngs(0)), nnx.relu, nnx.Linear(32, 10, rngs=nnx.Rngs(1)))
    graphdef, params = nnx.split(model, nnx.Param)

    def loss(p):
        return optax.softmax_cross_entropy_with_integer_labels(nnx.merge(graphdef, p)(x), y).mean()

    return loss, params


@pytest.fixture(scope="module")
def digits_losses(request, digits_problem):
    loss, params = digits_problem
    return final_losses(request, "test_small_flax_model", "digits", loss, params, 150)


@pytest.mark.parametrize("name", NAMES)
def test_small_flax_model(name, digits_problem, digits_losses):
    loss, params = digits_problem
    start = float(loss(params))
    assert float(_batched.result(digits_losses, name)) < 0.5 * start
