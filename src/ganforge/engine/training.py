"""Everything one training run holds in memory, and one optimisation step of it.

`Training` owns the networks, optimisers, EMA, batch order and latent generator; its `state_dict` is the
whole of a checkpoint's training state, so a resumed run continues bit for bit on the CPU.

In a distributed run (see `distributed`) every rank holds a whole `Training`; `train.batch_size` is the
global batch, and each rank trains on its slice of the same global batch order and latent draw.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from .. import speed
from ..config import AdamConfig, RunConfig
from ..data import BatchOrder, Dataset, mirrored
from ..errors import CheckpointError, ConfigError, DataError
from ..models import build_models, check_config, class_count, growth_stages
from ..models.spectral import spectral_sigmas
from ..registry import LOSSES
from ..regularisers import clip_weights
from .checkpoint import load_state
from .distributed import SINGLE, World, sync_batch_norm, wrap
from .ema import EMA
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
class Phase:
    """Losses of the last step, for the progress bar (tensors: read only when shown)."""

    d_loss: torch.Tensor
    g_loss: torch.Tensor
    images: int  # real images D saw in the step


class Training:
    def __init__(self, config: RunConfig, dataset: Dataset, device: torch.device, world: World = SINGLE) -> None:
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
        self._check_speed_switches()
        if config.train.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.opt_g = make_adam(self.G.parameters(), config.optim.g, config.optim.impl)
        self.opt_d = make_adam(self.D.parameters(), config.optim.d, config.optim.impl)
        scaled = speed.AMP[config.train.amp].scaled
        self.scaler_g = torch.amp.GradScaler(device.type, enabled=scaled)
        self.scaler_d = torch.amp.GradScaler(device.type, enabled=scaled)
        self.ema = EMA(self.G, config.train.ema_decay, config.train.ema_rampup) if config.train.ema_decay > 0 else None
        self.stats = Stats()
        self.objective = Objective(LOSSES.get(config.loss.name), config.loss, self.stats, config.reg)
        self.schedule = (Schedule.from_config(config.growth, growth_stages(self.G), config.train.batch_size)
                         if config.growth.stable_images else None)
        self.images_seen = 0  # real images shown to D so far: the clock of the growing schedule
        largest = max(self.schedule.batch_sizes) if self.schedule is not None else config.train.batch_size
        if len(dataset) < largest:
            where = "growth.batch_sizes" if config.growth.batch_sizes else "train.batch_size"
            raise DataError(f"the dataset has {len(dataset)} samples, fewer than one batch of {largest}; "
                            f"add data or lower {where}")
        self._check_shares()
        self.order = BatchOrder(len(dataset), config.train.batch_size, config.seed, config.data.mirror)
        # the networks as the optimisation step calls them: in DDP in a distributed run, so backward
        # averages the gradients over the ranks; growing changes the active layers, which DDP must be told
        growing = self.schedule is not None
        mode = config.train.compile
        # the networks the step calls, compiled as train.compile asks: G and D in DDP in a distributed run;
        # gradient penalties and the unrolled look-ahead use the plain D (torch.compile has no double
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
        self.best: dict | None = None  # {"key", "value", "step"} of the best evaluation so far

    def _check_speed_switches(self) -> None:
        t = self.config.train
        for key, table in speed.SWITCHES.items():
            section, name = key.split(".")
            value = getattr(getattr(self.config, section), name)
            if table[value].cuda_only and self.device.type != "cuda":
                others = [v for v, s in table.items() if not s.cuda_only]
                raise ConfigError(f"{key}={value} ({table[value].doc}) needs CUDA; on {self.device.type} use "
                                  f"{', '.join(others)}")
        if t.channels_last and not self.dataset.is_image:
            raise ConfigError("train.channels_last is a memory format of image batches; this dataset has none")
        if self.config.data.mirror and not self.dataset.is_image:
            raise ConfigError(f"data.mirror flips images left to right; data.name={self.config.data.name} has "
                              f"no images")

    def _check_shares(self) -> None:
        """Refuse global batches whose per-rank shares a batch-dependent layer cannot take (the config's own
        checks saw the global batch)."""
        config, world = self.config, self.world
        where = "growth.batch_sizes" if config.growth.batch_sizes else "train.batch_size"
        shares = [world.split(batch, where) for batch in
                  (self.schedule.batch_sizes if self.schedule is not None else [config.train.batch_size])]
        if world.size == 1:
            return
        per_rank = dataclasses.replace(config, train=dataclasses.replace(config.train, batch_size=shares[0]),
                                       growth=dataclasses.replace(config.growth, batch_sizes=shares))
        for share in shares:
            if share % config.model.pack:
                raise ConfigError(f"each of the {world.size} processes trains on {share} samples of the global "
                                  f"batch, not a multiple of model.pack ({config.model.pack})")
        try:
            check_config(per_rank)
        except ConfigError as exc:
            raise ConfigError(f"each of the {world.size} processes trains on its share of the global batch: "
                              f"{exc}") from None

    @property
    def picture_size(self) -> int:
        """Images in a grid, or 2,500 points for toy data (PacGAN's sample count)."""
        return self.config.train.n_grid if self.dataset.is_image else 2500

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
        return self.config.model.d_label != "none"

    def autocast(self, penalty: bool = False) -> contextlib.AbstractContextManager:
        """Autocast at this run's `train.amp` precision on its device (see `autocast`)."""
        return autocast(self.config.train.amp, self.device, penalty)

    def train_step(self) -> Phase:
        """`n_dis` discriminator steps, then one generator step.

        The fake batch of the last D step is generated with gradients and reused for the G step, as the
        reference DCGAN loop does, which saves one generator forward pass per step. D's weights are frozen
        during a plain G step so no time is spent on gradients nobody uses; an unrolled G step needs them
        for the look-ahead, and only G's gradients are kept.

        Distributed, the D and G updates go through the DDP wrappers, whose backward averages gradients
        over the ranks. Everything that needs no averaged D gradient uses the plain D: the G step (D is
        frozen, and a DDP forward would wait for gradients that never come), the unrolled look-ahead
        (`functional_call` needs the module itself; its gradients are averaged over the ranks by a
        differentiable all-reduce, as D's own update is, and G's gradient through it by G's DDP), and the
        gradient penalty (its double backward reaches D's parameters within D's loss, whose backward DDP
        averages as a whole). Latents and penalty interpolation weights are drawn for the global batch and
        sliced, so a run on N ranks draws what one process would.
        """
        n_dis, batch_size, reg = self.config.train.n_dis, self.config.train.batch_size, self.config.reg
        if speed.COMPILE[self.config.train.compile].cudagraphs:  # no CUDA-graph output outlives its step
            torch.compiler.cudagraph_mark_step_begin()
        if self.schedule is not None:
            stage, alpha = self.growth
            for net in (self.G, self.D, *([self.ema.shadow] if self.ema is not None else [])):
                net.set_growth(stage, alpha)
            batch_size = self.schedule.batch_sizes[stage]
        for k in range(n_dis):
            real, real_y = self.real_batch(batch_size)
            if self.schedule is not None:
                real = blend_real(real, stage, alpha, self.schedule.stages)
            self.images_seen += batch_size
            z, fake_y = self.world.shard(self.sample_z(batch_size)), self.sample_y(batch_size)
            fake_y = self.world.shard(fake_y) if fake_y is not None else None
            last = k == n_dis - 1
            with self.autocast(), torch.set_grad_enabled(last):
                fake = self.fast_G(z, fake_y)
            with self.autocast():
                d_loss = self.objective.discriminator_loss(self.fast_D, real, real_y, fake, fake_y)
            if self.objective.penalised and (self.step * n_dis + k) % reg.every == 0:
                with self.autocast(penalty=True):
                    d_loss = d_loss + self.objective.penalty(self.D, real, real_y, fake, self.z_generator,
                                                             mix=self.penalty_mix(batch_size, real))
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler_d.scale(d_loss).backward()
            self.scaler_d.step(self.opt_d)
            self.scaler_d.update()
            if reg.clip:
                clip_weights(self.D, reg.clip)

        self.opt_g.zero_grad(set_to_none=True)
        unroll = self.config.train.unroll
        if unroll:
            with self.autocast():
                judge = unrolled_judge(self.D, self.opt_d, lambda j: self.objective.d_terms(
                    j, real, real_y, fake, fake_y)[0], unroll, self.world.average if self.world.active else None)
                g_loss = self.objective.generator_loss(judge, fake, fake_y)
            self.scaler_g.scale(g_loss).backward(inputs=list(self.G.parameters()))
        else:
            self.D.requires_grad_(False)
            with self.autocast():
                g_loss = self.objective.generator_loss(self.fast_frozen_D, fake, fake_y, real, real_y)
            self.scaler_g.scale(g_loss).backward()
            self.D.requires_grad_(True)
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self.world.sync_buffers(self.G)
        self.world.sync_buffers(self.D)

        if self.ema is not None:
            self.ema.update(self.G, self.step)
        self.step += 1
        return Phase(d_loss.detach(), g_loss.detach(), batch_size * n_dis)

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
        (`sigma/<net>/<layer>`) and the growing schedule's position."""
        for net_name, net in (("g", self.G), ("d", self.D)):
            for layer, sigma in spectral_sigmas(net).items():
                self.stats.report(f"sigma/{net_name}/{layer}", sigma)
        if self.schedule is not None:
            stage, alpha = self.growth
            self.stats.report("growth/resolution", 4 * 2 ** stage)
            self.stats.report("growth/alpha", alpha)
            self.stats.report("growth/images", self.images_seen)

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
                raise CheckpointError(f"{path}: checkpoint has no EMA generator but train.ema_decay is "
                                      f"{self.ema.decay}")
            load_state(self.ema.shadow, state["generator_ema"], "EMA generator", path)
        load_state(self.opt_g, state["optim_g"], "generator optimiser", path)
        load_state(self.opt_d, state["optim_d"], "discriminator optimiser", path)
        for name in ("scaler_g", "scaler_d"):
            if state.get(name):
                getattr(self, name).load_state_dict(state[name])
        self.order.load_state_dict(state["batch_order"])
        self.z_generator.set_state(state["z_generator"])
        self.fixed_z = state["fixed_z"].to(self.device)
        self.step = int(state["step"])
        self.images_seen = int(state.get("images_seen", 0))
        self.best = state.get("best")

