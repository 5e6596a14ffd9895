"""Training on several files at once: per-file columns, label maps, unannotated types, sampling weights."""

import json

import pytest

from tagger import config as config_module
from tagger import corpora
from tagger.config import ConfigError
from tagger.predict import Predictor
from tagger.training import prepare_run, set_process_state
from tagger.training.data import weighted_items
from tests.conftest import SAMPLES, run_tagger, write
from tests.helpers import TINY_MODEL

NER = SAMPLES / "sample-ner"


def twitter_like(tmp_path, source="train.conll"):
    """A sample file as a tab file of token and label, MISC left out and PER named `person`."""
    lines = []
    for line in (NER / source).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            lines.append("")
            continue
        tag = fields[-1].replace("MISC", "").replace("PER", "person")
        lines.append(f"{fields[0]}\t{'O' if tag.endswith('-') else tag}")
    return write(tmp_path / f"tweets-{source}.tsv", "\n".join(lines) + "\n")


def mixed_config(tmp_path, **train):
    second = {"path": str(twitter_like(tmp_path)), "label_column": "2", "label_map": {"person": "PER"}}
    second.update(train)
    data = {
        "data": {"train": [str(NER / "train.conll"), second], "dev": str(NER / "dev.conll"), "label_column": "4"},
        "model": TINY_MODEL,
        "train": {"epochs": 1, "threads": 1, "device": "cpu"},
    }
    return config_module.from_dict(data, "test")


def test_second_file_is_read_in_its_own_columns_with_its_labels_mapped(tmp_path):
    config = mixed_config(tmp_path, unannotated=["MISC"])
    set_process_state(config)
    run = prepare_run(config, None, log=lambda message: None)
    half = len(run.train_items) // 2
    assert "B-PER" in run.vocab.labels.symbols and not any("person" in label for label in run.vocab.labels.symbols)
    first, second = run.train_items[:half], run.train_items[half:]
    assert all(item.open_label is None for item in first)
    misc = {run.vocab.labels.get(label) for label in run.vocab.labels.symbols if label.endswith("-MISC")}
    assert misc and all(item.open_label == run.vocab.labels.get("O") and set(item.also_allowed) == misc for item in second)
    assert run.train_weights is None


def test_unannotated_type_that_no_file_annotates_is_refused(tmp_path):
    config = mixed_config(tmp_path, unannotated=["EVENT"])
    with pytest.raises(Exception, match=r"data.train\[1\].unannotated: EVENT"):
        prepare_run(config, None, log=lambda message: None)


def test_a_bad_key_in_a_training_table_names_it(tmp_path):
    with pytest.raises(ConfigError, match=r"data.train\[1\].wieght: unknown key"):
        mixed_config(tmp_path, wieght=2)


def test_weights_draw_each_file_as_often_as_asked():
    items = list(range(1000))
    assert weighted_items(items, None, 1) is items
    drawn = weighted_items(items, [2.0] * 500 + [0.5] * 500, seed=1)
    assert drawn.count(0) == 2 and sum(item >= 500 for item in drawn) == pytest.approx(250, abs=40)
    assert weighted_items(items, [2.0] * 500 + [0.5] * 500, seed=1) == drawn


