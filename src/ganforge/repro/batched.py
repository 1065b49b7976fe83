"""Many independent GANs trained as one model, so S seeds cost a few large matrix products: PacGAN's
synthetic-data networks (pacgan-table1) and Metz et al.'s unrolled ones (mode-collapse).

Every parameter carries a leading model dimension `S`; each layer is a batched product (`torch.bmm` /
`torch.baddbmm`) in which model k only ever touches its own slice. Losses are summed over models, so each
model's gradient is exactly its own, and Adam is elementwise, so one `torch.optim.Adam` over the stacked
parameters is S separate Adams. tests/repro/test_pacgan.py checks this against S trainings of plain
`torch.nn` modules.

The networks are PacGAN's synthetic-data ones (fjxmlzn/PacGAN, synthetic_data_experiments): G is an MLP
whose hidden layers are Linear without bias, batch norm and ReLU, with a linear output; D is maxout layers
(a Linear to `width * pieces`, then the max over each unit's pieces) and a Linear to one logit.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BatchedPacGAN(nn.Module):
    """S generator/discriminator pairs; D judges `pack` samples joined into one row of `pack * x_dim`.

    G's batch norm works like `nn.BatchNorm1d` per model: in training it normalises with the statistics of
    each packed slot's own batch (PacGAN's code applies G once per slot) and moves the running mean and
    unbiased variance towards the slots' average statistics by `bn_momentum`; `generate(train=False)`
    uses the running statistics.
    """

    def __init__(self, models: int, pack: int, z_dim: int = 2, x_dim: int = 2, g_width: int = 400,
                 g_depth: int = 4, d_width: int = 200, d_depth: int = 3, pieces: int = 5,
                 bn_momentum: float = 0.05, bn_eps: float = 1e-5) -> None:
        super().__init__()
        self.models, self.pack, self.z_dim, self.x_dim = models, pack, z_dim, x_dim
        self.d_width, self.pieces, self.bn_momentum, self.bn_eps = d_width, pieces, bn_momentum, bn_eps
        g_sizes = [z_dim] + [g_width] * g_depth
        self.g_weights = nn.ParameterList(nn.Parameter(torch.empty(models, a, b))
                                          for a, b in zip(g_sizes[:-1], g_sizes[1:]))
        self.g_scale = nn.Parameter(torch.ones(models, g_depth, g_width))
        self.g_shift = nn.Parameter(torch.zeros(models, g_depth, g_width))
        self.g_out_weight = nn.Parameter(torch.empty(models, g_width, x_dim))
        self.g_out_bias = nn.Parameter(torch.zeros(models, 1, x_dim))
        self.register_buffer("running_mean", torch.zeros(models, g_depth, g_width))
        self.register_buffer("running_var", torch.ones(models, g_depth, g_width))
        d_sizes = [pack * x_dim] + [d_width] * d_depth
        self.d_weights = nn.ParameterList(nn.Parameter(torch.empty(models, a, b * pieces))
                                          for a, b in zip(d_sizes[:-1], d_sizes[1:]))
        self.d_biases = nn.ParameterList(nn.Parameter(torch.zeros(models, 1, b * pieces)) for b in d_sizes[1:])
        self.d_out_weight = nn.Parameter(torch.empty(models, d_width, 1))
        self.d_out_bias = nn.Parameter(torch.zeros(models, 1, 1))

    def generator_parameters(self) -> list[nn.Parameter]:
        return [*self.g_weights, self.g_scale, self.g_shift, self.g_out_weight, self.g_out_bias]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [*self.d_weights, *self.d_biases, self.d_out_weight, self.d_out_bias]

    def weight_matrices(self) -> list[nn.Parameter]:
        """The parameters PacGAN draws from N(0, std^2); biases start at 0, batch-norm scales at 1."""
        return [*self.g_weights, self.g_out_weight, *self.d_weights, self.d_out_weight]

    @torch.no_grad()
    def init_weights(self, generators: list[torch.Generator], std: float = 0.02) -> None:
        """Draw model k's weights from `generators[k]` alone (CPU generators, so the start is the same on
        every device and does not depend on S)."""
        for weight in self.weight_matrices():
            for k, generator in enumerate(generators):
                weight[k] = torch.randn(weight.shape[1:], generator=generator, dtype=weight.dtype) * std

    def generate(self, z: torch.Tensor, train: bool) -> torch.Tensor:
        """Training: z `[S, m, B, z_dim]` (m slots of B draws) -> `[S, m, B, x_dim]`, batch statistics per
        slot, running statistics updated. Inference: z `[S, N, z_dim]` -> `[S, N, x_dim]`."""
        shape = z.shape
        h = z.reshape(self.models, -1, self.z_dim)
        for layer, weight in enumerate(self.g_weights):
            h = F.relu(self._batch_norm(torch.bmm(h, weight), layer, shape, train))
        x = torch.baddbmm(self.g_out_bias, h, self.g_out_weight)
        return x.reshape(*shape[:-1], self.x_dim)

    def _batch_norm(self, h: torch.Tensor, layer: int, shape: torch.Size, train: bool) -> torch.Tensor:
        scale, shift = self.g_scale[:, layer, None], self.g_shift[:, layer, None]           # [S, 1, W]
        if not train:
            mean, var = self.running_mean[:, layer, None], self.running_var[:, layer, None]
            return (h - mean) * torch.rsqrt(var + self.bn_eps) * scale + shift
        slots = h.reshape(shape[0], shape[1], shape[2], -1)                                 # [S, m, B, W]
        mean = slots.mean(2, keepdim=True)
        var = slots.var(2, unbiased=False, keepdim=True)
        normed = ((slots - mean) * torch.rsqrt(var + self.bn_eps)).reshape(h.shape)
        with torch.no_grad():
            batch = shape[2]
            self.running_mean[:, layer].lerp_(mean.mean(1)[:, 0], self.bn_momentum)
            self.running_var[:, layer].lerp_(var.mean(1)[:, 0] * batch / (batch - 1), self.bn_momentum)
        return normed * scale + shift

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """Packed rows `[S, N, pack * x_dim]` -> logits `[S, N]`."""
        h = x
        for weight, bias in zip(self.d_weights, self.d_biases):
            h = torch.baddbmm(bias, h, weight)
            h = h.view(*h.shape[:2], self.d_width, self.pieces).amax(-1)
        return torch.baddbmm(self.d_out_bias, h, self.d_out_weight)[..., 0]


def pack_slots(x: torch.Tensor) -> torch.Tensor:
    """`[S, m, B, D]` -> `[S, B, m * D]`: row b joins slot 0's b-th sample, then slot 1's, ... (PacGAN's
    concatenation along the feature axis)."""
    s, m, b, d = x.shape
    return x.permute(0, 2, 1, 3).reshape(s, b, m * d)


def train_step(model: BatchedPacGAN, optimizer: torch.optim.Optimizer, real: torch.Tensor, z: torch.Tensor,
               real_target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One simultaneous update of every D and G from the same minibatch; returns per-model losses `[S]`.

    real `[S, B, m * x_dim]` packed rows; z `[S, m, B, z_dim]`; real_target `[S, 1]` is the label D is
    trained towards on real rows (1, or 0.9 for one-sided label smoothing). D: cross-entropy against that
    target on real and 0 on fake; G: the non-saturating -log D(G(z)). Both gradients are taken before either
    network moves, as PacGAN's code (ALI's algorithm) does.
    """
    batch = real.shape[1]
    fake = pack_slots(model.generate(z, train=True))
    logits = model.discriminate(torch.cat([real, fake], dim=1))
    real_logits, fake_logits = logits[:, :batch], logits[:, batch:]
    d_loss = (real_target * F.softplus(-real_logits) + (1 - real_target) * F.softplus(real_logits)).mean(1) \
        + F.softplus(fake_logits).mean(1)
    g_loss = F.softplus(-fake_logits).mean(1)
    d_params, g_params = model.discriminator_parameters(), model.generator_parameters()
    d_grads = torch.autograd.grad(d_loss.sum(), d_params, retain_graph=True)
    g_grads = torch.autograd.grad(g_loss.sum(), g_params)
    for param, grad in zip(d_params + g_params, d_grads + g_grads):
        param.grad = grad
    optimizer.step()
    return d_loss.detach(), g_loss.detach()


