"""`tagger pretrain`: a forward and a backward character language model trained on plain text.

The text of every file is read whole (xz, gzip and bz2 too), its whitespace runs read as
one space, its characters counted: those seen at least `min_count` times get ids (by
frequency), the rest read as unknown. The tail of each file (a tenth, at most 100,000
characters) is held out for perplexity. Each step trains on `batch_size` windows of
`window` characters drawn at random positions by a generator seeded with (seed, step):
the batches do not depend on how the run was split into processes, so a resumed run
reaches the weights of an unbroken one. No dropout; Adam, the learning rate falling
linearly to a tenth over the planned steps. A checkpoint (tagger.training.checkpoint)
and the LM files are written every `eval_every` steps and at the end.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tagger.char_lm import LM_CONFIG, LM_SPACE, LM_UNKNOWN, LM_WEIGHTS, lm_description
from tagger.errors import Interrupted, TaggerError, interrupt_exit_code
from tagger.files import directory_lock, read_text_chunks
from tagger.model_files import ModelDirError, read_json_object
from tagger.store import remove_stale_temporaries, write_json, write_weights
from tagger.training import checkpoint
from tagger.training.checkpoint import TrainingProgress

OPTIONS = "pretrain.json"
_WHITESPACE = re.compile(r"\s+")
MAX_HELD_OUT = 100_000
SPEED_PROBE_STEPS = 10


@dataclass
class PretrainOptions:
    """How an LM is trained; saved in the run directory (pretrain.json) so that --resume continues it as it was."""

    files: list[str] = field(default_factory=list)
    hidden: int = 256
    dim: int = 32
    window: int = 250
    batch_size: int = 32
    lr: float = 0.002
    steps: int = 0  # the planned steps; 0: planned from the measured speed to fit max_minutes
    max_minutes: float = 0.0  # stop (resumable) when the wall clock passes it
    min_count: int = 5
    max_chars: int = 300
    eval_every: int = 500
    seed: int = 1

    def check(self) -> None:
        if not self.files:
            raise TaggerError("pretrain: name at least one text file")
        if self.steps <= 0 and self.max_minutes <= 0:
            raise TaggerError("pretrain: give --steps or --max-minutes (the run's length)")
        for name in ("hidden", "dim", "window", "batch_size", "min_count", "max_chars", "eval_every"):
            if not 0 < getattr(self, name) <= 100_000:
                raise TaggerError(f"pretrain: {name} must be between 1 and 100,000")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise TaggerError("pretrain: the learning rate must be a positive number")


class CharLanguageModel(nn.Module):
    """Character embedding, one bidirectional LSTM layer, an output layer per direction (names as in char_lm)."""

    def __init__(self, chars: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(chars, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.forward_output = nn.Linear(hidden, chars)
        self.backward_output = nn.Linear(hidden, chars)

    def losses(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ids (batch, window) -> mean cross-entropy (nats per character) of each direction's predictions.

        The forward state at t predicts character t + 1; the backward state at t, which has
        read the window from its end to t, predicts character t - 1.
        """
        states, _ = self.lstm(self.embedding(ids))  # (batch, window, 2 hidden)
        hidden = self.lstm.hidden_size
        ahead = self.forward_output(states[:, :-1, :hidden])
        behind = self.backward_output(states[:, 1:, hidden:])
        chars = ahead.size(2)
        forward_loss = nn.functional.cross_entropy(ahead.reshape(-1, chars), ids[:, 1:].reshape(-1))
        backward_loss = nn.functional.cross_entropy(behind.reshape(-1, chars), ids[:, :-1].reshape(-1))
        return forward_loss, backward_loss


@dataclass
class Corpus:
    """The text as LM ids: the training part of every file joined by spaces, and the held-out parts."""

    chars: list[str]
    train: np.ndarray
    held_out: np.ndarray


def _file_text(path: str) -> str:
    return _WHITESPACE.sub(" ", "".join(read_text_chunks(path))).strip()


