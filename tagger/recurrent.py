"""Bidirectional LSTM/GRU layers over batches padded at the end.

On packed sequences PyTorch's CPU LSTM steps through time with a shrinking batch; on
plain padded input it runs oneDNN's fused kernel, which trains a BiLSTM of 256 at batch
32 two to two and a half times as fast on 2 cores, and tags 2 to 2.6 times as fast at
batch 256. So an LSTM runs on the padded batch, with the packed results: the forward
direction meets padding only after each sequence's end, and the backward direction
reads each sequence reversed within its length, so it too starts at the sequence's last
real element. A GRU has no oneDNN kernel: two unidirectional passes were slower than
one packed call (a BiGRU of 64 tagged at batch 256 in 1.3 to 1.6 times the time), so it
stays packed. The parameters stay those of the bidirectional nn.LSTM / nn.GRU
(`weight_ih_l0`, `weight_ih_l0_reverse`, ...), so models saved before read the same.

The ONNX export cannot express packing or the fused call; SplitBidirectional is the same
computation as unidirectional modules per layer and direction, the traceable form.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def reverse_index(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """(batch, time) positions that reverse each sequence within its length (padding stays in place)."""
    positions = torch.arange(steps, device=lengths.device).unsqueeze(0)
    last = lengths.unsqueeze(1) - 1
    return torch.where(positions <= last, last - positions, positions)


def gather_time(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (batch, time, features) reordered along time by index (batch, time)."""
    return values.gather(1, index.unsqueeze(2).expand(-1, -1, values.size(2)))


def _one_direction(lstm: nn.LSTM, inputs: torch.Tensor, layer: int, suffix: str) -> torch.Tensor:
    """inputs (batch, time, features) -> states (batch, time, hidden) of one direction of one layer."""
    names = _PARAMETERS if lstm.bias else _PARAMETERS[:2]
    weights = [getattr(lstm, f"{name}_l{layer}{suffix}") for name in names]
    initial = inputs.new_zeros(1, inputs.size(0), lstm.hidden_size)
    states, _, _ = torch.lstm(inputs, (initial, initial), weights, lstm.bias, 1, 0.0, lstm.training, False, True)
    return states


def bidirectional(rnn: nn.LSTM | nn.GRU, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Run a bidirectional, batch-first `rnn` with its own parameters and dropout between layers.

    inputs (batch, time, features), each sequence padded at its end; lengths (batch,) ->
    states (batch, time, 2 * hidden), forward then backward, 0 past each sequence's end.
    """
    if isinstance(rnn, nn.LSTM):
        return _padded_lstm(rnn, inputs, lengths)
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    states, _ = pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=inputs.size(1))
    return states


def _padded_lstm(rnn: nn.LSTM, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """bidirectional() for an LSTM, without packing: each direction of each layer as one oneDNN call."""
    lengths = lengths.to(inputs.device)
    reverse = reverse_index(lengths, inputs.size(1))
    for layer in range(rnn.num_layers):
        if layer > 0:
            inputs = nn.functional.dropout(inputs, rnn.dropout, rnn.training)
        ahead = _one_direction(rnn, inputs, layer, "")
        behind = _one_direction(rnn, gather_time(inputs, reverse), layer, "_reverse")
        inputs = torch.cat([ahead, gather_time(behind, reverse)], dim=2)
    real = torch.arange(inputs.size(1), device=inputs.device).unsqueeze(0) < lengths.unsqueeze(1)
    return inputs * real.unsqueeze(2)


class SplitBidirectional(nn.Module):
    """A bidirectional nn.LSTM / nn.GRU as two unidirectional ones per layer (for export; inference only)."""

    def __init__(self, rnn: nn.LSTM | nn.GRU) -> None:
        super().__init__()
        cell = type(rnn)
        self.layers = nn.ModuleList()
        for layer in range(rnn.num_layers):
            size = rnn.input_size if layer == 0 else 2 * rnn.hidden_size
            pair = nn.ModuleList([cell(size, rnn.hidden_size, batch_first=True) for _ in range(2)])
            for direction, suffix in zip(pair, ("", "_reverse")):
                for name in _PARAMETERS:
                    getattr(direction, f"{name}_l0").data.copy_(getattr(rnn, f"{name}_l{layer}{suffix}").data)
            self.layers.append(pair)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """inputs (batch, time, features), lengths (batch,) -> states (batch, time, 2 * hidden)."""
        reverse = reverse_index(lengths, inputs.size(1))
        for forward_rnn, backward_rnn in self.layers:
            ahead, _ = forward_rnn(inputs)
            behind, _ = backward_rnn(gather_time(inputs, reverse))
            inputs = torch.cat([ahead, gather_time(behind, reverse)], dim=2)
        return inputs
