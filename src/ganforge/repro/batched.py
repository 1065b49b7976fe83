"""Many independent PacGAN-protocol GANs trained as one model, so S seeds cost a few large matrix products.

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