class Stepper:
    """Runs `train_step` on fixed input buffers, so that on CUDA the step can be recorded once as a CUDA
    graph and replayed: the batched step is a few hundred small kernels, and launching them from Python
    costs more than running them (measured on an H200: about 2x faster replayed). Capture follows
    torch.cuda.graphs' recipe: `warmup` eager steps on a side stream first, and an Adam built with
    `capturable=True`. Elsewhere, or with `graph=False`, every step runs eagerly on the same buffers.
    """

    def __init__(self, model: BatchedPacGAN, optimizer: torch.optim.Optimizer, real_target: torch.Tensor,
                 real_shape: tuple[int, ...], z_shape: tuple[int, ...], graph: bool, warmup: int = 3,
                 log=print) -> None:
        device = real_target.device
        self.model, self.optimizer, self.real_target, self.log = model, optimizer, real_target, log
        self.real = torch.zeros(real_shape, device=device, dtype=real_target.dtype)
        self.z = torch.zeros(z_shape, device=device, dtype=real_target.dtype)
        self.use_graph, self.warmup, self.warm = graph and device.type == "cuda", warmup, 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.side = torch.cuda.Stream(device) if self.use_graph else None

    def __call__(self, real: torch.Tensor, z: torch.Tensor) -> None:
        self.real.copy_(real)
        self.z.copy_(z)
        if self.use_graph and self.graph is None and self.warm >= self.warmup:
            self._capture()
        if self.graph is not None:
            self.graph.replay()
        elif self.side is not None:
            self.side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.side):
                self._eager()
            torch.cuda.current_stream().wait_stream(self.side)
            self.warm += 1
        else:
            self._eager()

    def _eager(self) -> None:
        train_step(self.model, self.optimizer, self.real, self.z, self.real_target)

    def _capture(self) -> None:
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self._eager()
        except RuntimeError as error:   # stay correct, only slower: say so and run eagerly
            self.log(f"CUDA graph capture failed ({error}); running eagerly")
            self.use_graph, self.side = False, None
            return
        self.graph = graph