def choose_chars(texts: list[str], min_count: int, max_chars: int) -> list[str]:
    """The LM's characters: unknown (id 0), the space (id 1), then those seen `min_count` times, most frequent first."""
    counts: dict[int, int] = {}
    for text in texts:
        points, numbers = np.unique(_code_points(text), return_counts=True)
        for point, number in zip(points.tolist(), numbers.tolist()):
            counts[point] = counts.get(point, 0) + number
    counts.pop(ord(" "), None)
    kept = sorted((point for point, number in counts.items() if number >= min_count), key=lambda p: (-counts[p], p))
    return ["", " ", *(chr(point) for point in kept[: max_chars - 2])]


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def encode(text: str, chars: list[str]) -> np.ndarray:
    """A text's LM ids (int16 when they fit); characters the LM lacks read as unknown."""
    points = np.array([ord(char) for char in chars[1:]], dtype=np.uint32)
    order = np.argsort(points)
    sorted_points, ids = points[order], order + 1
    found = _code_points(text)
    where = np.minimum(np.searchsorted(sorted_points, found), len(sorted_points) - 1)
    encoded = np.where(sorted_points[where] == found, ids[where], LM_UNKNOWN)
    return encoded.astype(np.int16 if len(chars) < 2**15 else np.int32)


def read_corpus(files: list[str], chars: list[str] | None, min_count: int, max_chars: int) -> Corpus:
    """Every file's text, split into a training part and a held-out tail, as ids (`chars` chosen here if None)."""
    texts = [_file_text(path) for path in files]
    short = [path for path, text in zip(files, texts) if len(text) < 1000]
    if short:
        raise TaggerError(f"{short[0]}: too little text to train a language model on (under 1,000 characters)")
    if chars is None:
        chars = choose_chars(texts, min_count, max_chars)
    cuts = [len(text) - min(MAX_HELD_OUT, len(text) // 10) for text in texts]
    space = np.array([LM_SPACE], dtype=np.int16)
    train = np.concatenate([part for text, cut in zip(texts, cuts) for part in (encode(text[:cut], chars), space)])
    held_out = np.concatenate([part for text, cut in zip(texts, cuts) for part in (encode(text[cut:], chars), space)])
    return Corpus(chars, train, held_out)


def batch_windows(train: np.ndarray, seed: int, step: int, batch_size: int, window: int) -> torch.Tensor:
    """The windows of one step (batch, window), drawn by a generator that depends only on (seed, step)."""
    generator = np.random.default_rng((seed, step))
    starts = generator.integers(0, len(train) - window, size=batch_size)
    return torch.from_numpy(train[starts[:, None] + np.arange(window)].astype(np.int64))


@torch.no_grad()
def held_out_perplexity(model: CharLanguageModel, held_out: np.ndarray, window: int, batch_size: int) -> tuple[float, float]:
    """Perplexity per character of each direction on the held-out text, read in consecutive windows."""
    model.eval()
    count = max(1, (len(held_out) - 1) // window)
    windows = held_out[: count * window + 1]
    if len(windows) < count * window + 1:
        windows = np.pad(windows, (0, count * window + 1 - len(windows)), constant_values=LM_SPACE)
    starts = np.arange(count) * window
    totals = np.zeros(2)
    for first in range(0, count, batch_size):
        chunk = starts[first : first + batch_size]
        ids = torch.from_numpy(windows[chunk[:, None] + np.arange(window + 1)].astype(np.int64))
        losses = model.losses(ids)
        totals += [float(loss) * len(chunk) for loss in losses]
    model.train()
    forward, backward = totals / count
    return math.exp(forward), math.exp(backward)


class PretrainRun:
    """One process of a pretraining run: the model, optimizer, corpus and progress, saved to `directory`."""

    def __init__(self, directory: Path, options: PretrainOptions, corpus: Corpus) -> None:
        self.directory, self.options, self.corpus = directory, options, corpus
        torch.manual_seed(options.seed)
        self.model = CharLanguageModel(len(corpus.chars), options.dim, options.hidden)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=options.lr)
        self.progress = TrainingProgress(best_score=0.0, planned_steps=options.steps or None)  # scored once evaluated
        self.perplexity = (math.inf, math.inf)

    def learning_rate(self, step: int) -> float:
        """Falling linearly to a tenth of options.lr at the last planned step (from where a re-plan left it)."""
        progress, lowest = self.progress, 0.1 * self.options.lr
        planned = progress.planned_steps or 1
        if progress.decay_from is None:
            return self.options.lr - (self.options.lr - lowest) * min(step, planned) / planned
        begin, rate = progress.decay_from, progress.decay_lr
        return rate - (rate - lowest) * min(1.0, (step - begin) / max(1, planned - begin))

    def plan(self, seconds_per_step: float, seconds_left: float) -> None:
        """Plan (or plan again) the steps that fit the time left; the learning rate then falls from where it is."""
        progress = self.progress
        fit = progress.step + max(1, int(seconds_left * 0.97 / seconds_per_step))  # 3 %: evaluations, checkpoints
        if progress.planned_steps is None:
            progress.planned_steps = fit
        elif abs(fit - progress.planned_steps) > 0.02 * progress.planned_steps:
            progress.decay_from, progress.decay_lr = progress.step, self.learning_rate(progress.step)
            progress.planned_steps = fit

    def train_step(self) -> float:
        """One optimizer step; returns its mean loss over both directions (nats per character)."""
        options, step = self.options, self.progress.step
        ids = batch_windows(self.corpus.train, options.seed, step, options.batch_size, options.window)
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(step)
        forward, backward = self.model.losses(ids)
        loss = (forward + backward) / 2
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.progress.step += 1
        return loss.detach().item()

    def save(self) -> None:
        """The LM files (usable at once) and the checkpoint to resume from, each written atomically."""
        options, progress = self.options, self.progress
        forward, backward = self.perplexity
        training = {
            "files": [Path(name).name for name in options.files],
            "train_chars": int(len(self.corpus.train)),
            "held_out_chars": int(len(self.corpus.held_out)),
            "steps": progress.step,
            "planned_steps": progress.planned_steps,
            "minutes": round(progress.elapsed / 60, 2),
            # None until the first held-out evaluation (a run interrupted before it)
            "held_out_perplexity": {"forward": round(forward, 4), "backward": round(backward, 4)}
            if math.isfinite(forward + backward)
            else None,
            "window": options.window,
            "batch_size": options.batch_size,
        }
        if math.isfinite(forward + backward):  # the checkpoint's score: the held-out perplexity, negated
            progress.best_score = -(forward + backward) / 2
        write_weights(self.directory / LM_WEIGHTS, self.model.state_dict())
        write_json(self.directory / LM_CONFIG, lm_description(self.corpus.chars, options.dim, options.hidden, training))
        checkpoint.save(self.directory, self.model, self.optimizer, progress, [{"torch": torch.get_rng_state()}])


def _read_options(directory: Path) -> PretrainOptions:
    data = read_json_object(directory / OPTIONS)
    known = {item.name for item in dataclasses.fields(PretrainOptions)}
    if set(data) != known:
        raise ModelDirError(f"{directory / OPTIONS}: not a pretraining run's options (keys {sorted(data)})")
    try:
        options = PretrainOptions(**data)
        options.check()
    except (TypeError, TaggerError) as error:
        raise ModelDirError(f"{directory / OPTIONS}: damaged ({error})") from None
    return options


def _chars_of(directory: Path) -> list[str]:
    data = read_json_object(directory / LM_CONFIG)
    chars = data.get("chars")
    if not isinstance(chars, list) or not all(isinstance(char, str) for char in chars):
        raise ModelDirError(f"{directory / LM_CONFIG}: damaged (no character list)")
    return chars


def pretrain(
    directory: str | Path, options: PretrainOptions | None = None, show_progress: bool = True, max_minutes: float | None = None
) -> dict:
    """Train a character LM into `directory` (options given), or continue the run there (options None).

    `max_minutes` bounds a resumed process (a new run's bound is options.max_minutes); the
    bound is per process, so a long plan is trained in parts. Returns the training record
    written to char_lm.json.
    """
    started = time.monotonic()
    directory = Path(directory)
    resume = options is None
    if not resume:
        options.check()
        if (directory / LM_CONFIG).exists() or (directory / OPTIONS).exists():
            raise TaggerError(f"{directory}: holds a language model already; continue it with --resume or choose another --out")
    elif not (directory / OPTIONS).is_file():
        raise TaggerError(f"{directory}: no pretraining run to resume (no {OPTIONS})")
    with directory_lock(directory):
        remove_stale_temporaries(directory)
        if resume:
            options = _read_options(directory)
            if max_minutes is not None:
                options = dataclasses.replace(options, max_minutes=max_minutes)
        corpus = read_corpus(options.files, _chars_of(directory) if resume else None, options.min_count, options.max_chars)
        if len(corpus.train) <= options.window:
            raise TaggerError(f"{options.files[0]}: the text is shorter than one window of {options.window} characters")
        run = PretrainRun(directory, options, corpus)
        if resume and checkpoint.find(directory) is not None:  # none: killed before its first save, so from the start
            run.progress = checkpoint.restore(directory, run.model, run.optimizer)
        else:
            write_json(directory / OPTIONS, dataclasses.asdict(options))
        _train(run, started, show_progress)
        return read_json_object(directory / LM_CONFIG)["training"]


class _Progress:
    """Progress lines on stderr, and a bar of steps when stderr is a terminal (tqdm, imported only then)."""

    def __init__(self, shown: bool) -> None:
        self.shown = shown
        self.bar = None
        if shown and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(unit=" steps", file=sys.stderr, leave=False)

    def say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        elif self.shown:
            print(line, file=sys.stderr, flush=True)

    def step(self, progress: TrainingProgress) -> None:
        if self.bar is not None:
            self.bar.total = progress.planned_steps
            self.bar.n = progress.step
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _train(run: PretrainRun, started: float, show_progress: bool) -> None:
    """Steps until the plan is done or this process's time budget is spent, saving every eval_every steps."""
    shown = _Progress(show_progress)
    try:
        _steps(run, started, shown)
    except KeyboardInterrupt as interrupt:
        # every step is whole: the state after the last one is a checkpoint like any other
        shown.close()
        run.save()
        raise Interrupted(
            f"interrupted at step {run.progress.step:,}, saved; continue with: tagger pretrain --resume {run.directory}",
            interrupt_exit_code(interrupt),
        ) from None
    finally:
        shown.close()


def _steps(run: PretrainRun, started: float, shown: _Progress) -> None:
    options, progress = run.options, run.progress
    began, elapsed_before = time.monotonic(), progress.elapsed
    budget = options.max_minutes * 60 if options.max_minutes > 0 else math.inf
    shown.say(
        f"{len(run.corpus.train):,} training characters, {len(run.corpus.held_out):,} held out, "
        f"{len(run.corpus.chars)} characters; hidden {options.hidden}, window {options.window}, batch {options.batch_size}"
    )
    losses: list[float] = []
    timed_from, timed_step = began, progress.step  # the speed since the last plan
    while progress.planned_steps is None or progress.step < progress.planned_steps:
        losses.append(run.train_step())
        now = time.monotonic()
        progress.elapsed = elapsed_before + now - began
        evaluating = progress.step % options.eval_every == 0
        if options.steps == 0 and budget < math.inf and (len(losses) == SPEED_PROBE_STEPS or evaluating):
            before = progress.planned_steps
            run.plan((now - timed_from) / (progress.step - timed_step), budget - (now - started))
            timed_from, timed_step = now, progress.step
            if progress.planned_steps != before:
                shown.say(f"planned {progress.planned_steps:,} steps to fit {options.max_minutes:g} minutes")
        shown.step(progress)
        finished = progress.planned_steps is not None and progress.step >= progress.planned_steps
        out_of_time = now - started >= budget
        if evaluating or finished or out_of_time:
            _evaluate_and_save(run, losses, shown)
            losses = []
        if out_of_time and not finished:
            shown.say(
                f"time budget spent at step {progress.step:,} of {progress.planned_steps:,}; "
                f"continue with: tagger pretrain --resume {run.directory}"
            )
            return


def _evaluate_and_save(run: PretrainRun, losses: list[float], shown: _Progress) -> None:
    options, progress = run.options, run.progress
    run.perplexity = held_out_perplexity(run.model, run.corpus.held_out, options.window, options.batch_size)
    run.save()
    mean = sum(losses) / max(1, len(losses))
    planned = f" of {progress.planned_steps:,}" if progress.planned_steps else ""
    shown.say(
        f"step {progress.step:,}{planned}  loss {mean:.4f}  held-out perplexity forward "
        f"{run.perplexity[0]:.3f} backward {run.perplexity[1]:.3f}  {progress.elapsed / 60:.1f} min"
    )
