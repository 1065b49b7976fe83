"""Data-parallel training with PyTorch's own engine: torchrun launches the processes and rendezvouses them,
`DistributedDataParallel` averages the gradients.

Nothing in the config switches it on: a process started by torchrun finds WORLD_SIZE, RANK and LOCAL_RANK
in its environment and joins the process group (NCCL on CUDA, gloo on the CPU). Everything else is the
single-process code. `train.batch_size` is the global batch: every rank computes the same global batch
order and latent draw and takes its own contiguous slice, so the ranks' slices together are exactly the
batch one process would train on, and the averaged gradient is the one of the global mean loss.

Rank 0 alone writes files. Decisions that must be the same everywhere (stop early, a resumed run's state,
the run directory) go through a gloo group on the CPU, so they never wait on a GPU queue.
"""
from __future__ import annotations

import inspect
import os
import pickle
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.nn.functional import all_reduce
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError

ENVIRONMENT = ("WORLD_SIZE", "RANK", "LOCAL_RANK")  # what torchrun sets in every process it starts
# The handles of the latest collectives on tensors made in Python, kept here so that gloo's worker thread
# never drops the last reference to one: that drop needs the GIL, and a process group torn down by the
# main thread (which holds the GIL while it waits for the workers to stop) would then wait forever.
_recent: deque = deque(maxlen=32)


def _done(work: Any) -> None:
    """Wait for an asynchronous collective and keep its handle (see `_recent`)."""
    work.wait()
    _recent.append(work)


class Vote:
    """Flags being or-ed over the ranks by an all-reduce in flight (`World.vote`). It holds the collective's
    tensor and handle until `result` waits for it; then `_done` keeps the handle (see `_recent`)."""

    def __init__(self, flags: torch.Tensor, work: Any = None) -> None:
        self._flags, self._work = flags, work

    def result(self) -> list[bool]:
        """The flags as every rank agrees on them; waits for the all-reduce the first time."""
        if self._work is not None:
            _done(self._work)
            self._work = None
        return [bool(v) for v in self._flags.tolist()]


