"""Data-parallel scaling on the CPU: DCGAN 32x32, 2 ranks of one thread each (gloo DDP) against one process
of one thread, at the same global batch, measured in one run.

Two processes are started (torch.multiprocessing, gloo on 127.0.0.1). Rounds alternate: rank 0 alone trains
`--steps` steps of a single-process Training while rank 1 waits at a barrier, then both ranks train the
same number of steps of a distributed Training (each on half the global batch). Images/s counts real images
shown to D (the global batch per step); the best round of each is printed with the ratio. The target of
issue 14 is a ratio of at least 1.7 (85% scaling) on 2 otherwise idle cores.

On a loaded machine the wall-clock ratio says little (each rank waits for the other whenever either is
descheduled), so the CPU time each process spends per step (all its threads, gloo's included) is printed
too: on idle cores, where no rank waits for a core, the wall-clock ratio would approach the ratio of CPU
seconds per step, one rank alone against the busier DDP rank. That is a projection, labelled as such.

    python benchmarks/ddp_scaling.py [--steps 20] [--rounds 3] [--batch 64]
"""
from __future__ import annotations

import argparse
import os
import socket
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ganforge.config import make_config
from ganforge.data import Dataset
from ganforge.engine.distributed import SINGLE, World
from ganforge.engine.training import Training


def training(batch: int, world: World) -> Training:
    config = make_config({"data": {"name": "fashion-mnist"}, "model": {"name": "dcgan", "z_dim": 100},
                          "train": {"batch_size": batch, "progress": False}})
    images = Dataset(torch.randint(0, 256, (4096, 1, 32, 32), dtype=torch.uint8,
                                   generator=torch.Generator().manual_seed(0)), None, 0, "random")
    return Training(config, images, torch.device("cpu"), world)


def timed(t: Training, steps: int, world: World) -> tuple[float, float]:
    """Wall seconds for `steps` steps (from a barrier to a barrier when distributed) and this process's CPU
    seconds during them."""
    if world.active:
        dist.barrier()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        t.train_step()
    cpu = time.process_time() - cpu
    if world.active:
        dist.barrier()
    return time.perf_counter() - start, cpu


def rank_main(rank: int, port: int, args: argparse.Namespace, results) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    world = World(rank, 2, rank, True)
    single = training(args.batch, SINGLE) if rank == 0 else None
    ddp = training(args.batch, world)
    for t in (single, ddp):  # warm-up: first steps allocate and fill caches
        if t is not None:
            for _ in range(2):
                t.train_step()
    one, two, cpu_one, cpu_two = [], [], [], []
    for _ in range(args.rounds):
        dist.barrier()
        if rank == 0:
            wall, cpu = timed(single, args.steps, SINGLE)
            one.append(args.batch * args.steps / wall)
            cpu_one.append(cpu / args.steps)
        dist.barrier()
        wall, cpu = timed(ddp, args.steps, world)
        two.append(args.batch * args.steps / wall)
        cpu_two.append(cpu / args.steps)
    results.put((rank, one, two, min(cpu_one, default=0.0), min(cpu_two)))
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed rounds of each")
    parser.add_argument("--batch", type=int, default=64, help="global batch (each rank takes half)")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    mp.start_processes(rank_main, args=(port, args, results), nprocs=2, start_method="spawn")
    reports = sorted(results.get() for _ in range(2))
    _, one, two, cpu_one, _ = reports[0]
    cpu_two = max(report[4] for report in reports)
    print(f"DCGAN 32x32, global batch {args.batch}, {args.steps} steps x {args.rounds} alternating rounds, "
          f"{os.cpu_count()} CPUs seen, torch {torch.__version__}")
    print(f"1 rank  x 1 thread : {max(one):8.1f} images/s  (rounds: {', '.join(f'{v:.1f}' for v in one)})")
    print(f"2 ranks x 1 thread : {max(two):8.1f} images/s  (rounds: {', '.join(f'{v:.1f}' for v in two)})")
    print(f"ratio              : {max(two) / max(one):8.2f}  (target >= 1.70; wall clock, this machine's load included)")
    print(f"CPU s per step     : 1 rank {cpu_one:.3f}, busier of 2 ranks {cpu_two:.3f} (best rounds)")
    print(f"projected ratio    : {cpu_one / cpu_two:8.2f}  (CPU time per step, 1 rank / busier DDP rank: the idle-core "
          f"wall-clock ratio if no rank waited)")


if __name__ == "__main__":
    main()
