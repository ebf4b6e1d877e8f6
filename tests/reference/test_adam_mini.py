"""Adam-mini against pytorch_optimizer.AdamMini on a model whose parameter names the reference
understands: an embedding, query/key projections (one second moment per head), a fused qkv
attention weight, a norm (no weight decay), an output head and a plain MLP weight and bias.

The zoo's pytree is a flat dict keyed by the torch names (nested dicts name leaves the same
way; checked below). The reference keeps its moments in float32 whatever the params' dtype,
so float64 runs are compared with the reference's algorithm run in float64 (its module's
float32 casts redirected to float64 for that run), and float32 runs with the unchanged
reference on float32 params.
"""

from tests.reference import harness
import numpy as np
import pytest
import torch
from tests.reference.harness import assert_trajectories_close, make_params, seeded_rng, trajectory
from pytorch_optimizer import AdamMini
from pytorch_optimizer.optimizer import adam_mini as adam_mini_module

import jaxopt_zoo as zoo

E, H = 8, 2  # num_embeds, num_heads (num_query_groups = num_heads: 3 slots per group)
SHAPES = {
    "embed.weight": (6, E), "layers.0.q_proj.weight": (E, E), "layers.0.k_proj.weight": (E, E),
    "layers.0.attn.qkv.weight": (3 * E, E // 2), "layers.0.norm.weight": (E,), "mlp.weight": (3, E),
    "mlp.bias": (3,), "lm_head.weight": (5, E), "scalar": (),
}


@pytest.fixture(autouse=True)
def named_tree(monkeypatch):
    monkeypatch.setattr(harness, "SHAPES", SHAPES)


class _Float64Torch:
    """``torch`` with ``float32`` meaning float64: the reference's algorithm in float64."""

    float32 = torch.float64

    def __getattr__(self, name):
        return getattr(torch, name)


def torch_run(kw, dtype, steps=harness.STEPS, float64_algorithm=False, monkeypatch=None):
    root = torch.nn.Module()
    tensors = {}
    for name, value in harness.start_values(dtype).items():
        *mods, leaf = name.split(".")
        mod = root
        for part in mods:
            if not hasattr(mod, part):
                setattr(mod, part, torch.nn.Module())
            mod = getattr(mod, part)
        t = torch.nn.Parameter(torch.tensor(value))
        mod.register_parameter(leaf, t)
        tensors[name] = t
    if float64_algorithm:
        monkeypatch.setattr(adam_mini_module, "torch", _Float64Torch())
        torch.set_default_dtype(torch.float64)
    try:
        opt = AdamMini(root, **kw)
        path = {k: [] for k in tensors}
        for _ in range(steps):
            opt.zero_grad()
            harness.torch_loss(tensors).backward()
            opt.step()
            for k, t in tensors.items():
                path[k].append(t.detach().numpy().copy())
    finally:
        torch.set_default_dtype(torch.float32)
    return {k: np.stack(v) for k, v in path.items()}


def torch_kwargs(kw):
    out = {{"learning_rate": "lr"}.get(k, k): v for k, v in kw.items() if k not in ("b1", "b2")}
    out["betas"] = (kw.get("b1", 0.9), kw.get("b2", 0.999))
    return out


def check(kw, dtype, monkeypatch):
    got = trajectory(zoo.adam_mini(**kw), make_params(dtype))
    want = torch_run(dict(torch_kwargs(kw), num_embeds=E, num_heads=H), dtype,
                     float64_algorithm=dtype == "float64", monkeypatch=monkeypatch)
    assert_trajectories_close(got, want, dtype)


BASE = dict(num_embeds=E, num_heads=H)


def test_defaults_match_pytorch_optimizer(dtype, monkeypatch):
    """The reference's defaults (lr 1.0, weight decay 0.1) with this model's width and heads."""
    check(dict(BASE, learning_rate=1.0), dtype, monkeypatch)


def test_example_rate_matches_pytorch_optimizer(dtype, monkeypatch):
    check(dict(BASE, learning_rate=1e-2), dtype, monkeypatch)


def test_random_hyperparameters_match_pytorch_optimizer(request, monkeypatch):
    rng = seeded_rng(request.node.name)[0]
    kw = dict(BASE, learning_rate=rng.uniform(3e-3, 2e-2), b1=rng.uniform(0.7, 0.95), b2=rng.uniform(0.9, 0.999),
              eps=10 ** rng.uniform(-10, -5), weight_decay=rng.uniform(0, 0.3))
    print(kw)
    check(kw, "float64", monkeypatch)


def test_grouped_query_attention_matches_pytorch_optimizer(monkeypatch):
    kw = dict(num_embeds=E, num_heads=4, num_query_groups=2, learning_rate=1e-2)
    got = trajectory(zoo.adam_mini(**kw), make_params("float64"))
    want = torch_run(torch_kwargs(kw), "float64", float64_algorithm=True, monkeypatch=monkeypatch)
    assert_trajectories_close(got, want, "float64")


def test_blocks_follow_the_path_names():
    import jax
    import jax.numpy as jnp

    nested = {"embed": {"weight": jnp.ones((6, E))}, "layers": [{"q_proj": {"weight": jnp.ones((E, E))}}],
              "mlp": {"weight": jnp.ones((3, E))}}
    nu = zoo.adam_mini(num_embeds=E, num_heads=H).init(nested).nu
    assert jax.tree.map(jnp.shape, nu) == {"embed": {"weight": (6, E)}, "layers": [{"q_proj": {"weight": (H,)}}],
                                           "mlp": {"weight": ()}}


def test_a_projection_that_does_not_hold_whole_heads_is_refused():
    import jax.numpy as jnp

    with pytest.raises(ValueError, match="adam_mini.*q_proj"):
        zoo.adam_mini(num_embeds=E, num_heads=H).init({"q_proj.weight": jnp.ones((3, 5))})