@dataclass(frozen=True)
class World:
    """Where this process stands among the ranks of a run; `World()` is a single process."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    active: bool = False  # a process group is up (also with one rank: a 1-GPU torchrun still runs DDP)
    control: Any = None   # gloo group for CPU-side agreement; None: the default group (gloo already)

    @property
    def writer(self) -> bool:
        """Whether this process writes logs, pictures and checkpoints: rank 0 alone."""
        return self.rank == 0

    def split(self, batch: int, what: str = "train.batch_size") -> int:
        """This rank's share of a global batch; refuses a batch the ranks cannot share equally."""
        if batch % self.size:
            raise ConfigError(f"{what} ({batch}) is the global batch and must divide evenly among the "
                              f"{self.size} processes; choose a multiple of {self.size}")
        return batch // self.size

    def shard(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous slice of a global batch `[N, ...]` (N divisible by the world size)."""
        if self.size == 1:
            return x
        n = len(x) // self.size
        return x[self.rank * n:(self.rank + 1) * n]

    def vote(self, flags: list[bool]) -> Vote:
        """Start agreeing on `flags` (a stop request, a time limit): each comes back true on every rank when
        it is true on any of them. The all-reduce runs while the caller goes on (the next training step);
        `Vote.result` waits for it."""
        t = torch.tensor([int(flag) for flag in flags])
        if not self.active:
            return Vote(t)
        return Vote(t, dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.control, async_op=True))

    def mean(self, record: dict[str, float]) -> dict[str, float]:
        """`record` averaged over the ranks key by key (every rank reports the same keys), so the log shows
        the global batch's statistics and a non-finite value on one rank stops them all."""
        if not self.active or self.size == 1 or not record:
            return record
        keys = sorted(record)
        t = torch.tensor([float(record[k]) for k in keys], dtype=torch.float64)
        _done(dist.all_reduce(t, group=self.control, async_op=True))
        return {k: v / self.size for k, v in zip(keys, t.tolist())}

    def broadcast(self, value: Any) -> Any:
        """Rank 0's `value` on every rank (a resumed run's state, the run directory, an evaluation)."""
        if not self.active or self.size == 1:
            return value
        payload = torch.frombuffer(bytearray(pickle.dumps(value)), dtype=torch.uint8) if self.rank == 0 else None
        size = torch.tensor([len(payload) if payload is not None else 0])
        _done(dist.broadcast(size, src=0, group=self.control, async_op=True))
        if payload is None:
            payload = torch.empty(int(size), dtype=torch.uint8)
        _done(dist.broadcast(payload, src=0, group=self.control, async_op=True))
        return value if self.rank == 0 else pickle.loads(payload.numpy().tobytes())

    def part(self, n: int) -> slice:
        """This rank's share of `n` items that need not divide evenly (evaluation samples): the first
        n % size ranks take one more."""
        base, extra = divmod(n, self.size)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (self.rank < extra))

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """Every rank's `x` `[n_r, ...]` joined in rank order along dim 0 (sizes may differ by rank)."""
        if not self.active or self.size == 1:
            return x
        sizes = [torch.zeros((), dtype=torch.long) for _ in range(self.size)]
        _done(dist.all_gather(sizes, torch.tensor(len(x)), group=self.control, async_op=True))
        largest = int(max(sizes))
        padded = torch.zeros((largest, *x.shape[1:]), dtype=x.dtype)
        padded[:len(x)] = x.detach().cpu()
        parts = [torch.empty_like(padded) for _ in range(self.size)]
        _done(dist.all_gather(parts, padded, group=self.control, async_op=True))
        return torch.cat([part[:int(n)] for part, n in zip(parts, sizes)])

    def mean_of(self, t: torch.Tensor) -> torch.Tensor:
        """The mean of `t` over the ranks, without gradient (ADA's overfitting estimate). Asynchronous with its
        handle kept (see `_recent`), unlike `average`'s differentiable all-reduce, whose work gloo's thread may
        drop last at teardown."""
        if not self.active or self.size == 1:
            return t
        t = t.detach().clone()
        _done(dist.all_reduce(t, async_op=True))
        return t / self.size

    def average(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """The mean of each tensor over the ranks, differentiable (its backward all-reduces the gradients):
        the unrolled look-ahead's D gradients, which G's gradient flows back through."""
        if not self.active or self.size == 1:
            return tensors
        with warnings.catch_warnings():  # deprecated in PyTorch 2.13 for a functional form 2.11 lacks
            warnings.simplefilter("ignore", FutureWarning)
            return [all_reduce(t) / self.size for t in tensors]

    @torch.no_grad()
    def settle(self, *modules: nn.Module) -> None:
        """Rank 0's buffers of `modules` (batch-norm running statistics) on every rank: called before the
        ranks' buffers are read (an evaluation every rank takes part in, a checkpoint, the end of a run), so
        every rank holds the same networks wherever one can be observed. Between those points the ranks'
        running statistics may differ, and a step pays no collective for them: in training mode no layer
        reads a running statistic, so the ranks' weights stay identical without them. Spectral norm's u and
        v, the growing stage and reference batches follow from identical weights and inputs on every rank.
        DDP's own per-forward broadcast is off as well: it would also overwrite buffers in place between the
        forward passes of one step (D on real, then on fake data) whose backward may still need them.

        All buffers go as raw bytes in one broadcast per device, whatever their dtypes (bit for bit, and
        one collective instead of one per module and dtype); largest elements first, so that each buffer's
        slice of the bytes is aligned for its own dtype."""
        if not self.active or self.size == 1:
            return
        buffers = {id(b): b for module in modules for b in module.buffers()}  # shared ones once
        by_device: dict[torch.device, list[torch.Tensor]] = {}
        for buffer in sorted(buffers.values(), key=lambda b: -b.element_size()):
            by_device.setdefault(buffer.device, []).append(buffer)
        for device, group in by_device.items():
            flat = torch.cat([b.reshape(-1).view(torch.uint8) for b in group])
            _done(dist.broadcast(flat, src=0, group=self.control if device.type == "cpu" else None,
                                 async_op=True))
            if self.rank == 0:  # the source keeps its own
                continue
            offset = 0
            for b in group:
                size = b.numel() * b.element_size()
                b.copy_(flat[offset:offset + size].view(b.dtype).view_as(b))
                offset += size


SINGLE = World()
_current = SINGLE  # set by `join` for the run in progress
# DDP's per-forward buffer broadcast is off (see `World.settle`); PyTorch 2.13 renamed the switch
NO_FORWARD_SYNC = ({"forward_sync_buffers": False}
                   if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                   else {"broadcast_buffers": False})


def launched() -> bool:
    """Whether torchrun (or any launcher setting its variables) started this process."""
    return all(name in os.environ for name in ENVIRONMENT)


def pick_device(name: str, local_rank: int = 0, ranks: int = 1) -> torch.device:
    """`train.device` for this rank: with CUDA, "auto" and "cuda" mean this rank's own GPU (LOCAL_RANK)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and (ranks > 1 or launched()):
        return torch.device("cuda", local_rank)
    if name.startswith("cuda:") and ranks > 1:
        raise ConfigError(f"train.device={name} names one GPU, but {ranks} processes train together; use "
                          f"auto or cuda (each rank then takes cuda:LOCAL_RANK)")
    return torch.device(name)


def join(device_name: str) -> tuple[World, torch.device, bool]:
    """This process's World and device, joining torchrun's process group when it launched us.

    Returns (world, device, created): `created` says whether this call started the process group, which
    `leave` then ends. A process group someone else initialised (a test, a user's own script) is used as
    it is."""
    global _current
    if dist.is_available() and dist.is_initialized():
        rank, size = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        device = pick_device(device_name, local_rank, size)
        _current = _world(rank, size, local_rank)
        return _current, device, False
    if not launched():
        return SINGLE, pick_device(device_name), False
    rank, size, local_rank = (int(os.environ[name]) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    device = pick_device(device_name, local_rank, size)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    _current = _world(rank, size, local_rank)
    return _current, device, True


def _world(rank: int, size: int, local_rank: int) -> World:
    control = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else None
    return World(rank, size, local_rank, True, control)


def current() -> World:
    """The World of the run this process is in (`SINGLE` outside one): for code called from inside a run,
    such as its periodic evaluation."""
    return _current


def leave(created: bool) -> None:
    global _current
    _current = SINGLE
    if created and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: nn.Module, world: World, device: torch.device, find_unused: bool = False) -> nn.Module:
    """`module` as the training step calls it: in DDP when a process group is up (gradients averaged over
    the ranks during backward), itself otherwise. `find_unused` is for networks whose active part changes
    during a run (progressive growing): DDP then skips the parameters a step did not use."""
    if not world.active:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused, **NO_FORWARD_SYNC)


def sync_batch_norm(module: nn.Module, world: World, device: torch.device) -> nn.Module:
    """`module` with its batch norms computing statistics over the global batch (`train.sync_bn`)."""
    if device.type != "cuda":
        raise ConfigError("train.sync_bn needs CUDA (PyTorch's SyncBatchNorm runs on GPUs only); on the CPU "
                          "each rank normalises its own share of the batch")
    return nn.SyncBatchNorm.convert_sync_batchnorm(module) if world.active else module
