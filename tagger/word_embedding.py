"""Word embeddings: trained rows for the training words, and a frozen pretrained table for all other words.

Fine-tuning a whole pretrained table (400,000 x 50 for GloVe 6B) makes every optimizer
step update 20 million weights, although only the training words ever get a gradient.
Here only the training words have trained rows (initialised from their pretrained
vectors); a word training never saw reads its pretrained vector from a table that is a
buffer, never a parameter. A training word replaced by <unk> (word or singleton dropout)
reads its pretrained vector too, where it has one, so the network learns to tag from the
frozen vectors as it will have to for unseen words.
"""

from __future__ import annotations

import torch
from torch import nn

from tagger.vocab import UNKNOWN_ID


class WordEmbedding(nn.Embedding):
    """An nn.Embedding of the trained words (`weight`, saved as before) with an optional frozen table.

    Ids at or beyond `num_embeddings` are rows of the table (id - num_embeddings).
    """

    def __init__(self, words: int, dim: int) -> None:
        super().__init__(words, dim, padding_idx=0)
        # Constants that come from the model directory's vectors file, not from the weights.
        self.register_buffer("table", torch.zeros(0, dim), persistent=False)
        self.register_buffer("table_rows", torch.zeros(0, dtype=torch.long), persistent=False)

    def attach_table(self, table: torch.Tensor, table_rows: torch.Tensor | None = None) -> None:
        """table (rows, dim): the frozen vectors; table_rows (words,): each trained word's row there or -1.

        `table_rows` is needed for training only (what a dropped word falls back to).
        """
        if table.size(1) != self.embedding_dim:
            raise ValueError(f"the table has {table.size(1)} dimensions, the words {self.embedding_dim}")
        device = self.weight.device
        self.table = table.to(device=device, dtype=self.weight.dtype)
        rows = table_rows if table_rows is not None else torch.full((self.num_embeddings,), -1, dtype=torch.long)
        self.table_rows = rows.to(device)

    @property
    def has_table(self) -> bool:
        return self.table.size(0) > 0

    def forward(self, ids: torch.Tensor, dropped: torch.Tensor | None = None) -> torch.Tensor:
        """ids (batch, time), dropped (batch, time) bool or None -> vectors (batch, time, dim).

        `dropped`: tokens that word dropout reads as unknown (training only).
        """
        if not self.has_table:
            return super().forward(ids if dropped is None else ids.masked_fill(dropped, UNKNOWN_ID))
        count = self.num_embeddings
        beyond = ids >= count
        own = ids.clamp(max=count - 1)
        rows = ids - count
        if dropped is None:
            from_table, unknown = beyond, beyond
        else:
            rows = torch.where(beyond, rows, self.table_rows[own])
            from_table, unknown = beyond | (dropped & (rows >= 0)), beyond | dropped
        pretrained = nn.functional.embedding(rows.clamp(min=0), self.table)
        return torch.where(from_table.unsqueeze(-1), pretrained, super().forward(own.masked_fill(unknown, UNKNOWN_ID)))
