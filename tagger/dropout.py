"""Dropout drawn from uniform random numbers, which PyTorch makes faster on CPU than Bernoulli ones."""

from __future__ import annotations

import torch
from torch import nn


class Dropout(nn.Module):
    """nn.Dropout's behaviour (zero each value with chance p, scale the rest by 1 / (1 - p) while training).

    nn.Dropout draws its mask with `bernoulli_`, which took 13 % of a CoNLL-2003 training
    step on 2 CPU cores; comparing uniform draws with p makes the same kind of mask about
    3.5 times as fast. No parameters or buffers: saved models are unchanged.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """values (any shape) -> values of the same shape, some zeroed and the rest scaled while training."""
        if not self.training or self.p == 0:
            return values
        if self.p >= 1:
            return torch.zeros_like(values)
        keep = torch.rand_like(values) >= self.p
        return values * keep / (1 - self.p)