def test_train_repeated_on_the_command_line_trains_on_both(tmp_path):
    out = tmp_path / "run"
    result = run_tagger(
        "train",
        "--train",
        NER / "train.conll",
        "--train",
        NER / "dev.conll",
        "--label-column",
        "4",
        "--epochs",
        "1",
        "--set",
        "model.hidden=8",
        "--set",
        "train.threads=1",
        "--out",
        out,
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    both = sum(corpora.stats(str(NER / name), label_column="4").sentences for name in ("train.conll", "dev.conll"))
    assert f"training on {both:,} sentences" in result.stderr
    saved = json.loads((out / "config.json").read_text())["config"]["data"]["train"]
    assert [entry["path"] for entry in saved] == [str(NER / "train.conll"), str(NER / "dev.conll")]


def test_several_dev_files_are_each_scored_and_early_stopping_follows_their_mean(tmp_path):
    tweets_dev = {"path": str(twitter_like(tmp_path, "dev.conll")), "label_column": "2", "label_map": {"person": "PER"}}
    config = config_module.from_dict(
        {
            "data": {"train": str(NER / "train.conll"), "dev": [str(NER / "dev.conll"), {**tweets_dev, "unannotated": ["MISC"]}]},
            "model": TINY_MODEL,
            "train": {"epochs": 3, "threads": 1, "device": "cpu", "lr": 0.02},
        },
        "test",
    )
    from tagger.training import train

    lines = []
    metrics = train(config, tmp_path / "run", show_progress=False, log=lines.append)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    for record in records:
        per_file = record["dev_files"]
        assert list(per_file) == [str(NER / "dev.conll"), tweets_dev["path"]]
        assert record["dev"]["f1"] == pytest.approx(sum(scores["f1"] for scores in per_file.values()) / 2, abs=1e-3)
    best = max(records, key=lambda record: record["dev"]["f1"])
    assert metrics["best_epoch"] == best["epoch"]
    assert any("dev mean" in line and "dev.conll" in line for line in lines)
    assert Predictor.load(tmp_path / "run", "cpu").task.spans  # its config.json loads again


def test_predictions_of_an_unannotated_type_are_not_scored():
    from tagger.schemes import without_types

    tags = ["B-MISC", "I-MISC", "B-PER", "I-PER", "O", "I-MISC"]
    assert without_types(tags, ["MISC"]) == ["O", "O", "B-PER", "I-PER", "O", "O"]


def test_a_dev_files_weight_is_its_share_of_the_dev_mean_that_chooses_the_kept_epoch(tmp_path):
    tweets_dev = {"path": str(twitter_like(tmp_path, "dev.conll")), "label_column": "2", "label_map": {"person": "PER"}}
    dev = [str(NER / "dev.conll"), {**tweets_dev, "unannotated": ["MISC"], "weight": 3}]
    config = config_module.from_dict(
        {
            "data": {"train": str(NER / "train.conll"), "dev": dev},
            "model": {**TINY_MODEL, "hidden": 32, "word_dim": 32},
            "train": {"epochs": 3, "threads": 1, "device": "cpu", "lr": 0.05},
        },
        "test",
    )
    from tagger.training import train

    lines = []
    train(config, tmp_path / "run", show_progress=False, log=lines.append)
    pairs = []
    for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        first, second = (scores["f1"] for scores in record["dev_files"].values())
        assert record["dev"]["f1"] == pytest.approx((first + 3 * second) / 4, abs=1e-3)
        pairs.append((first, second))
    assert any(first != second for first, second in pairs)  # else any weights give the same mean
    assert any("(weight 3)" in line for line in lines)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["config"]["data"]["dev"]
    assert "weight" not in saved[0] and saved[1]["weight"] == 3


def test_a_dev_weight_must_be_positive(tmp_path):
    with pytest.raises(ConfigError, match=r"data.dev\[0\].weight: invalid value 0"):
        config_module.from_dict({"data": {"train": "x", "dev": [{"path": "y", "weight": 0}]}}, "test")


def test_case_augmentation_lowercases_and_uppercases_the_asked_share_of_sentences_each_epoch():
    from tagger.training.data import epoch_batches

    config = config_module.from_dict(
        {
            "data": {"train": str(NER / "train.conll"), "label_column": "4"},
            "model": TINY_MODEL,
            "train": {"epochs": 1, "threads": 1, "device": "cpu", "lower_share": 0.3, "upper_share": 0.2},
        },
        "test",
    )
    set_process_state(config)
    run = prepare_run(config, None, log=lambda message: None)
    by_chars = {}
    for kind, items in (("as is", run.train_items), ("lower", run.case_variants.lower), ("upper", run.case_variants.upper)):
        for item in items:
            by_chars.setdefault(str(item.chars), kind)  # a sentence with no letters counts as it is
    kinds = []
    for epoch in (1, 2):
        batches = epoch_batches(run.train_items, config, epoch, run.world, variants=run.case_variants)
        kinds.append(sorted(by_chars[str(row)] for batch in batches for row in _sentences_chars(batch)))
    for drawn in kinds:
        share = {kind: drawn.count(kind) / len(drawn) for kind in ("lower", "upper")}
        assert share["lower"] == pytest.approx(0.3, abs=0.08) and share["upper"] == pytest.approx(0.2, abs=0.08)
    assert len(kinds[0]) == len(run.train_items)
    again = epoch_batches(run.train_items, config, 1, run.world, variants=run.case_variants)
    first = epoch_batches(run.train_items, config, 1, run.world, variants=run.case_variants)
    assert [batch.chars.tolist() for batch in again] == [batch.chars.tolist() for batch in first]  # the same on resume


def _sentences_chars(batch):
    """Each sentence's character id rows (without padding), as encode made them."""
    rows, start = [], 0
    for length in batch.lengths.tolist():
        rows.append([[c for c in word if c] for word in batch.chars[start : start + length].tolist()])
        start += length
    return rows


def test_io_file_reads_bare_types_as_spans_and_its_outside_tag_as_o(tmp_path):
    """A file tagged like swedish-ner ("PER" without a prefix, "0" outside) trains the same spans as IOB."""
    io_lines = []
    for line in twitter_like(tmp_path).read_text(encoding="utf-8").splitlines():
        token, _, tag = line.partition("\t")
        io_lines.append(f"{token}\t{'0' if tag in ('', 'O') else tag.split('-', 1)[1]}" if token else "")
    io_file = write(tmp_path / "io.tsv", "\n".join(io_lines) + "\n")
    config = mixed_config(tmp_path, path=str(io_file), scheme="io", label_map={"person": "PER", "0": "O"})
    set_process_state(config)
    run = prepare_run(config, None, log=lambda message: None)
    labels = set(run.vocab.labels.symbols)
    assert "S-PER" in labels and not any(label.endswith(("-0", "-person")) or label in ("0", "person") for label in labels)
    reference = prepare_run(mixed_config(tmp_path), None, log=lambda message: None)
    half = len(run.train_items) // 2
    io_labels = [list(item.labels) for item in run.train_items[half:]]
    iob_labels = [list(item.labels) for item in reference.train_items[half:]]
    same = sum(io == iob for io, iob in zip(io_labels, iob_labels))
    assert len(io_labels) == len(iob_labels) and same >= 0.98 * len(iob_labels)


def test_scheme_other_than_io_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"data.train\[1\].scheme"):
        mixed_config(tmp_path, scheme="bio")