# --- Metz et al. 2016's 2-D mixture networks, unrolled ------------------------------------------------------

class BatchedMetzGAN(nn.Module):
    """S generator/discriminator pairs of Metz et al. 2016, appendix A: G is z `[z_dim]` -> `width` ReLU ->
    `width` ReLU -> `x_dim`; D scales its input by `d_scale`, then `width` ReLU -> one logit; D judges `pack`
    samples joined into one row (PacGAN's packing, 1 for the paper's own networks). Every weight starts
    orthogonal with gain `gain`, every bias at 0. D is written as a function of its parameters
    (`discriminate(x, params)`), so an unrolled look-ahead can run it on parameters that depend on G."""

    def __init__(self, models: int, pack: int = 1, z_dim: int = 256, width: int = 128, x_dim: int = 2,
                 d_scale: float = 0.25) -> None:
        super().__init__()
        self.models, self.pack, self.z_dim, self.x_dim, self.d_scale = models, pack, z_dim, x_dim, d_scale
        g_sizes, d_sizes = [z_dim, width, width, x_dim], [pack * x_dim, width, 1]
        self.g_weights = nn.ParameterList(nn.Parameter(torch.empty(models, a, b))
                                          for a, b in zip(g_sizes[:-1], g_sizes[1:]))
        self.g_biases = nn.ParameterList(nn.Parameter(torch.zeros(models, 1, b)) for b in g_sizes[1:])
        self.d_weights = nn.ParameterList(nn.Parameter(torch.empty(models, a, b))
                                          for a, b in zip(d_sizes[:-1], d_sizes[1:]))
        self.d_biases = nn.ParameterList(nn.Parameter(torch.zeros(models, 1, b)) for b in d_sizes[1:])

    def generator_parameters(self) -> list[nn.Parameter]:
        return [*self.g_weights, *self.g_biases]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [*self.d_weights, *self.d_biases]

    @torch.no_grad()
    def init_weights(self, generators: list[torch.Generator], gain: float = 0.8) -> None:
        """Model k's weights orthogonal (gain `gain`) from `generators[k]` alone (CPU generators)."""
        for weight in [*self.g_weights, *self.d_weights]:
            for k, generator in enumerate(generators):
                block = torch.empty(weight.shape[2], weight.shape[1])          # torch's [out, in]
                nn.init.orthogonal_(block, gain=gain, generator=generator)
                weight[k] = block.T

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """z `[S, ..., z_dim]` -> samples `[S, ..., x_dim]`."""
        h = z.reshape(self.models, -1, self.z_dim)
        for i, (weight, bias) in enumerate(zip(self.g_weights, self.g_biases)):
            h = torch.baddbmm(bias, h, weight)
            h = F.relu(h) if i < len(self.g_weights) - 1 else h
        return h.reshape(*z.shape[:-1], self.x_dim)

    def discriminate(self, x: torch.Tensor, params: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Packed rows `[S, N, pack * x_dim]` -> logits `[S, N]`, with D's parameters or `params` (weights,
        then biases, as `discriminator_parameters` lists them)."""
        w1, w2, b1, b2 = params if params is not None else self.discriminator_parameters()
        h = F.relu(torch.baddbmm(b1, x * self.d_scale, w1))
        return torch.baddbmm(b2, h, w2)[..., 0]


def adam_lookahead(params: list[torch.Tensor], loss, state: list[dict], steps: int, lr: float,
                   betas: tuple[float, float], eps: float) -> list[torch.Tensor]:
    """`steps` Adam updates of `params` on `loss(params)` (a scalar), from Adam's moments in `state` (one dict
    per parameter, as torch.optim.Adam keeps them; empty before its first step), keeping the graph so the
    result can be differentiated with respect to whatever `loss` depends on (Metz et al.'s unrolling)."""
    m = [s["exp_avg"] if s else torch.zeros_like(p) for p, s in zip(params, state)]
    v = [s["exp_avg_sq"] if s else torch.zeros_like(p) for p, s in zip(params, state)]
    t = float(state[0]["step"]) if state[0] else 0.0
    for _ in range(steps):
        grads = torch.autograd.grad(loss(params), params, create_graph=True)
        t += 1
        m = [betas[0] * a + (1 - betas[0]) * g for a, g in zip(m, grads)]
        v = [betas[1] * b + (1 - betas[1]) * g * g for b, g in zip(v, grads)]
        params = [p - lr * (a / (1 - betas[0] ** t)) / ((b / (1 - betas[1] ** t)).sqrt() + eps)
                  for p, a, b in zip(params, m, v)]
    return params


def metz_step(model: BatchedMetzGAN, opt_d: torch.optim.Adam, opt_g: torch.optim.Adam, real: torch.Tensor,
              z: torch.Tensor, real_target: torch.Tensor, unroll: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One simultaneous update of every D and G on one minibatch (the authors' notebook runs both updates
    from the same batch); returns per-model losses `[S]`.

    real `[S, B, pack * x_dim]`; z `[S, pack, B, z_dim]`; real_target `[S, 1]`. D minimises the cross-entropy
    -log D(x) - log(1 - D(G(z))) (real target 1, or 0.9 for one-sided smoothing); G minimises the saddle
    objective's negative of that loss as D would score it after `unroll` Adam steps on this batch,
    differentiated through those steps (0: the plain GAN's minimax G loss)."""
    fake = pack_slots(model.generate(z))

    def d_loss(params, fake_rows):
        r, f = model.discriminate(real, params), model.discriminate(fake_rows, params)
        return (real_target * F.softplus(-r) + (1 - real_target) * F.softplus(r)).mean(1) + F.softplus(f).mean(1)

    d_params, g_params = model.discriminator_parameters(), model.generator_parameters()
    loss_d = d_loss(d_params, fake.detach())
    d_grads = torch.autograd.grad(loss_d.sum(), d_params)
    judge = d_params
    if unroll:
        group = opt_d.param_groups[0]
        judge = adam_lookahead(list(d_params), lambda p: d_loss(p, fake).sum(), [opt_d.state[p] for p in d_params],
                               unroll, group["lr"], group["betas"], group["eps"])
    loss_g = -d_loss(judge, fake)
    g_grads = torch.autograd.grad(loss_g.sum(), g_params)
    for param, grad in zip(d_params + g_params, d_grads + g_grads):
        param.grad = grad
    opt_d.step()
    opt_g.step()
    return loss_d.detach(), loss_g.detach()
