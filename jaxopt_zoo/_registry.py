"""The zoo's catalogue: every optimizer and schedule with its reference and paper.

Used by ``jaxopt-zoo list``, the shootout's spec parser and the suites that run over the
whole zoo (convergence, reliability). One entry per public member; each area of the library
keeps its entries in its own section below. ``jaxopt_zoo.torch_compat`` has tables of its own
(``TORCH_OPTIMIZERS``, ``TORCH_SCHEDULERS``, ``TORCH_TRANSFORMS``, ``TORCH_HF_SCHEDULES``,
``TORCH_SWA``): its members take torch's keywords (``lr``, not
``learning_rate``), so the suites that run over ``OPTIMIZERS`` do not apply to them.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple


class Entry(NamedTuple):
    name: str  # the public name: ``getattr(jaxopt_zoo, name)``
    reference: str  # the implementation it is tested equal to
    paper: str  # "Authors, Title, year, <link>"
    example: dict  # keyword arguments that make a sensible small-problem instance


OPTIMIZERS: dict[str, Entry] = {}
SCHEDULES: dict[str, Entry] = {}


def _add(table: dict, name: str, reference: str, paper: str, **example: Any) -> None:
    table[name] = Entry(name, reference, paper, example)


def factory(name: str) -> Callable:
    """The public factory called ``name``."""
    import jaxopt_zoo

    return getattr(jaxopt_zoo, name)


# --- classic optimizers -------------------------------------------------------------------
_ADAM = "Kingma & Ba, Adam: A Method for Stochastic Optimization, 2015, https://arxiv.org/abs/1412.6980"
_add(OPTIMIZERS, "adam", "optax.adam", _ADAM, learning_rate=1e-2)
_add(OPTIMIZERS, "adamw", "optax.adamw",
     "Loshchilov & Hutter, Decoupled Weight Decay Regularization, 2019, https://arxiv.org/abs/1711.05101",
     learning_rate=1e-2, weight_decay=1e-2)
_add(OPTIMIZERS, "amsgrad", "optax.amsgrad",
     "Reddi, Kale & Kumar, On the Convergence of Adam and Beyond, 2018, https://openreview.net/forum?id=ryQu7f-RZ",
     learning_rate=1e-2)
_add(OPTIMIZERS, "nadam", "optax.nadam",
     "Dozat, Incorporating Nesterov Momentum into Adam, 2016, https://openreview.net/pdf?id=OM0jvwB8jIp57ZJjtNEZ",
     learning_rate=1e-2)

_add(OPTIMIZERS, "sgd", "optax.sgd",
     "Robbins & Monro, A Stochastic Approximation Method, 1951, https://doi.org/10.1214/aoms/1177729586",
     learning_rate=5e-2, momentum=0.9)
_add(OPTIMIZERS, "adagrad", "optax.adagrad",
     "Duchi, Hazan & Singer, Adaptive Subgradient Methods for Online Learning and Stochastic Optimization, 2011, https://jmlr.org/papers/v12/duchi11a.html",
     learning_rate=1e-1)
_add(OPTIMIZERS, "rmsprop", "optax.rmsprop",
     "Tieleman & Hinton, Lecture 6.5 - RMSprop, 2012, https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf",
     learning_rate=3e-3)
_add(OPTIMIZERS, "adadelta", "optax.adadelta (with the lr given; zoo default lr 1.0)",
     "Zeiler, ADADELTA: An Adaptive Learning Rate Method, 2012, https://arxiv.org/abs/1212.5701",
     learning_rate=1.0)
_add(OPTIMIZERS, "adamax", "optax.adamax", _ADAM + " (section 7.1)", learning_rate=2e-2)
_add(OPTIMIZERS, "radam", "optax.radam",
     "Liu et al., On the Variance of the Adaptive Learning Rate and Beyond, 2020, https://arxiv.org/abs/1908.03265",
     learning_rate=1e-2)

# --- modern optimizers ----------------------------------------------------------------------
_add(OPTIMIZERS, "lars", "optax.lars",
     "You, Gitman & Ginsburg, Large Batch Training of Convolutional Networks, 2017, https://arxiv.org/abs/1708.03888",
     learning_rate=1.0, trust_coefficient=0.02)
_add(OPTIMIZERS, "lamb", "optax.lamb",
     "You et al., Large Batch Optimization for Deep Learning: Training BERT in 76 minutes, 2020, https://arxiv.org/abs/1904.00962",
     learning_rate=1e-2)
_add(OPTIMIZERS, "adabelief", "optax.adabelief",
     "Zhuang et al., AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed Gradients, 2020, https://arxiv.org/abs/2010.07468",
     learning_rate=1e-2)
_add(OPTIMIZERS, "lion", "optax.lion",
     "Chen et al., Symbolic Discovery of Optimization Algorithms, 2023, https://arxiv.org/abs/2302.06675",
     learning_rate=3e-3, weight_decay=1e-2)
_add(OPTIMIZERS, "adafactor", "optax.adafactor",
     "Shazeer & Stern, Adafactor: Adaptive Learning Rates with Sublinear Memory Cost, 2018, https://arxiv.org/abs/1804.04235",
     learning_rate=1e-2, min_dim_size_to_factor=2)
_add(OPTIMIZERS, "madgrad", "optax.contrib.madgrad",
     "Defazio & Jelassi, Adaptivity without Compromise (MADGRAD), 2021, https://arxiv.org/abs/2101.11075",
     learning_rate=1e-2)
_add(OPTIMIZERS, "ranger", "lookahead(radam, sync_period=6, alpha=0.5) == optax.lookahead(optax.radam)",
     "Wright, Ranger, 2019; Zhang et al., Lookahead Optimizer: k steps forward, 1 step back, 2019, https://arxiv.org/abs/1907.08610",
     learning_rate=1e-2)
_add(OPTIMIZERS, "rprop", "torch.optim.Rprop (optax.rprop lags one step)",
     "Riedmiller & Braun, A Direct Adaptive Method for Faster Backpropagation Learning: The RPROP Algorithm, 1993, https://doi.org/10.1109/ICNN.1993.298623",
     learning_rate=1e-2)
_add(OPTIMIZERS, "adan", "pytorch_optimizer.Adan (the paper's algorithm; optax.adan differs)",
     "Xie et al., Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing Deep Models, 2022, https://arxiv.org/abs/2208.06677",
     learning_rate=1e-2)
_add(OPTIMIZERS, "padam", "pytorch_optimizer.PAdam",
     "Chen et al., Closing the Generalization Gap of Adaptive Gradient Methods in Training Deep Neural Networks, 2020, https://arxiv.org/abs/1806.06763",
     learning_rate=3e-2)
# --- beyond optax (issue 17) ---------------------------------------------------------------
_add(OPTIMIZERS, "laprop", "pytorch_optimizer.LaProp",
     "Ziyin, Wang & Ueda, LaProp: Separating Momentum and Adaptivity in Adam, 2020, https://arxiv.org/abs/2002.04839",
     learning_rate=2e-2)
_add(OPTIMIZERS, "mars", "pytorch_optimizer.MARS",
     "Yuan et al., MARS: Unleashing the Power of Variance Reduction for Training Large Models, 2024, https://arxiv.org/abs/2411.10438",
     learning_rate=1e-2, learning_rate_1d=1e-2)
_add(OPTIMIZERS, "kron", "pytorch_optimizer.Kron (its probes and balancing coin drawn from a JAX key)",
     "Li, Preconditioned Stochastic Gradient Descent, 2015, https://arxiv.org/abs/1512.04202",
     # factors in the params' dtype (the default is float32): float64 walkers compare jit and eager
     # runs to 1e-12, which float32 factors meet only to ~1e-9 (XLA rounds fused float32 ops otherwise)
     learning_rate=1e-2, key=0, precondition_dtype=None)
_add(OPTIMIZERS, "adam_mini", "pytorch_optimizer.AdamMini (blocks from pytree path names)",
     "Zhang et al., Adam-mini: Use Fewer Learning Rates To Gain More, 2024, https://arxiv.org/abs/2406.16793",
     learning_rate=1e-2, weight_decay=0.0)
_add(OPTIMIZERS, "schedule_free_radam", "schedulefree.RAdamScheduleFree",
     "Defazio et al., The Road Less Scheduled, 2024, https://arxiv.org/abs/2405.15682",
     learning_rate=1e-2)
_add(OPTIMIZERS, "soap", "pytorch_optimizer.SOAP (its QR in the params' dtype, not float32)",
     "Vyas et al., SOAP: Improving and Stabilizing Shampoo using Adam, 2024, https://arxiv.org/abs/2409.11321",
     learning_rate=1e-2)
_add(OPTIMIZERS, "shampoo", "pytorch_optimizer.Shampoo",
     "Gupta, Koren & Singer, Shampoo: Preconditioned Stochastic Tensor Optimization, 2018, https://arxiv.org/abs/1802.09568",
     learning_rate=0.3, matrix_eps=1e-2)
# (shampoo's default matrix_eps 1e-6 makes a vector's statistic from its first few, nearly parallel
# gradients so ill-conditioned that runs whose gradients differ in the last bit, jit and eager,
# drift 1e-10 apart in 8 steps, in the reference as here)
_add(OPTIMIZERS, "adai", "pytorch_optimizer.Adai",
     "Xie et al., Adaptive Inertia: Disentangling the Effects of Adaptive Learning Rate and Momentum, 2022, https://arxiv.org/abs/2006.15815",
     learning_rate=1e-1)
_SF = "Defazio et al., The Road Less Scheduled, 2024, https://arxiv.org/abs/2405.15682"
_add(OPTIMIZERS, "schedule_free_sgd", "schedulefree.SGDScheduleFreeReference", _SF, learning_rate=0.5, warmup_steps=10)
_add(OPTIMIZERS, "schedule_free_adamw", "schedulefree.AdamWScheduleFreeReference", _SF, learning_rate=1e-2, warmup_steps=10)

# --- optax contrib members (optimizers/) ---------------------------------------------------------
_add(OPTIMIZERS, "muon",
     "optax.contrib.muon; with bias_correction=False, adam_nesterov=False the authors' KellerJordan/Muon code",
     "Jordan et al., Muon: An optimizer for hidden layers in neural networks, 2024, https://kellerjordan.github.io/posts/muon/; "
     "Liu et al., Muon is Scalable for LLM Training, 2025, https://arxiv.org/abs/2502.16982",
     learning_rate=2e-2)
_add(OPTIMIZERS, "adopt", "optax.contrib.adopt",
     "Taniguchi et al., ADOPT: Modified Adam Can Converge with Any beta2 with the Optimal Rate, 2024, https://arxiv.org/abs/2411.02853",
     learning_rate=1e-2)
_add(OPTIMIZERS, "dog", "optax.contrib.dog; the authors' formll/dog DoG",
     "Ivgi, Hinder & Carmon, DoG is SGD's Best Friend: A Parameter-Free Dynamic Step Size Schedule, 2023, https://arxiv.org/abs/2302.12022",
     learning_rate=1.0)
_add(OPTIMIZERS, "dowg", "optax.contrib.dowg",
     "Khaled, Mishchenko & Jin, DoWG Unleashed: An Efficient Universal Parameter-Free Gradient Descent Method, 2023, https://arxiv.org/abs/2305.16284",
     learning_rate=0.8)  # at 1.0 the small MLP of tests/test_convergence.py saturates (as optax's does)
_add(OPTIMIZERS, "cocob", "optax.contrib.cocob",
     "Orabona & Tommasi, Training Deep Networks without Learning Rates Through Coin Betting, 2017, https://arxiv.org/abs/1705.07795",
     learning_rate=1.0)
_MOMO = ("Schaipp, Ohana, Eickenberg, Defazio & Gower, MoMo: Momentum Models for Adaptive Learning Rates, 2023, "
         "https://arxiv.org/abs/2305.07583")
_add(OPTIMIZERS, "momo", "the authors' fabian-sp/MoMo Momo; optax.contrib.momo when weight_decay=0 (update takes value=)",
     _MOMO, learning_rate=1.0)
_add(OPTIMIZERS, "momo_adam",
     "the authors' fabian-sp/MoMo MomoAdam; optax.contrib.momo_adam when weight_decay=0 (update takes value=)",
     _MOMO, learning_rate=1e-2)
_ADEMAMIX = "Pagliardini, Ablin & Grangier, The AdEMAMix Optimizer: Better, Faster, Older, 2024, https://arxiv.org/abs/2409.03137"
_add(OPTIMIZERS, "ademamix", "optax.contrib.ademamix (= the authors' apple/ml-ademamix optax code)", _ADEMAMIX,
     learning_rate=1e-2, b3=0.999)
_add(OPTIMIZERS, "simplified_ademamix", "optax.contrib.simplified_ademamix",
     "Morwani et al., Connections between Schedule-Free Optimizers, AdEMAMix, and Accelerated SGD Variants, 2025, "
     "https://arxiv.org/abs/2502.02431",
     learning_rate=2e-3, b1=0.9)
_add(OPTIMIZERS, "prodigy",
     "optax.contrib.prodigy = konstmish/prodigy with use_bias_correction=True (pytorch_optimizer.Prodigy); "
     "all-zero-gradient steps skipped as the authors do",
     "Mishchenko & Defazio, Prodigy: An Expeditiously Adaptive Parameter-Free Learner, 2024, https://arxiv.org/abs/2306.06101",
     learning_rate=1.0)
_add(OPTIMIZERS, "dadapt_adamw",
     "optax.contrib.dadapt_adamw = facebookresearch/dadaptation DAdaptAdam with decouple and use_bias_correction "
     "(pytorch_optimizer.DAdaptAdam); all-zero-gradient steps skipped as the authors do",
     "Defazio & Mishchenko, Learning-Rate-Free Learning by D-Adaptation, 2023, https://arxiv.org/abs/2301.07733",
     learning_rate=1.0)
_add(OPTIMIZERS, "acprop", "juntang-zhuang/ACProp-Optimizer ACProp (rectify=False, as the paper runs it), centred on m_t; "
     "rule='optax' is optax.contrib.acprop, which centres on m_{t-1}",
     "Zhuang et al., Momentum Centering and Asynchronous Update for Adaptive Gradient Methods, 2021, https://arxiv.org/abs/2110.05454",
     learning_rate=1e-2)

_add(OPTIMIZERS, "galore",
     "optax.contrib.galore with proj_type='reverse_std'; the default 'std' is the authors' jiaweizzhao/GaLore projection "
     "side (pytorch_optimizer's GaLoreProjector)",
     "Zhao et al., GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection, 2024, https://arxiv.org/abs/2403.03507",
     learning_rate=1e-2, rank=4, update_proj_gap=20)

# --- schedules ------------------------------------------------------------------------------
_SGDR = "Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, 2017, https://arxiv.org/abs/1608.03983"
_add(SCHEDULES, "constant_schedule", "optax.constant_schedule", "-", value=1e-2)
_add(SCHEDULES, "linear_schedule", "optax.linear_schedule", "-", init_value=1e-2, end_value=1e-4, transition_steps=1000)
_add(SCHEDULES, "polynomial_schedule", "optax.polynomial_schedule (finite past the end, unlike optax)", "-",
     init_value=1e-2, end_value=1e-4, power=2.0, transition_steps=1000)
_add(SCHEDULES, "exponential_decay", "optax.exponential_decay", "-", init_value=1e-2, transition_steps=100, decay_rate=0.9)
_add(SCHEDULES, "cosine_decay_schedule", "optax.cosine_decay_schedule", _SGDR, init_value=1e-2, decay_steps=1000)
_add(SCHEDULES, "warmup_cosine_decay_schedule", "optax.warmup_cosine_decay_schedule",
     "Goyal et al., Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour, 2017, https://arxiv.org/abs/1706.02677",
     init_value=0.0, peak_value=1e-2, warmup_steps=100, decay_steps=1000)
_add(SCHEDULES, "warmup_exponential_decay_schedule", "optax.warmup_exponential_decay_schedule", "-",
     init_value=0.0, peak_value=1e-2, warmup_steps=100, transition_steps=100, decay_rate=0.9)
_add(SCHEDULES, "piecewise_constant_schedule", "optax.piecewise_constant_schedule", "-",
     init_value=1e-2, boundaries_and_scales={500: 0.1, 800: 0.1})
_add(SCHEDULES, "piecewise_interpolate_schedule", "optax.piecewise_interpolate_schedule", "-",
     interpolate_type="cosine", init_value=1e-2, boundaries_and_scales={500: 0.1, 800: 0.1})
_add(SCHEDULES, "sgdr_schedule", "optax.sgdr_schedule", _SGDR,
     cosine_kwargs=[dict(init_value=0.0, peak_value=1e-2, warmup_steps=50, decay_steps=500)] * 2)
_add(SCHEDULES, "step_decay_schedule", "torch StepLR", "-", init_value=1e-2, step_size=300, gamma=0.5)
_add(SCHEDULES, "multistep_decay_schedule", "torch MultiStepLR", "-", init_value=1e-2, milestones=[500, 800], gamma=0.1)
_add(SCHEDULES, "inverse_time_decay_schedule", "torch LambdaLR(1 / (1 + decay_rate * t))",
     "Robbins & Monro, A Stochastic Approximation Method, 1951, https://doi.org/10.1214/aoms/1177729586",
     init_value=1e-2, decay_rate=1e-2)
_add(SCHEDULES, "cosine_warm_restarts_schedule", "torch CosineAnnealingWarmRestarts", _SGDR, init_value=1e-2, t_0=100, t_mult=2)
_add(SCHEDULES, "one_cycle_schedule", "torch OneCycleLR (lr and momentum)",
     "Smith & Topin, Super-Convergence, 2018, https://arxiv.org/abs/1708.07120", max_value=1e-2, total_steps=1000)
_add(SCHEDULES, "cyclic_schedule", "torch CyclicLR (lr and momentum)",
     "Smith, Cyclical Learning Rates for Training Neural Networks, 2017, https://arxiv.org/abs/1506.01186",
     base_value=1e-3, max_value=1e-2, step_size_up=200)
_add(SCHEDULES, "warmup_linear_decay_schedule", "torch LambdaLR (Hugging Face get_linear_schedule_with_warmup)",
     "Devlin et al., BERT, 2019, https://arxiv.org/abs/1810.04805", peak_value=1e-2, warmup_steps=100, total_steps=1000)

# --- optax core members (optimizers/ and schedules/ added for optax 0.2.8 parity) ----------
# Members whose update needs keyword extras: the whole-zoo suites pass them. Each entry names
# what to pass, from what a training step has: ``value`` (the loss at the params), ``grad``
# (its gradient), ``value_fn`` (the loss function of the params); ``update_extras`` picks them.
# An entry ``"obj_fn=value_fn"`` passes what the step calls ``value_fn`` under the keyword
# ``obj_fn`` (sophia's Hessian estimator takes the loss function by optax's name for it).
UPDATE_EXTRAS: dict[str, tuple[str, ...]] = {}
# Members whose update takes per-example gradients (the batch on axis 0 of every leaf) instead
# of the step's gradient: ``update_grads`` gives a step's gradient to them as a batch of one.
PER_EXAMPLE_GRADS: set[str] = set()


def update_extras(name: str, **available: Any) -> dict:
    """The keyword arguments member ``name``'s update needs, taken from ``available``.

    ``available`` holds what the caller's step has (``value=``, ``grad=``, ``value_fn=``);
    members without extras get ``{}``. ``name`` is a catalogue name or a torch_compat one
    (``"torch_compat.LBFGS"``, or torch's class name ``"LBFGS"``). A KeyError names an extra the caller did not offer.
    """
    if name in TORCH_OPTIMIZERS:  # a torch class name ("LBFGS") means its torch_compat member
        name = TORCH_OPTIMIZERS[name].name
    out = {}
    for extra in UPDATE_EXTRAS.get(name, ()):
        keyword, _, source = extra.partition("=")
        out[keyword] = available[source or keyword]
    return out


def update_grads(name: str, grads: Any) -> Any:
    """What member ``name``'s update takes for the step's gradient ``grads``: ``grads``
    itself, or for a member of ``PER_EXAMPLE_GRADS`` the batch of one example
    (``grads[None]`` leaf by leaf; ``None`` leaves stay ``None``)."""
    if name not in PER_EXAMPLE_GRADS:
        return grads
    import jax

    return jax.tree.map(lambda g: g[None], grads)


def for_a_step(name: str, tx: Any) -> Any:
    """``tx`` (member ``name``) as a transformation a generic training step can drive.

    The step calls ``update(grads, state, params, value=..., grad=..., value_fn=...)`` with
    its own gradient; a member of ``PER_EXAMPLE_GRADS`` gets it as a batch of one example
    (``update_grads``) and a renamed extra (sophia's ``obj_fn``) is passed under its name.
    Other members are returned as they are. The state is ``tx``'s own.
    """
    renames = [e.partition("=")[::2] for e in UPDATE_EXTRAS.get(name, ()) if "=" in e]
    if name not in PER_EXAMPLE_GRADS and not renames:
        return tx
    from . import _packable
    from ._base import GradientTransformation

    def update_fn(updates, state, params=None, **extra_args):
        for keyword, source in renames:
            if source in extra_args and keyword not in extra_args:
                extra_args[keyword] = extra_args[source]
        return tx.update(update_grads(name, updates), state, params, **extra_args)

    return _packable.composite(GradientTransformation(tx.init, update_fn), tx)


def build(name: str, **override: Any) -> Any:
    """Member ``name`` built with its example hyperparameters (``override`` replaces some),
    ready for a generic training step (``for_a_step``)."""
    return for_a_step(name, factory(name)(**{**OPTIMIZERS[name].example, **override}))


def needs(name: str, extra: str) -> bool:
    """Whether member ``name``'s update needs ``extra`` (``"value"``, ``"grad"``, ``"value_fn"``;
    a renamed extra counts under both names)."""
    return any(extra in e.split("=") for e in UPDATE_EXTRAS.get(name, ()))

_add(OPTIMIZERS, "yogi", "optax.yogi",
     "Zaheer et al., Adaptive Methods for Nonconvex Optimization, 2018, https://proceedings.neurips.cc/paper/2018/hash/90365351ccc7437a1309dc64e4db32a3-Abstract.html",
     learning_rate=3e-2)
_add(OPTIMIZERS, "adamaxw", "optax.adamaxw", _ADAM + " (section 7.1); Loshchilov & Hutter 2019, https://arxiv.org/abs/1711.05101",
     learning_rate=2e-2, weight_decay=1e-2)
_add(OPTIMIZERS, "nadamw", "optax.nadamw",
     "Dozat, Incorporating Nesterov Momentum into Adam, 2016, https://openreview.net/pdf?id=OM0jvwB8jIp57ZJjtNEZ",
     learning_rate=1e-2, weight_decay=1e-2)
_SIGN = "Bernstein et al., signSGD: Compressed Optimisation for Non-Convex Problems, 2018, https://arxiv.org/abs/1802.04434"
_add(OPTIMIZERS, "sign_sgd", "optax.sign_sgd", _SIGN, learning_rate=1e-2)
_add(OPTIMIZERS, "signum", "optax.signum", _SIGN, learning_rate=1e-2)
_add(OPTIMIZERS, "novograd", "optax.novograd",
     "Ginsburg et al., Stochastic Gradient Methods with Layer-wise Adaptive Moments for Training of Deep Networks, 2019, https://arxiv.org/abs/1905.11286",
     learning_rate=3e-2)
_add(OPTIMIZERS, "fromage", "optax.fromage",
     "Bernstein et al., On the distance between two neural networks and the stability of learning, 2020, https://arxiv.org/abs/2002.03432",
     learning_rate=1e-2)
_add(OPTIMIZERS, "sm3", "optax.sm3 (scalar leaves too, where optax raises)",
     "Anil, Gupta, Koren & Singer, Memory-Efficient Adaptive Optimization, 2019, https://arxiv.org/abs/1901.11150",
     learning_rate=1e-1)
_add(OPTIMIZERS, "optimistic_gradient_descent", "optax.optimistic_gradient_descent",
     "Mokhtari, Ozdaglar & Pattathil, A Unified Analysis of Extra-gradient and Optimistic Gradient Methods for Saddle Point Problems, 2019, https://arxiv.org/abs/1901.08511",
     learning_rate=0.1)
_add(OPTIMIZERS, "optimistic_adam_v2", "optax.optimistic_adam_v2",
     "Daskalakis et al., Training GANs with Optimism, 2018, https://arxiv.org/abs/1711.00141",
     learning_rate=1e-2)
_add(OPTIMIZERS, "optimistic_adam", "optax.optimistic_adam (deprecated there and here, for optimistic_adam_v2)",
     "Daskalakis et al., Training GANs with Optimism, 2018, https://arxiv.org/abs/1711.00141",
     learning_rate=1e-2)
_add(OPTIMIZERS, "polyak_sgd", "optax.polyak_sgd (update takes value=)",
     "Loizou et al., Stochastic Polyak Step-size for SGD: An Adaptive Learning Rate for Fast Convergence, 2021, https://arxiv.org/abs/2002.10542",
     max_learning_rate=0.1)
UPDATE_EXTRAS["polyak_sgd"] = ("value",)
UPDATE_EXTRAS["momo"] = ("value",)
UPDATE_EXTRAS["momo_adam"] = ("value",)
_add(OPTIMIZERS, "lbfgs", "optax.lbfgs (update takes value=, grad=, value_fn=)",
     "Liu & Nocedal, On the limited memory BFGS method for large scale optimization, 1989, https://doi.org/10.1007/BF01589116; "
     "Nocedal & Wright, Numerical Optimization, 2006, algorithms 7.4, 3.5, 3.6",
     memory_size=10)
UPDATE_EXTRAS["lbfgs"] = ("value", "grad", "value_fn")
# the line searches behind lbfgs (transformations, not catalogued optimizers)
UPDATE_EXTRAS["scale_by_zoom_linesearch"] = UPDATE_EXTRAS["scale_by_backtracking_linesearch"] = UPDATE_EXTRAS["lbfgs"]
_add(OPTIMIZERS, "noisy_sgd", "optax.noisy_sgd (same key, same noise)",
     "Neelakantan et al., Adding Gradient Noise Improves Learning for Very Deep Networks, 2015, https://arxiv.org/abs/1511.06807",
     learning_rate=0.1, eta=1e-4, key=0)
_add(OPTIMIZERS, "sophia",
     "optax.contrib.sophia with bias_correction=True; the default is the paper's and Liuhong99/Sophia's "
     "uncorrected momentum (update takes obj_fn=, the loss function)",
     "Liu, Li, Hall, Liang & Ma, Sophia: A Scalable Stochastic Second-order Optimizer for Language Model "
     "Pre-training, 2023, https://arxiv.org/abs/2305.14342",
     learning_rate=1e-2)
UPDATE_EXTRAS["sophia"] = ("obj_fn=value_fn",)
_add(OPTIMIZERS, "dpsgd", "optax.contrib.dpsgd (same seed, same noise; update takes per-example gradients)",
     "Abadi et al., Deep Learning with Differential Privacy, 2016, https://arxiv.org/abs/1607.00133",
     learning_rate=0.1, l2_norm_clip=10.0, noise_multiplier=0.001, seed=0, momentum=0.9)
PER_EXAMPLE_GRADS.add("dpsgd")
_SMITH = "Smith & Topin, Super-Convergence, 2018, https://arxiv.org/abs/1708.07120"
_add(SCHEDULES, "warmup_constant_schedule", "optax.warmup_constant_schedule",
     "Goyal et al., Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour, 2017, https://arxiv.org/abs/1706.02677",
     init_value=0.0, peak_value=1e-2, warmup_steps=100)
_add(SCHEDULES, "cosine_onecycle_schedule", "optax.cosine_onecycle_schedule", _SMITH, transition_steps=1000, peak_value=1e-2)
_add(SCHEDULES, "linear_onecycle_schedule", "optax.linear_onecycle_schedule", _SMITH, transition_steps=1000, peak_value=1e-2)
_add(SCHEDULES, "wsd_schedule", "transformers.get_wsd_schedule (and the formula, for '1-square' and init != end)",
     "Hu et al., MiniCPM: Unveiling the Potential of Small Language Models with Scalable Training Strategies, 2024, "
     "https://arxiv.org/abs/2404.06395; Hägele et al., Scaling Laws and Compute-Optimal Training Beyond Fixed "
     "Training Durations, 2024, https://arxiv.org/abs/2405.18392",
     peak_value=1e-2, warmup_steps=100, stable_steps=700, decay_steps=200)
_add(SCHEDULES, "inverse_sqrt_schedule", "transformers.get_inverse_sqrt_schedule",
     "Vaswani et al., Attention Is All You Need, 2017, https://arxiv.org/abs/1706.03762",
     peak_value=1e-2, warmup_steps=100)

# --- wrappers: they take another optimizer (``optimizer=<name>`` in a command-line spec) ----------
WRAPPERS: dict[str, Entry] = {}
_add(WRAPPERS, "lookahead", "optax.lookahead (the fast weights)",
     "Zhang, Lucas, Hinton & Ba, Lookahead Optimizer: k steps forward, 1 step back, 2019, https://arxiv.org/abs/1907.08610",
     sync_period=5, slow_step_size=0.5)
_add(WRAPPERS, "sam", "optax.contrib.sam (transparent and opaque modes)",
     "Foret, Kleiner, Mobahi & Neyshabur, Sharpness-Aware Minimization for Efficiently Improving Generalization, 2021, https://arxiv.org/abs/2010.01412",
     sync_period=2, rho=0.05)
_add(WRAPPERS, "mechanize", "optimizedlearning/mechanic mechanic_pytorch (store_delta=False); rule='optax' with s_init=1e-6 is optax.contrib.mechanize",
     "Cutkosky, Defazio & Mehta, Mechanic: A Learning Rate Tuner, 2023, https://arxiv.org/abs/2306.00144")
_add(WRAPPERS, "schedule_free",
     "schedulefree.ScheduleFreeWrapper; optax.contrib.schedule_free where they agree (see its docstring)", _SF,
     learning_rate=1e-2)

_add(WRAPPERS, "cautious", "pytorch_optimizer's cautious=True (Lion, LaProp, MARS)",
     "Liang, Chen, Liu & Liu, Cautious Optimizers: Improving Training with One Line of Code, 2024, https://arxiv.org/abs/2411.16085")

# --- aliases: friendly names for common configurations of a member ------------------------------
class Alias(NamedTuple):
    name: str  # the friendly name, e.g. "momentum"
    target: str  # the catalogued member it configures, e.g. "sgd"
    kwargs: dict  # the keyword arguments that make it that configuration
    note: str  # one line for ``jaxopt-zoo list``


ALIASES: dict[str, Alias] = {}


def _alias(name: str, target: str, note: str, **kwargs: Any) -> None:
    ALIASES[name] = Alias(name, target, kwargs, note)


_alias("momentum", "sgd", "SGD with heavy-ball momentum 0.9", momentum=0.9)
_alias("nesterov", "sgd", "SGD with Nesterov momentum 0.9 (Sutskever et al., 2013)", momentum=0.9, nesterov=True)
_alias("sf_adamw", "schedule_free_adamw", "schedule-free AdamW (also: 'schedule-free adamw')")
_alias("sf_sgd", "schedule_free_sgd", "schedule-free SGD (also: 'schedule-free sgd')")


# --- torch_compat: torch.optim / torch.optim.lr_scheduler look-alikes ----------------------------
class TorchEntry(NamedTuple):
    name: str  # the public name under jaxopt_zoo: "torch_compat.SGD", "torch_compat.lr_scheduler.StepLR"
    reference: str  # the torch class it is tested equal to, run live (and through committed fixtures)
    tests: tuple[str, ...]  # the suites that prove parity with it


TORCH_OPTIMIZERS: dict[str, TorchEntry] = {}  # keyed by torch's class name (TORCH_TRANSFORMS below)
TORCH_SCHEDULERS: dict[str, TorchEntry] = {}

_TC_OPT_TESTS = ("tests/reference/test_torch_compat_optimizers.py", "tests/reference/test_torch_compat_fixtures.py")
_TC_SCHED_TESTS = ("tests/reference/test_torch_compat_schedulers.py",)
_TC_PLATEAU_TESTS = ("tests/reference/test_torch_compat_with_schedulers.py", "tests/reference/test_torch_compat_fixtures.py")


def _torch(table: dict, module: str, name: str, tests: tuple[str, ...], note: str = "") -> None:
    ours = "torch_compat." if module == "torch.optim" else "torch_compat.lr_scheduler."
    table[name] = TorchEntry(ours + name, f"{module}.{name}" + (f" ({note})" if note else ""), tests)


for _name in ("SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam"):
    _torch(TORCH_OPTIMIZERS, "torch.optim", _name, _TC_OPT_TESTS)
_torch(TORCH_OPTIMIZERS, "torch.optim", "Rprop", _TC_OPT_TESTS, "lr read at the first step only, as torch")
_torch(TORCH_OPTIMIZERS, "torch.optim", "ASGD", _TC_OPT_TESTS, "and its averaged params state['ax']")
_TC_EXTRA_FIXTURES = "tests/reference/test_torch_compat_fixtures.py"
_torch(TORCH_OPTIMIZERS, "torch.optim", "Muon", ("tests/reference/test_torch_compat_muon.py", _TC_EXTRA_FIXTURES),
       "2-D leaves only; Newton-Schulz in bfloat16 as torch, adjust_lr_fn")
_torch(TORCH_OPTIMIZERS, "torch.optim", "Adafactor", ("tests/reference/test_torch_compat_adafactor.py", _TC_EXTRA_FIXTURES))
_torch(TORCH_OPTIMIZERS, "torch.optim", "LBFGS", ("tests/reference/test_torch_compat_lbfgs.py", _TC_EXTRA_FIXTURES),
       "one update is step(closure): update takes value_fn=; line_search_fn None or 'strong_wolfe'")
UPDATE_EXTRAS["torch_compat.LBFGS"] = ("value_fn",)
for _name in ("LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
              "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "SequentialLR", "ChainedScheduler"):
    _torch(TORCH_SCHEDULERS, "torch.optim.lr_scheduler", _name, _TC_SCHED_TESTS)
_torch(TORCH_SCHEDULERS, "torch.optim.lr_scheduler", "CyclicLR", _TC_SCHED_TESTS, "lr and .momentum")
_torch(TORCH_SCHEDULERS, "torch.optim.lr_scheduler", "OneCycleLR", _TC_SCHED_TESTS, "lr and .momentum")
_torch(TORCH_SCHEDULERS, "torch.optim.lr_scheduler", "ReduceLROnPlateau", _TC_PLATEAU_TESTS,
       "as the lr of any torch_compat optimizer, stepped by value=")
del _name

# torch.nn.utils' gradient clipping as transformations (torch's name without the trailing _)
TORCH_TRANSFORMS: dict[str, TorchEntry] = {
    name: TorchEntry(f"torch_compat.{name}", f"torch.nn.utils.{name}_", ("tests/reference/test_torch_compat_clip.py",))
    for name in ("clip_grad_norm", "clip_grad_value")
}

# Hugging Face transformers' schedules (torch_compat.transformers): the base lr first, then
# transformers' keywords; each a LambdaLR equal to transformers' lr after t scheduler steps.
TORCH_HF_SCHEDULES: dict[str, TorchEntry] = {
    name: TorchEntry(f"torch_compat.transformers.{name}", f"transformers.{name}",
                     ("tests/reference/test_torch_compat_transformers.py",))
    for name in ("get_constant_schedule", "get_constant_schedule_with_warmup", "get_linear_schedule_with_warmup",
                 "get_cosine_schedule_with_warmup", "get_cosine_with_hard_restarts_schedule_with_warmup",
                 "get_polynomial_decay_schedule_with_warmup", "get_inverse_sqrt_schedule",
                 "get_cosine_with_min_lr_schedule_with_warmup", "get_wsd_schedule")
}

# torch.optim.swa_utils (torch_compat.swa_utils): SWALR a schedule, AveragedModel a transformation
# last in a chain (its weights read with swa_utils.averaged_params), the get_* its averaging rules.
TORCH_SWA: dict[str, TorchEntry] = {
    name: TorchEntry(f"torch_compat.swa_utils.{name}", f"torch.optim.swa_utils.{name}" + (f" ({note})" if note else ""),
                     ("tests/reference/test_torch_compat_swa.py",) + extra)
    for name, note, extra in (
        ("SWALR", "annealing from the group's lr; after a CosineAnnealingLR through zoo.join_schedules", ()),
        ("AveragedModel", "SWA and EMA; the averaged weights at every step, under nnx.Optimizer too",
         ("tests/reference/test_torch_port_examples.py",)),
        ("get_ema_multi_avg_fn", "", ()), ("get_ema_avg_fn", "", ()),
        ("get_swa_multi_avg_fn", "AveragedModel's default", ()), ("get_swa_avg_fn", "", ()))
}


def torch_factory(entry: TorchEntry) -> Callable:
    """The public torch_compat member of ``entry`` (any TORCH_* table)."""
    import importlib

    module, _, name = ("jaxopt_zoo." + entry.name).rpartition(".")
    return getattr(importlib.import_module(module), name)
