"""Configs read as a stranger's files are read (#44): regular files of bounded size, bounded nesting, sizes
refused before training, labels that outputs can write, one kind of label per model."""

from __future__ import annotations

import os

import pytest

from tests.conftest import ROOT, SAMPLES, run_tagger, write

SAMPLE_CONFIG = ROOT / "configs" / "sample-ner.toml"


def assert_one_line(result, fragment: str) -> None:
    message = result.stderr.strip()
    assert result.returncode == 2 and fragment in message and "\n" not in message, (result.returncode, message)


def test_a_config_or_base_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    assert_one_line(run_tagger("train", fifo, "--out", tmp_path / "run", timeout=30), "not a regular file")
    child = write(tmp_path / "child.toml", 'base = "config.toml"\n')
    assert_one_line(run_tagger("train", child, "--out", tmp_path / "run", timeout=30), "not a regular file")


def test_a_config_larger_than_a_mebibyte_is_refused_unread(tmp_path):
    big = write(tmp_path / "big.toml", "# padding\n" * 200_000)
    assert_one_line(run_tagger("train", big, "--out", tmp_path / "run", timeout=60), "larger than 1,048,576 bytes")


def test_a_config_base_in_a_symbolic_link_loop_is_one_line(tmp_path):
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    child = write(tmp_path / "child.toml", 'base = "a.toml"\n')
    assert_one_line(run_tagger("train", child, "--out", tmp_path / "run", timeout=30), "cannot read config")


def test_a_deeply_nested_set_value_is_one_line(tmp_path):
    nested = "[" * 5000 + "]" * 5000
    result = run_tagger("train", SAMPLE_CONFIG, "--out", tmp_path / "run", "--set", f"train.epochs={nested}", timeout=60)
    assert_one_line(result, "train.epochs")


@pytest.mark.parametrize("setting", ["model.layers=17", "model.hidden=100000", "model.word_dim=5000"])
def test_sizes_loading_would_refuse_are_refused_before_training(tmp_path, setting):
    result = run_tagger("train", SAMPLE_CONFIG, "--out", tmp_path / "run", "--set", setting, timeout=60)
    assert_one_line(result, setting.split("=")[0])
    assert not (tmp_path / "run").exists()


def config_with_map(tmp_path, label_map: str) -> str:
    train = SAMPLES / "sample-ner" / "train.conll"
    return write(
        tmp_path / "mapped.toml",
        f'out = "{tmp_path / "run"}"\n[data]\nlabel_column = "4"\ndev = "{SAMPLES / "sample-ner" / "dev.conll"}"\n'
        f'[[data.train]]\npath = "{train}"\nlabel_map = {label_map}\n[train]\nepochs = 1\n',
    )


@pytest.mark.parametrize("label_map", ['{PER = ""}', '{PER = "PER\\tX"}', '{PER = "two words"}'])
def test_a_label_map_to_an_empty_label_or_one_with_white_space_is_refused(tmp_path, label_map):
    assert_one_line(run_tagger("train", config_with_map(tmp_path, label_map), timeout=60), "label_map")


def test_span_labels_and_token_labels_in_one_training_list_are_refused(tmp_path):
    ner, upos = SAMPLES / "sample-ner" / "train.conll", SAMPLES / "sample-upos" / "train.conllu"
    config = write(
        tmp_path / "mixed.toml",
        f'out = "{tmp_path / "run"}"\n[data]\nlabel_column = "4"\ndev = "{SAMPLES / "sample-ner" / "dev.conll"}"\n'
        f'[[data.train]]\npath = "{ner}"\n[[data.train]]\npath = "{upos}"\nlabel_column = "upos"\n[train]\nepochs = 1\n',
    )
    result = run_tagger("train", config, timeout=120)
    assert_one_line(result, "one output layer learns one kind")
    assert "train.conllu" in result.stderr


def test_an_unknown_vector_source_name_lists_the_named_sources(tmp_path):
    result = run_tagger("train", SAMPLE_CONFIG, "--out", tmp_path / "run", "--set", "model.vectors=glove-6b-100d", timeout=60)
    assert_one_line(result, "named sources: glove-6b-50d")
