"""The tagger network: word, case and character features, a BiLSTM/BiGRU stack, softmax or CRF."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from tagger import network
from tagger.batching import Batch, Encoded, bucketed_groups, collate_arrays
from tagger.char_lm import SentenceSequences, sentence_sequences
from tagger.config import ModelConfig
from tagger.crf import CRF, TransitionConstraints, viterbi
from tagger.dropout import Dropout
from tagger.recurrent import bidirectional
from tagger.vocab import CASES
from tagger.word_embedding import WordEmbedding


class DecodingScores(NamedTuple):
    """A head's chain scores: start (labels,), transitions (previous label, label), end (labels,)."""

    start: torch.Tensor
    transitions: torch.Tensor
    end: torch.Tensor
    log_softmax: bool  # the chain reads log-probabilities (softmax head), not the raw emissions

    def emissions(self, emissions: torch.Tensor) -> torch.Tensor:
        """The per-token scores the chain reads: emissions (batch, time, labels) -> the same shape."""
        return emissions.log_softmax(dim=2) if self.log_softmax else emissions


class CharCNN(nn.Module):
    """Character embeddings, one convolution of width 3, max-pooled over the word."""

    def __init__(self, chars: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(chars, dim, padding_idx=0)
        self.conv = nn.Conv1d(dim, hidden, kernel_size=3, padding=1)
        self.output_dim = hidden

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """(words, max characters) ids, left-aligned and 0-padded -> (words, hidden)."""
        # The words are convolved as one sequence, each followed by a single padding
        # character, rather than each padded to the batch's longest word (4 to 8 times the
        # work on CoNLL-2003). The features are the same: padding embeds to zeros, as the
        # convolution's own padding does.
        lengths = (chars != 0).sum(1)
        with_separator = nn.functional.pad(chars, (0, 1))
        keep = torch.arange(with_separator.size(1), device=chars.device) <= lengths.unsqueeze(1)
        sequence = with_separator[keep]  # word 1, 0, word 2, 0, ...
        features = self.conv(self.embedding(sequence).T.unsqueeze(0)).squeeze(0).T  # (positions, hidden)
        real = sequence != 0
        owners = torch.repeat_interleave(torch.arange(len(chars), device=chars.device), lengths + 1, output_size=len(sequence))[
            real
        ]
        features = features[real]
        pooled = features.new_zeros(len(chars), features.size(1))
        return pooled.scatter_reduce(0, owners.unsqueeze(1).expand_as(features), features, "amax", include_self=False)


class CharLSTM(nn.Module):
    """A BiLSTM over each word's characters; its two final states describe the word."""

    def __init__(self, chars: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(chars, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.output_dim = 2 * hidden

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """(words, max characters) ids, left-aligned and 0-padded -> (words, 2 * hidden)."""
        lengths = (chars != 0).sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.embedding(chars), lengths, batch_first=True, enforce_sorted=False)
        _, (final, _) = self.lstm(packed)
        return torch.cat([final[0], final[1]], dim=1)


class CharLMFeatures(nn.Module):
    """A pretrained character language model (tagger.char_lm), frozen: each word's forward state at the space after
    it and backward state at the space before it, the sentence read as ` w1 w2 ... wn `."""

    def __init__(self, chars: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(chars, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.requires_grad_(False)
        self.output_dim = 2 * hidden
        self.cache: dict[bytes, torch.Tensor] | None = None  # features by sentence, while training (cache_features)
        self.cache_for: list[Encoded] | None = None

    def train(self, mode: bool = True) -> CharLMFeatures:
        """Always in inference mode: the LM is frozen, whether or not the tagger is training."""
        return super().train(False)

    def load(self, embedding: np.ndarray, lstm: dict[str, np.ndarray]) -> None:
        """The LM's embedding (re-indexed by the tagger's characters) and its LSTM weights (names without `lstm.`)."""
        with torch.no_grad():
            self.embedding.weight.copy_(torch.from_numpy(embedding))
            for name, values in lstm.items():
                getattr(self.lstm, name).copy_(torch.from_numpy(values))

    def forward(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """chars (tokens, max characters) of the mask's tokens, mask (batch, time) -> (tokens, 2 * hidden)."""
        sequences = sentence_sequences(chars.cpu().numpy(), mask.cpu().numpy())
        self.fill_cache()
        if self.cache is not None:
            keys = [row[:length].tobytes() for row, length in zip(sequences.ids, sequences.lengths)]
            if all(key in self.cache for key in keys):
                return torch.cat([self.cache[key] for key in keys]).to(chars.device)
        return self._states(sequences, chars.device)

    def _states(self, sequences: SentenceSequences, device: torch.device) -> torch.Tensor:
        """The features of every token of `sequences`: (tokens, 2 * hidden)."""
        with torch.no_grad():
            ids = torch.from_numpy(sequences.ids).to(device)
            states = bidirectional(self.lstm, self.embedding(ids), torch.from_numpy(sequences.lengths).to(device))
            flat = states.reshape(-1, states.size(2))
            hidden = self.lstm.hidden_size
            after = torch.from_numpy(sequences.after).to(device)
            before = torch.from_numpy(sequences.before).to(device)
            return torch.cat([flat[after, :hidden], flat[before, hidden:]], dim=1)

    def cache_features(self, items: Sequence[Encoded]) -> None:
        """Compute the features of `items` once, at the first forward pass (the weights are final then, a resumed
        run's restored from its checkpoint), in batches fixed by the items alone, and keep them.

        The LM is frozen, so a training sentence's features are the same in every epoch: with
        the cache a step costs what it costs without the LM. A resumed run fills it the same
        way, so that it trains on the same numbers as the run it continues.
        """
        self.cache_for = list(items)

    def fill_cache(self, batch_size: int = 64) -> None:
        """Compute the features cache_features asked for, if not done yet (training calls it once the weights are
        final, before timing a dev evaluation for its budget; the first forward pass calls it otherwise)."""
        if self.cache_for is None:
            return
        items, self.cache_for = self.cache_for, None
        self.cache = {}
        for group in bucketed_groups(items, batch_size):
            arrays = collate_arrays([items[index] for index in group], group)
            sequences = sentence_sequences(arrays.chars, arrays.mask)
            features = self._states(sequences, torch.device("cpu"))
            for row, length, part in zip(sequences.ids, sequences.lengths, features.split(arrays.lengths.tolist())):
                self.cache[row[:length].tobytes()] = part.clone()


class OutputHead(nn.Module):
    """A second (third, ...) head over the shared encoder: its output layer, its CRF or its constraints."""

    def __init__(self, states: int, labels: list[str], scheme: str | None, crf: bool) -> None:
        super().__init__()
        self.labels = labels
        self.output = nn.Linear(states, len(labels))
        self.crf = CRF(labels, scheme) if crf else None
        self.constraints = TransitionConstraints(labels, scheme) if self.crf is None and scheme else None


class TaggerModel(nn.Module):
    """Scores every label for every token; decodes with Viterbi (constrained for span labels).

    A model with several heads (parts of speech and entities from one encoder) has the
    first head's layers as `output` and `crf`, and each other head's in `heads[NAME]`.
    """

    def __init__(
        self,
        config: ModelConfig,
        words: int,
        chars: int,
        labels: list[str],
        scheme: str | None,
        more_heads: dict[str, tuple[list[str], str | None]] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.labels = labels
        self.scheme = scheme
        self.words = WordEmbedding(words, config.word_dim)
        # Set here, not where the vectors are read, so that a resumed run (which reads none)
        # trains the same parameters as the run it continues.
        self.words.weight.requires_grad_(not (config.vectors and config.freeze_vectors))
        self.cases = nn.Embedding(len(CASES), config.case_dim, padding_idx=0) if config.case_dim else None
        self.chars = self._char_encoder(config, chars)
        self.char_lm = CharLMFeatures(chars, config.char_lm_dim, config.char_lm_hidden) if config.char_lm_hidden else None
        features = network.feature_dim(network.layers(config, words, chars, len(labels)))
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        between = config.dropout if config.layers > 1 else 0.0
        self.rnn = rnn(features, config.hidden, config.layers, batch_first=True, bidirectional=True, dropout=between)
        self.dropout = Dropout(config.dropout)
        self.output = nn.Linear(2 * config.hidden, len(labels))
        self.crf = CRF(labels, scheme) if config.crf else None
        # the softmax head decodes under the scheme's constraints too (the CRF holds its own)
        self.constraints = TransitionConstraints(labels, scheme) if self.crf is None and scheme else None
        states = 2 * config.hidden
        more_heads = more_heads or {}
        self.heads = nn.ModuleDict({name: OutputHead(states, *more_heads[name], config.crf) for name in more_heads})
        self.register_buffer("singletons", torch.zeros(words, dtype=torch.bool), persistent=False)

    @staticmethod
    def _char_encoder(config: ModelConfig, chars: int) -> nn.Module | None:
        if config.char_encoder == "cnn":
            return CharCNN(chars, config.char_dim, config.char_hidden)
        if config.char_encoder == "lstm":
            return CharLSTM(chars, config.char_dim, config.char_hidden)
        return None

    def set_pretrained(self, vectors: torch.Tensor) -> None:
        """Copy pretrained vectors (rows, word_dim) into the first trained word rows they cover."""
        with torch.no_grad():
            self.words.weight[: vectors.size(0)].copy_(vectors)

    def mark_singletons(self, word_ids: list[int]) -> None:
        """Words seen once in training: `singleton_dropout` reads them as unknown while training."""
        self.singletons.zero_()
        self.singletons[torch.tensor(word_ids, dtype=torch.long)] = True

    def _dropped_words(self, batch: Batch) -> torch.Tensor | None:
        """(batch, time) bool: the words read as <unk> (or as their frozen pretrained vector) in this step, so
        that the model learns to tag unseen words from their characters, case and context (word dropout, and
        Lample et al.'s singleton replacement); None when nothing is dropped."""
        words, config = batch.words, self.config
        if not self.training or (config.word_dropout <= 0 and config.singleton_dropout <= 0):
            return None
        chance = torch.full(words.shape, config.word_dropout, device=words.device)
        singletons = self.singletons[words.clamp(max=self.singletons.size(0) - 1)] & (words < self.singletons.size(0))
        chance = chance.masked_fill(singletons, max(config.word_dropout, config.singleton_dropout))
        drop = torch.rand(words.shape, device=words.device) < chance
        return drop & batch.mask

    def features(self, batch: Batch) -> torch.Tensor:
        """Token features (batch, time, word_dim + case_dim + character and character LM features), dropout applied."""
        parts = [self.words(batch.words, self._dropped_words(batch))]
        if self.cases is not None:
            parts.append(self.cases(batch.cases))
        per_word = [self.chars(batch.chars)] if self.chars is not None else []
        if self.char_lm is not None:
            per_word.append(self.char_lm(batch.chars, batch.mask))
        for per_token in per_word:  # (tokens, features) -> (batch, time, features)
            grid = per_token.new_zeros(*batch.words.shape, per_token.size(1))
            grid[batch.mask] = per_token
            parts.append(grid)
        return self.dropout(torch.cat(parts, dim=2))

    def encode(self, batch: Batch) -> torch.Tensor:
        """The encoder's states (batch, time, 2 * hidden), dropout applied: what every head reads."""
        return self.dropout(bidirectional(self.rnn, self.features(batch), batch.lengths))

    def forward(self, batch: Batch) -> torch.Tensor:
        """The first head's emission scores (batch, time, labels)."""
        return self.output(self.encode(batch))

    def head_parts(self, head: str | None) -> tuple[nn.Linear, CRF | None, TransitionConstraints | None]:
        """A head's output layer, CRF and constraints; None (or the first head's name) is the first head."""
        if head is None or head not in self.heads:
            return self.output, self.crf, self.constraints
        own = self.heads[head]
        return own.output, own.crf, own.constraints

    def head_emissions(self, states: torch.Tensor, head: str | None) -> torch.Tensor:
        """states (batch, time, 2 * hidden) -> the head's emission scores (batch, time, its labels)."""
        return self.head_parts(head)[0](states)

    def loss(self, batch: Batch) -> torch.Tensor:
        """Training loss per sentence (CRF negative log-likelihood, or cross-entropy).

        With `batch.allowed`, tokens that may take any of several labels (partial annotation)
        count the probability of all of them: log-summed over paths for the CRF, summed
        per token for the softmax. With `batch.heads`, each sentence trains its own head.
        """
        states = self.encode(batch)
        if batch.heads is None or not len(self.heads):
            return self._head_loss(None, states, batch.labels, batch.mask, batch.allowed) / batch.words.size(0)
        total = states.new_zeros(())
        for index, head in enumerate([None, *self.heads]):
            rows = batch.heads == index
            if rows.any():
                allowed = batch.allowed[rows] if batch.allowed is not None else None
                total = total + self._head_loss(head, states[rows], batch.labels[rows], batch.mask[rows], allowed)
        return total / batch.words.size(0)

    def _head_loss(
        self, head: str | None, states: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, allowed: torch.Tensor | None
    ) -> torch.Tensor:
        """The summed loss of one head's sentences: states (batch, time, 2 * hidden), labels and mask (batch, time),
        allowed (batch, time, ids) or None."""
        output, crf, _ = self.head_parts(head)
        emissions = output(states)
        if allowed is not None:
            count = emissions.size(2)
            allowed = nn.functional.pad(allowed, (0, max(count - allowed.size(2), 0)))[..., :count]
        if crf is not None:
            return crf.neg_log_likelihood(emissions, labels, mask, allowed)
        if allowed is not None:
            log_probabilities = emissions.log_softmax(dim=2).masked_fill(~allowed, -float("inf"))
            return -torch.logsumexp(log_probabilities, dim=2)[mask].sum()
        return nn.functional.cross_entropy(emissions[mask], labels[mask], reduction="sum")

    def decoding_scores(self, head: str | None = None) -> DecodingScores | None:
        """The scores Viterbi and the posterior take besides the emissions, constraints included.

        The CRF's start, transitions and end, or for the softmax head its scheme's
        constraints over log-probabilities; None for a softmax head without a scheme,
        whose labels are each token's argmax.
        """
        _, crf, constraints = self.head_parts(head)
        if crf is not None:
            start, transitions, end = crf.scores()
            return DecodingScores(start, transitions, end, log_softmax=False)
        if constraints is None:
            return None
        return DecodingScores(constraints.start, constraints.pairs, constraints.end, log_softmax=True)

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor, head: str | None = None) -> torch.Tensor:
        """Label ids (batch, time): CRF Viterbi, or Viterbi over softmax scores with the scheme's constraints."""
        scores = self.decoding_scores(head)
        if scores is None:
            return emissions.argmax(dim=2) * mask.long()
        return viterbi(scores.emissions(emissions), mask, scores.start, scores.transitions, scores.end)
