"""Everything one training run holds in memory, and one optimisation step of it, as named phases.

`Training` owns the networks, optimisers, EMA, batch order and latent generator; its `state_dict` is the
whole of a checkpoint's training state, so a resumed run continues bit for bit on the CPU.

A step is `n_dis` rounds of draw -> `d_main` (D's loss) -> `d_reg` (gradient penalties, every `reg.every`
rounds) -> D's update, then `g_main` (G's loss) -> G's update. The tricks that act around those phases
(growing, the `schedule` ramps, weight clipping, EMA, CUDA-graph step marks) are small hooks that the
constructor installs only when the config asks for them.

In a distributed run (see `distributed`) every rank holds a whole `Training`; `train.batch_size` is the
global batch, and each rank trains on its slice of the same global batch order and latent draw.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import torch
from torch import nn

from .. import speed
from ..augment import Augment, policy_names
from ..config import AdamConfig, RunConfig, value_at
from ..checks import check_run
from ..data import BatchOrder, Dataset, mirrored
from ..data.toy import TOY_SAMPLES
from ..errors import CheckpointError
from ..models import balanced_labels, build_models, class_count, growth_stages
from ..models.discriminator import LABEL_MODES
from ..models.spectral import spectral_sigmas
from ..registry import LOSSES
from ..regularisers import clip_weights
from ..schedule import ema_beta, ramped
from .checkpoint import load_state
from .distributed import SINGLE, World, sync_batch_norm, wrap
from .ema import EMA, standing_statistics
from .growth import Schedule, blend_real
from .objective import Objective
from .unrolled import unrolled_judge
from .stats import Stats


def make_adam(params, config: AdamConfig, impl: str = "auto") -> torch.optim.Adam:
    """Adam with `optim.impl`'s implementation (`speed.ADAM`)."""
    return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2), **speed.ADAM[impl].flags)


def compiled(net: nn.Module, mode: str) -> nn.Module:
    """`net` behind torch.compile as `train.compile` asks (`speed.COMPILE`), sharing its parameters so
    checkpoints and EMA see the plain module; `net` itself when the mode compiles nothing."""
    switch = speed.COMPILE[mode]
    return torch.compile(net, mode=switch.mode) if switch.compiled else net


def autocast(amp: str, device: torch.device, penalty: bool = False) -> contextlib.AbstractContextManager:
    """Autocast at `train.amp`'s precision (`speed.AMP`). Gradient penalties stay in float32 under a scaled
    precision (float16): their input gradients underflow unless scaled, and a loss scale that overflows (the
    gradient scaler's way of finding its scale) would make the penalty itself infinite, not only the step's
    gradients."""
    precision = speed.AMP[amp]
    if precision.dtype is None or (penalty and precision.scaled):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=getattr(torch, precision.dtype))


@dataclass
class Batch:
    """One D round's data on this rank: real samples and G's samples, with their labels (None when unused)."""

    real: torch.Tensor
    real_y: torch.Tensor | None
    fake: torch.Tensor
    fake_y: torch.Tensor | None
    z: torch.Tensor  # the latents of `fake`
    size: int  # the global batch these are this rank's share of


@dataclass
class Phase:
    """Losses of the last step, for the progress bar (tensors: read only when shown)."""

    d_loss: torch.Tensor
    g_loss: torch.Tensor
    images: int  # real images D saw in the step


