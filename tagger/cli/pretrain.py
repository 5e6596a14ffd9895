"""`tagger pretrain`: a character language model from plain text, for a tagger's `model.char_lm`."""

from __future__ import annotations

import math

import click

from tagger.cli.options import set_threads


@click.command("pretrain")
@click.argument("text_files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--out", default=None, help="Directory to write the language model to.")
@click.option("--resume", "resume_dir", default=None, help="Continue the pretraining run in this directory.")
@click.option("--steps", type=click.IntRange(1), default=None, help="Optimizer steps to plan (default: what fits --max-minutes).")
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None, help="Wall-clock bound of this process.")
@click.option("--hidden", type=click.IntRange(1, 8192), default=256, show_default=True, help="LSTM units per direction.")
@click.option("--dim", type=click.IntRange(1, 8192), default=32, show_default=True, help="Character embedding size.")
@click.option("--window", type=click.IntRange(2, 100_000), default=250, show_default=True, help="Characters per training window.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=32, show_default=True, help="Windows per step.")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=0.002, show_default=True, help="Adam's learning rate.")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True, help="Random seed (initial weights, windows).")
@click.option("--threads", type=click.IntRange(0), default=None, help="CPU threads (default: torch's choice).")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def pretrain_command(
    text_files: tuple[str, ...],
    out: str | None,
    resume_dir: str | None,
    steps: int | None,
    max_minutes: float | None,
    hidden: int,
    dim: int,
    window: int,
    batch_size: int,
    lr: float,
    seed: int,
    threads: int | None,
    quiet: bool,
) -> None:
    """Train a forward and a backward character LSTM language model on plain TEXT_FILES.

    A tagger reads it through a config's `model.char_lm = "DIR"`: each word gets the two
    models' states around it, frozen, beside its other features; the model directory
    keeps a copy of the weights it uses. Unlabelled text of the domain you tag (your
    posts, contracts, notes) is what it is for. Held-out perplexity is printed as it
    trains; --max-minutes bounds each process, and --resume continues the plan.

    \b
    Examples:
      tagger pretrain novels.txt.xz --out runs/lm-en --max-minutes 45 --threads 1
      tagger pretrain a.txt b.txt --out runs/lm --steps 20000 --max-minutes 45
      tagger pretrain --resume runs/lm --max-minutes 45
    """
    from tagger.pretrain import PretrainOptions, pretrain

    set_threads(threads)
    if resume_dir is not None:
        if text_files or out:
            raise click.UsageError("--resume continues a run with its own files and settings; leave out TEXT_FILES and --out")
        record = pretrain(resume_dir, None, show_progress=not quiet, max_minutes=max_minutes)
        target = resume_dir
    else:
        if not text_files or out is None:
            raise click.UsageError("name the TEXT_FILES and the --out directory (or --resume DIR)")
        options = PretrainOptions(
            files=list(text_files),
            hidden=hidden,
            dim=dim,
            window=window,
            batch_size=batch_size,
            lr=lr,
            steps=steps or 0,
            max_minutes=max_minutes or 0.0,
            seed=seed,
        )
        record = pretrain(out, options, show_progress=not quiet)
        target = out
    perplexity = record["held_out_perplexity"] or {"forward": math.inf, "backward": math.inf}
    click.echo(
        f"held-out perplexity forward {perplexity['forward']:.3f} backward {perplexity['backward']:.3f} "
        f"after {record['steps']:,} steps; language model in {target}",
        err=True,
    )
