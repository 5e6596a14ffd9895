"""Running under `torchrun`: process group set-up, this process's rank, and small collectives.

Without torchrun (no WORLD_SIZE in the environment) everything here is a no-op for one
process, so the same code paths serve single-process and distributed runs.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from tagger.world import SINGLE, World, launched_by_torchrun  # noqa: F401  (distributed's API too)


def start(device: torch.device) -> World:
    """Join the process group that torchrun set up: nccl on CUDA, gloo on CPU."""
    if not launched_by_torchrun():
        return SINGLE
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def device_for(world_device: torch.device) -> torch.device:
    """Under torchrun with CUDA, each process takes the GPU of its local rank."""
    if world_device.type == "cuda" and launched_by_torchrun():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return world_device


def broadcast_flag(world: World, value: bool, device: torch.device) -> bool:
    """Rank 0's decision (say, early stopping), the same on every rank."""
    return bool(broadcast_number(world, int(value), device))


def broadcast_number(world: World, value: int, device: torch.device) -> int:
    """Rank 0's integer (say, a planned number of steps), the same on every rank."""
    if not world.distributed:
        return value
    number = torch.tensor([value], dtype=torch.long, device=device)
    dist.broadcast(number, src=0)
    return int(number.item())


def rng_states(world: World) -> list[dict[str, torch.Tensor]]:
    """Every rank's random-generator states (CPU, and its own GPU), gathered on every rank."""
    own = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        own["cuda"] = torch.cuda.get_rng_state()
    if not world.distributed:
        return [own]
    gathered: list = [None] * world.size
    dist.all_gather_object(gathered, own)
    return gathered


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def stop(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
