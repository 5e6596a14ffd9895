"""Bidirectional LSTM/GRU layers over batches padded at the end, without packed sequences.

On packed sequences PyTorch's CPU LSTM steps through time with a shrinking batch; on
plain padded input it runs oneDNN's fused kernel, which trains a BiLSTM of 256 at batch
32 two to two and a half times as fast on 2 cores (the GRU gains less). The results are
the packed ones: the forward direction meets padding only after each sequence's end,
and the backward direction reads each sequence reversed within its length, so it too
starts at the sequence's last real element. The parameters stay those of the
bidirectional nn.LSTM / nn.GRU (`weight_ih_l0`, `weight_ih_l0_reverse`, ...), so models
saved before read the same.
"""

from __future__ import annotations

import torch
from torch import nn

_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def reverse_index(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """(batch, time) positions that reverse each sequence within its length (padding stays in place)."""
    positions = torch.arange(steps, device=lengths.device).unsqueeze(0)
    last = lengths.unsqueeze(1) - 1
    return torch.where(positions <= last, last - positions, positions)


def gather_time(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (batch, time, features) reordered along time by index (batch, time)."""
    return values.gather(1, index.unsqueeze(2).expand(-1, -1, values.size(2)))


def _one_direction(rnn: nn.RNNBase, inputs: torch.Tensor, layer: int, suffix: str) -> torch.Tensor:
    """inputs (batch, time, features) -> states (batch, time, hidden) of one direction of one layer."""
    names = _PARAMETERS if rnn.bias else _PARAMETERS[:2]
    weights = [getattr(rnn, f"{name}_l{layer}{suffix}") for name in names]
    initial = inputs.new_zeros(1, inputs.size(0), rnn.hidden_size)
    if isinstance(rnn, nn.LSTM):
        states, _, _ = torch.lstm(inputs, (initial, initial), weights, rnn.bias, 1, 0.0, rnn.training, False, True)
    else:
        states, _ = torch.gru(inputs, initial, weights, rnn.bias, 1, 0.0, rnn.training, False, True)
    return states


def bidirectional(rnn: nn.LSTM | nn.GRU, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Run a bidirectional, batch-first `rnn` with its own parameters and dropout between layers.

    inputs (batch, time, features), each sequence padded at its end; lengths (batch,) ->
    states (batch, time, 2 * hidden), forward then backward, 0 past each sequence's end.
    """
    reverse = reverse_index(lengths.to(inputs.device), inputs.size(1))
    for layer in range(rnn.num_layers):
        if layer > 0:
            inputs = nn.functional.dropout(inputs, rnn.dropout, rnn.training)
        ahead = _one_direction(rnn, inputs, layer, "")
        behind = _one_direction(rnn, gather_time(inputs, reverse), layer, "_reverse")
        inputs = torch.cat([ahead, gather_time(behind, reverse)], dim=2)
    real = torch.arange(inputs.size(1), device=inputs.device).unsqueeze(0) < lengths.to(inputs.device).unsqueeze(1)
    return inputs * real.unsqueeze(2)
