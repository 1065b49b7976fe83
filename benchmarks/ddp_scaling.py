"""Data-parallel scaling on the CPU: DCGAN 32x32, 2 ranks of one thread each (gloo DDP) against one process
of one thread, at the same global batch, for ganforge and for a plain PyTorch DDP loop of the same network
architecture, all measured in one run.

Two processes are started (torch.multiprocessing, gloo on 127.0.0.1). Rounds alternate over four rows: rank 0
alone trains `--steps` steps of ganforge's single-process Training while rank 1 waits at a barrier, then both
ranks train ganforge's distributed Training (each on half the global batch, each step overlapped with the stop
vote `ganforge train` has in flight during it); then the same for the plain loop
(`ganforge.plain_loop.PlainDCGAN`, the reference DCGAN loop, its G and D each in PyTorch's
`DistributedDataParallel` with its defaults). Images/s counts real images shown to D (the global batch per
step); the best round of each row is kept. The scaling ratio of each is 2 ranks over 1 rank; the target is
ganforge's ratio of at least 1.7 on 2 otherwise idle cores, about what a plain DDP loop of the same DCGAN
reached on such a machine (1.76).

The plain loop trains D's weights through G's step too (the reference loop does not freeze D), so its step
is heavier than ganforge's and its fixed costs per step weigh less: the ratio against its own single process,
not its images/s, is the yardstick.

On a loaded machine the wall-clock ratio says little (each rank waits for the other whenever either is
descheduled), so the CPU time each process spends per step (all its threads, gloo's included) is printed
too: on idle cores, where no rank waits for a core, the wall-clock ratio would approach the ratio of CPU
seconds per step, one rank alone against the busier DDP rank. That is a projection, labelled as such. The
load average is printed before and after, so every figure comes with the load it was taken under.

    python benchmarks/ddp_scaling.py [--steps 20] [--rounds 3] [--batch 64]
"""
from __future__ import annotations

import argparse
import os
import socket
import time
from typing import Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from ganforge.config import make_config
from ganforge.data import Dataset
from ganforge.engine.distributed import SINGLE, World
from ganforge.engine.training import Training
from ganforge.plain_loop import PlainDCGAN

TARGET = 1.7
IMAGES = 4096  # random 32x32 uint8 images: the data's content does not change the speed


def images() -> torch.Tensor:
    return torch.randint(0, 256, (IMAGES, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def ganforge_step(batch: int, world: World) -> Callable[[], None]:
    """One ganforge training step of DCGAN 32x32 at global batch `batch` (this rank's share of it), and
    when distributed the stop vote that `ganforge train` has in flight while a step trains."""
    config = make_config({"data": {"name": "fashion-mnist"}, "model": {"name": "dcgan", "z_dim": 100},
                          "train": {"batch_size": batch, "progress": False}})
    training = Training(config, Dataset(images(), None, 0, "random"), torch.device("cpu"), world)

    def step() -> None:
        vote = world.vote([False, False])  # nothing to agree on in one process: returns at once
        training.train_step()
        vote.result()

    return step


def plain_step(batch: int, world: World) -> Callable[[], None]:
    """One step of the plain loop at global batch `batch`: each rank draws its own `batch / ranks` images,
    and G and D sit in DistributedDataParallel (its defaults) when distributed."""
    loop = PlainDCGAN(seed=0)
    if world.active:  # the optimisers already hold the parameters that DDP wraps
        loop.G, loop.D = DistributedDataParallel(loop.G), DistributedDataParallel(loop.D)
    data, share = images(), batch // world.size
    order = torch.Generator().manual_seed(world.rank)

    def step() -> None:
        index = torch.randint(0, IMAGES, (share,), generator=order)
        loop.step(data[index].float() / 127.5 - 1)

    return step


def timed(step: Callable[[], object], steps: int, world: World) -> tuple[float, float]:
    """Wall seconds for `steps` steps (from a barrier to a barrier when distributed) and this process's CPU
    seconds during them."""
    if world.active:
        dist.barrier()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    cpu = time.process_time() - cpu
    if world.active:
        dist.barrier()
    return time.perf_counter() - start, cpu


ROWS = (("ganforge", ganforge_step), ("plain", plain_step))


def rank_main(rank: int, port: int, args: argparse.Namespace, results) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    world = World(rank, 2, rank, True)
    rows = {}  # (engine, ranks) -> (step, world); rank 1 holds no single-process rows
    for engine, make in ROWS:
        rows[engine, 1] = (make(args.batch, SINGLE) if rank == 0 else None, SINGLE)
        rows[engine, 2] = (make(args.batch, world), world)
    for step, _ in rows.values():  # warm-up: first steps allocate and fill caches
        for _ in range(2 if step is not None else 0):
            step()
    speed = {key: [] for key in rows}
    cpu = {key: [] for key in rows}
    for _ in range(args.rounds):
        for key, (step, row_world) in rows.items():
            dist.barrier()
            if step is None:
                continue
            wall, seconds = timed(step, args.steps, row_world)
            speed[key].append(args.batch * args.steps / wall)
            cpu[key].append(seconds / args.steps)
    results.put((rank, speed, {key: min(v) for key, v in cpu.items() if v}))
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed rounds of each row")
    parser.add_argument("--batch", type=int, default=64, help="global batch (each rank takes half)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    mp.start_processes(rank_main, args=(port, args, results), nprocs=2, start_method="spawn")
    reports = sorted(results.get() for _ in range(2))
    speed = reports[0][1]
    cpu = {key: max(report[2].get(key, 0.0) for report in reports) for key in speed}  # the busier rank
    load = f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    print(f"DCGAN 32x32, global batch {args.batch}, {args.steps} steps x {args.rounds} alternating rounds, "
          f"{os.cpu_count()} CPUs seen, torch {torch.__version__}, {load}")
    ratio, projected = {}, {}
    for engine, _ in ROWS:
        for ranks in (1, 2):
            rounds = speed[engine, ranks]
            print(f"{engine:8s} {ranks} rank{'s' if ranks > 1 else ' '} x 1 thread: {max(rounds):7.1f} images/s  "
                  f"CPU {cpu[engine, ranks]:.3f} s/step  (rounds: {', '.join(f'{v:.1f}' for v in rounds)})")
        ratio[engine] = max(speed[engine, 2]) / max(speed[engine, 1])
        projected[engine] = cpu[engine, 1] / cpu[engine, 2]
        print(f"{engine:8s} ratio 2/1 ranks: {ratio[engine]:.2f} wall clock, {projected[engine]:.2f} projected "
              f"from CPU time per step (1 rank / busier DDP rank)")
    ours, plain = ratio["ganforge"], ratio["plain"]
    print(f"summary: ganforge 2-rank scaling {ours:.2f}x (plain DDP loop {plain:.2f}x, ganforge/plain "
          f"{ours / plain:.2f}; projected {projected['ganforge']:.2f}x vs {projected['plain']:.2f}x); "
          f"target >= {TARGET:.2f}x: {'met' if ours >= TARGET else 'missed'}; {load}")


if __name__ == "__main__":
    main()