def test_a_label_map_written_once_under_a_name_serves_every_file_that_names_it(tmp_path):
    crossner = {"politician": "PER", "band": "ORG", "country": "LOC", "misc": "O"}
    entries = [{"path": "a.conll", "label_column": "2"}, {"path": "b.conll", "label_column": "2"}]
    inline = {"train": [{**entry, "label_map": crossner} for entry in entries], "dev": [{"path": "c", "label_map": crossner}]}
    named = {
        "label_maps": {"crossner": crossner},
        "train": [{**entry, "label_map": "crossner"} for entry in entries],
        "dev": [{"path": "c", "label_map": "crossner"}],
    }
    expected = config_module.from_dict({"data": inline}, "test")
    assert config_module.from_dict({"data": named}, "test") == expected
    recipe = write(tmp_path / "mix.toml", 'out = "x"\n[data.label_maps.crossner]\npolitician = "PER"\n')
    write(tmp_path / "mine.toml", f'base = "{recipe.name}"\n[[data.train]]\npath = "a"\nlabel_map = "crossner"\n')
    assert config_module.load(tmp_path / "mine.toml").data.train[0]["label_map"] == {"politician": "PER"}


def test_a_label_map_name_with_no_map_is_refused_with_the_names_there_are():
    data = {"label_maps": {"crossner": {"band": "ORG"}}, "train": [{"path": "a", "label_map": "crosner"}]}
    with pytest.raises(ConfigError, match=r"data.train\[0\].label_map: no map 'crosner' in \[data.label_maps\] \(crossner\)"):
        config_module.from_dict({"data": data}, "test")