class Training:
    def __init__(self, config: RunConfig, dataset: Dataset, device: torch.device, world: World = SINGLE) -> None:
        check_run(config, dataset, device, world)
        self.config = config
        self.device = device
        self.world = world
        # small uint8 datasets fit on the device, so batches need no copy; the caller's stays where it is
        self.dataset = dataset.to(device) if device.type == "cuda" else dataset
        torch.manual_seed(config.seed)
        G, D, self.model_spec = build_models(config.model, dataset.sample_shape,
                                             dataset.num_classes if dataset.labels is not None else 0)
        if config.train.sync_bn:
            G, D = sync_batch_norm(G, world, device), sync_batch_norm(D, world, device)
        self.G, self.D = G.to(device), D.to(device)
        if config.train.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.opt_g = make_adam(self.G.parameters(), config.optim.g, config.optim.impl)
        self.opt_d = make_adam(self.D.parameters(), config.optim.d, config.optim.impl)
        scaled = speed.AMP[config.train.amp].scaled
        self.scaler_g = torch.amp.GradScaler(device.type, enabled=scaled)
        self.scaler_d = torch.amp.GradScaler(device.type, enabled=scaled)
        # schedule.ema_half_life: an EMA whose decay the schedule sets before every step
        self.ema = (EMA(self.G, config.train.ema_decay, config.train.ema_rampup)
                    if config.train.ema_decay > 0 or config.schedule.ema_half_life > 0 else None)
        self.stats = Stats()
        # data.augment: its own generator, drawing for the global batch like the latents
        self.augment = (Augment(policy_names(config.data.augment), config.data.augment_p, device, config.seed + 2,
                                world.shard, world.size, world.mean_of, self.stats.report)
                        if config.data.augment else None)
        self.objective = Objective(LOSSES.get(config.loss.name), config.loss, self.stats, config.reg, self.augment,
                                   world.average)
        self.schedule = (Schedule.from_config(config.growth, growth_stages(self.G), config.train.batch_size)
                         if config.growth.stable_images else None)
        self.images_seen = 0  # real images shown to D so far: the clock of the growing schedule
        self.stage, self.alpha = 0, 1.0  # where growing is during this step
        self.order = BatchOrder(len(dataset), config.train.batch_size, config.seed, config.data.mirror)
        growing = self.schedule is not None
        mode = config.train.compile
        # the networks the step calls, compiled as train.compile asks: G and D in DDP in a distributed run,
        # so backward averages the gradients over the ranks (growing changes the active layers, which DDP
        # must be told); gradient penalties and the unrolled look-ahead use the plain D (torch.compile has no double
        # backward, and functional_call needs the module itself), and so does the G step, through
        # `fast_frozen_D` (D is frozen there, and a DDP forward would wait for gradients that never come)
        self.fast_G = compiled(wrap(self.G, world, device, find_unused=growing), mode)
        self.fast_D = compiled(wrap(self.D, world, device, find_unused=growing), mode)
        self.fast_frozen_D = compiled(self.D, mode) if world.active else self.fast_D
        self.z_generator = torch.Generator(device=device).manual_seed(config.seed + 1)
        self.fixed_z = self.sample_z(self.picture_size)
        classes = class_count(self.G)
        # pictures of a conditional G: class k in column k of a grid `classes` wide
        self.fixed_y = (torch.arange(self.picture_size, device=device) % classes) if classes else None
        self.step = 0
        self.statistics_step = -1  # the step at which the EMA generator's statistics were last recomputed
        self.best: dict | None = None  # {"key", "value", "step"} of the best evaluation so far
        self.before_step = self._hooks(speed.COMPILE[mode].cudagraphs and self._mark_graph_step,
                                       self.schedule is not None and self._grow,
                                       config.schedule.images > 0 and self._follow_schedule)
        self.after_d_update = self._hooks(config.reg.clip > 0 and self._clip)
        self.after_step = self._hooks(self.ema is not None and self._update_ema)

    @staticmethod
    def _hooks(*hooks: Callable[[], None] | bool) -> list[Callable[[], None]]:
        """The hooks that apply (each given as `condition and hook`)."""
        return [hook for hook in hooks if callable(hook)]

    @property
    def picture_size(self) -> int:
        """Images in a grid, or `TOY_SAMPLES` points for toy data."""
        return self.config.train.n_grid if self.dataset.is_image else TOY_SAMPLES

    @property
    def sampler(self) -> nn.Module:
        """The network whose samples are shown and evaluated: the EMA generator when there is one."""
        return self.ema.shadow if self.ema is not None else self.G

    def sample_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.G.z_dim, generator=self.z_generator, device=self.device)

    def sample_y(self, n: int) -> torch.Tensor | None:
        """Uniform class labels for a conditional G's samples; None for an unconditional one."""
        classes = class_count(self.G)
        if not classes:
            return None
        return torch.randint(classes, (n,), generator=self.z_generator, device=self.device)

    def real_batch(self, batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """This rank's slice of the next global batch of `batch_size` (default `train.batch_size`)."""
        index, flips = self.order.next(batch_size)
        index = self.world.shard(index).to(self.dataset.samples.device, non_blocking=True)
        x, y = self.dataset.batch(index)
        y = y.to(self.device, non_blocking=True) if y is not None and self.uses_labels else None
        x = x.to(self.device, non_blocking=True)
        if flips is not None:  # data.mirror, on the device
            x = mirrored(x, self.world.shard(flips).to(self.device, non_blocking=True))
        if self.config.train.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    @property
    def uses_labels(self) -> bool:
        return LABEL_MODES[self.config.model.d_label].conditional

    def autocast(self, penalty: bool = False) -> contextlib.AbstractContextManager:
        """Autocast at this run's `train.amp` precision on its device (see `autocast`)."""
        return autocast(self.config.train.amp, self.device, penalty)

    @property
    def batch_size(self) -> int:
        """The global batch of this step: growing sets one per stage."""
        return self.schedule.batch_sizes[self.stage] if self.schedule is not None else self.config.train.batch_size

    def train_step(self) -> Phase:
        """`n_dis` discriminator steps, then one generator step, each as its phases.

        The fake batch of the last D step is generated with gradients and reused for the G step, as the
        reference DCGAN loop does, which saves one generator forward pass per step.

        Distributed, the D and G updates go through the DDP wrappers, whose backward averages gradients
        over the ranks. Everything that needs no averaged D gradient uses the plain D: the G step (D is
        frozen, and a DDP forward would wait for gradients that never come), the unrolled look-ahead
        (`functional_call` needs the module itself; its gradients are averaged over the ranks by a
        differentiable all-reduce, as D's own update is, and G's gradient through it by G's DDP), and the
        gradient penalty (its double backward reaches D's parameters within D's loss, whose backward DDP
        averages as a whole). Latents and penalty interpolation weights are drawn for the global batch and
        sliced, so a run on N ranks draws what one process would.
        """
        for hook in self.before_step:
            hook()
        n_dis, size = self.config.train.n_dis, self.batch_size
        for k in range(n_dis):
            batch = self.draw(size, grad=k == n_dis - 1)
            d_loss = self.d_main(batch)
            if self.objective.penalised and (self.step * n_dis + k) % self.config.reg.every == 0:
                d_loss = d_loss + self.d_reg(batch)
            self._optimise(d_loss, self.opt_d, self.scaler_d)
            for hook in self.after_d_update:
                hook()
        g_loss = self.g_main(batch)
        self._optimise(g_loss, self.opt_g, self.scaler_g,
                       inputs=list(self.G.parameters()) if self.config.train.unroll else None)
        for hook in self.after_step:
            hook()
        self.step += 1
        return Phase(d_loss.detach(), g_loss.detach(), size * n_dis)

    def draw(self, size: int, grad: bool) -> "Batch":
        """This rank's share of a real batch of `size` and of a fake one (G's output with gradients when
        `grad`: the G step reuses it)."""
        real, real_y = self.real_batch(size)
        if self.schedule is not None:
            real = blend_real(real, self.stage, self.alpha, self.schedule.stages)
        self.images_seen += size
        z, fake_y = self.world.shard(self.sample_z(size)), self.fake_labels(size)
        fake_y = self.world.shard(fake_y) if fake_y is not None else None
        with self.autocast(), torch.set_grad_enabled(grad):
            fake = self.fast_G(z, fake_y)
        return Batch(real, real_y, fake, fake_y, z, size)

    def fake_labels(self, size: int) -> torch.Tensor | None:
        """Labels for a fake batch of `size`; with `loss.mode_seeking`, the pairs (2i, 2i+1) share one, so the
        term compares samples of one class."""
        if not self.config.loss.mode_seeking:
            return self.sample_y(size)
        y = self.sample_y(size // 2)
        return y.repeat_interleave(2) if y is not None else None

    def d_main(self, batch: "Batch") -> torch.Tensor:
        """D's adversarial loss (and its class and drift terms) on the batch."""
        with self.autocast():
            return self.objective.discriminator_loss(self.fast_D, batch.real, batch.real_y, batch.fake,
                                                     batch.fake_y)

    def d_reg(self, batch: "Batch") -> torch.Tensor:
        """The gradient penalties, weighted for lazy regularisation (`reg.every`)."""
        with self.autocast(penalty=True):
            return self.objective.penalty(self.D, batch.real, batch.real_y, batch.fake, self.z_generator,
                                          mix=self.penalty_mix(batch.size, batch.real), fake_y=batch.fake_y)

    def g_main(self, batch: "Batch") -> torch.Tensor:
        """G's loss on the last D round's fake batch: against D as it is (frozen, so no time goes to D
        gradients nobody uses), or with `train.unroll`, against D after that many look-ahead updates."""
        unroll = self.config.train.unroll
        with self.autocast():
            if unroll:
                judge = unrolled_judge(self.D, self.opt_d, lambda j: self.objective.d_terms(
                    j, batch.real, batch.real_y, batch.fake, batch.fake_y)[0], unroll,
                    self.world.average if self.world.active else None)
                return self.objective.generator_loss(judge, batch.fake, batch.fake_y, batch.real, batch.real_y,
                                                     batch.z)
            self.D.requires_grad_(False)
            try:
                return self.objective.generator_loss(self.fast_frozen_D, batch.fake, batch.fake_y, batch.real,
                                                     batch.real_y, batch.z)
            finally:  # the graph is recorded: D's weights take no gradient from this loss's backward
                self.D.requires_grad_(True)

    @staticmethod
    def _optimise(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                  inputs: list[torch.Tensor] | None = None) -> None:
        """One update of `optimizer`'s network from `loss` (gradients only into `inputs` when given)."""
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward(inputs=inputs)
        scaler.step(optimizer)
        scaler.update()

    def _mark_graph_step(self) -> None:
        """CUDA graphs: no graph output outlives its step."""
        torch.compiler.cudagraph_mark_step_begin()

    def _grow(self) -> None:
        """Progressive growing: every network at this step's stage and fade-in."""
        self.stage, self.alpha = self.growth
        for net in (self.G, self.D, *([self.ema.shadow] if self.ema is not None else [])):
            net.set_growth(self.stage, self.alpha)

    def _follow_schedule(self) -> None:
        """The `schedule` ramps at the images seen so far (after `_grow`, whose stage sets the batch): Adam's
        lr and beta2 in every parameter group, the R1/R2 weights, the EMA decay of this step's images (every
        D round's real batch, the schedule's clock), the augmentation probability."""
        now = ramped(self.config, self.images_seen)
        for net, opt in (("g", self.opt_g), ("d", self.opt_d)):
            for group in opt.param_groups:
                group["lr"] = now.get(f"optim.{net}.lr", group["lr"])
                group["betas"] = (group["betas"][0], now.get(f"optim.{net}.beta2", group["betas"][1]))
        reg = self.config.reg
        self.objective.reg = replace(reg, r1=now.get("reg.r1", reg.r1), r2=now.get("reg.r2", reg.r2))
        if "ema_half_life" in now:
            self.ema.decay = ema_beta(now["ema_half_life"], self.batch_size * self.config.train.n_dis)
        if "data.augment_p" in now:
            self.augment.set_p(now["data.augment_p"])

    def _clip(self) -> None:
        """WGAN weight clipping, after each D update."""
        clip_weights(self.D, self.config.reg.clip)

    def _update_ema(self) -> None:
        self.ema.update(self.G, self.step)

    def penalty_mix(self, batch_size: int, real: torch.Tensor) -> torch.Tensor | None:
        """This rank's slice of the gradient penalty's interpolation weights for the global batch (drawn as
        the penalty itself would draw them, so one process is unchanged); None without a gradient penalty."""
        if self.config.reg.gp <= 0:
            return None
        shape = (batch_size,) + (1,) * (real.dim() - 1)
        return self.world.shard(torch.rand(shape, device=real.device, generator=self.z_generator,
                                           dtype=real.dtype))

    @property
    def growth(self) -> tuple[int, float]:
        """(stage, alpha) of the growing schedule for the next step."""
        return self.schedule.at(self.images_seen) if self.schedule is not None else (0, 1.0)

    def report_state(self) -> None:
        """What the log shows besides the losses: each spectrally normalised layer's current sigma estimate
        (`sigma/<net>/<layer>`), the growing schedule's position and what the `schedule` ramps set for the
        next step (`schedule/<key>`)."""
        for net_name, net in (("g", self.G), ("d", self.D)):
            for layer, sigma in spectral_sigmas(net).items():
                self.stats.report(f"sigma/{net_name}/{layer}", sigma)
        if self.config.schedule.images:
            for key, value in ramped(self.config, self.images_seen).items():
                self.stats.report(f"schedule/{key}", value)
        if self.schedule is not None:
            stage, alpha = self.growth
            self.stats.report("growth/resolution", 4 * 2 ** stage)
            self.stats.report("growth/alpha", alpha)
            self.stats.report("growth/images", self.images_seen)

    def refresh_sampler(self) -> None:
        """`train.ema_bn_batches`: the EMA generator's batch-norm statistics recomputed for its own weights
        (`standing_statistics`), once per step however many pictures, evaluations and checkpoints read it.
        Its latents come from a generator seeded afresh each time, so the result depends on the weights
        alone: training draws nothing from it, and a resumed run recomputes what an unbroken one did. The
        next EMA update copies G's statistics back, so training itself is unchanged."""
        batches = self.config.train.ema_bn_batches
        if not batches or self.statistics_step == self.step:
            return
        generator = torch.Generator(device=self.device).manual_seed(self.config.seed + 3)
        size, shadow = self.config.train.batch_size, self.ema.shadow

        def inputs() -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
            for i in range(batches):
                y = balanced_labels(shadow, size, start=i * size)
                yield (torch.randn(size, shadow.z_dim, generator=generator, device=self.device),
                       y.to(self.device) if y is not None else None)

        standing_statistics(shadow, inputs())
        self.statistics_step = self.step

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """Samples of the fixed latents (and labels) by the shown generator in eval mode (batch-norm running
        statistics), on the CPU."""
        net = self.sampler
        was_training = net.training
        net.eval()
        out = net(self.fixed_z, self.fixed_y).float().cpu()
        net.train(was_training)
        return out

    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "images_seen": self.images_seen,
            "models": self.model_spec,
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "generator_ema": self.ema.shadow.state_dict() if self.ema is not None else None,
            "optim_g": self.opt_g.state_dict(),
            "optim_d": self.opt_d.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),  # empty unless train.amp=fp16
            "scaler_d": self.scaler_d.state_dict(),
            "batch_order": self.order.state_dict(),
            "z_generator": self.z_generator.get_state(),
            "fixed_z": self.fixed_z.cpu(),
            "augment": self.augment.state_dict() if self.augment is not None else None,
            "best": self.best,
        }

    def load_state_dict(self, state: dict, path: str = "checkpoint") -> None:
        if state.get("models") != self.model_spec:
            raise CheckpointError(f"{path}: checkpoint holds model {state.get('models')} but the config "
                                  f"asks for {self.model_spec}")
        load_state(self.G, state["generator"], "generator", path)
        load_state(self.D, state["discriminator"], "discriminator", path)
        if self.ema is not None:
            if state.get("generator_ema") is None:
                key = "schedule.ema_half_life" if self.config.schedule.ema_half_life else "train.ema_decay"
                raise CheckpointError(f"{path}: checkpoint has no EMA generator but {key} is "
                                      f"{value_at(self.config, key)}")
            load_state(self.ema.shadow, state["generator_ema"], "EMA generator", path)
        load_state(self.opt_g, state["optim_g"], "generator optimiser", path)
        load_state(self.opt_d, state["optim_d"], "discriminator optimiser", path)
        for name in ("scaler_g", "scaler_d"):
            if state.get(name):
                getattr(self, name).load_state_dict(state[name])
        if self.augment is not None:
            if state.get("augment") is None:
                raise CheckpointError(f"{path}: checkpoint has no augmentation state but data.augment is "
                                      f"{self.config.data.augment}")
            self.augment.load_state_dict(state["augment"])
        self.order.load_state_dict(state["batch_order"])
        self.z_generator.set_state(state["z_generator"])
        self.fixed_z = state["fixed_z"].to(self.device)
        self.step = int(state["step"])
        self.images_seen = int(state.get("images_seen", 0))
        self.best = state.get("best")

