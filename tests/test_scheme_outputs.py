"""Labels in the scheme the user expects: token figures in the gold file's scheme, IOB2 for new text,
schemes detected by the evidence, and the label column of a file of another layout (#30)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tagger import corpora, schemes
from tagger.api import Tagger
from tagger.evaluate import evaluate_file
from tagger.predict import Predictor
from tests.conftest import SAMPLES, run_tagger, write

TEST_FILE = SAMPLES / "sample-ner" / "test.conll"


@pytest.fixture(scope="module")
def iob2_test_file(tmp_path_factory):
    target = tmp_path_factory.mktemp("iob2") / "test.iob2.conll"
    corpora.convert_file(str(TEST_FILE), str(target), "iob2")
    return target


def token_figures(report: dict) -> tuple:
    return report["accuracy"], report["per_tag"], report["confusions"], report["confusion_matrix"], report["known_words"]


def test_predictions_in_iob1_and_in_iob2_give_the_same_token_figures_against_iob2_gold(ner_model, iob2_test_file):
    writes_iob1 = Predictor.load(ner_model, "cpu")
    assert writes_iob1.task.corpus_scheme == schemes.IOB1
    writes_iob2 = dataclasses.replace(writes_iob1, task=dataclasses.replace(writes_iob1.task, corpus_scheme=schemes.IOB2))
    from_iob1 = evaluate_file(writes_iob1, str(iob2_test_file))
    from_iob2 = evaluate_file(writes_iob2, str(iob2_test_file))
    assert token_figures(from_iob1) == token_figures(from_iob2)
    assert from_iob1["f1"] == from_iob2["f1"]


def test_evaluate_output_is_written_in_the_gold_files_scheme(ner_model, iob2_test_file, tmp_path):
    output = tmp_path / "predicted.conll"
    result = run_tagger("evaluate", ner_model, iob2_test_file, "--output", output, "--json")
    assert result.returncode == 0, result.stderr
    assert corpora.stats(str(output), label_column="4").scheme == schemes.IOB2


def test_raw_text_gets_iob2_labels_and_scheme_chooses_another(ner_model):
    text = "Maria Lopez flew from Oslo to Lagos .\n"
    default = run_tagger("tag", ner_model, "--output-format", "inline", input=text)
    assert default.returncode == 0, default.stderr
    tags = [token.rsplit("/", 1)[1] for token in default.stdout.split()]
    assert schemes.detect_scheme([tags]) == schemes.IOB2 and any(tag.startswith("B-") for tag in tags)
    for scheme in ("IOB1", "IOBES", "iob2"):
        other = run_tagger("tag", ner_model, "--output-format", "inline", "--scheme", scheme, input=text)
        converted = [token.rsplit("/", 1)[1] for token in other.stdout.split()]
        assert converted == schemes.convert(tags, scheme.upper())
    spans = [json.loads(line)["spans"] for line in run_tagger("tag", ner_model, input=text).stdout.splitlines()]
    iob1_spans = [
        json.loads(line)["spans"] for line in run_tagger("tag", ner_model, "--scheme", "IOB1", input=text).stdout.splitlines()
    ]
    assert spans == iob1_spans  # the spans are the same whatever the scheme of the token labels


def test_python_api_writes_iob2_by_default(ner_model):
    records = Tagger.load(ner_model, "cpu").tag("Maria Lopez flew from Oslo to Lagos.")
    tags = [token["label"] for record in records for token in record["tokens"]]
    assert schemes.detect_scheme([tags]) == schemes.IOB2
    iob1 = Tagger.load(ner_model, "cpu", scheme="iob1").tag("Maria Lopez flew from Oslo to Lagos.")
    assert [token["label"] for record in iob1 for token in record["tokens"]] == schemes.convert(tags, schemes.IOB1)


def test_tagging_a_column_file_keeps_the_models_training_scheme(ner_model, tmp_path):
    result = run_tagger("tag", ner_model, TEST_FILE, "--input-format", "conll", "--output-format", "conll")
    assert result.returncode == 0, result.stderr
    path = write(tmp_path / "tagged.conll", result.stdout)
    assert corpora.stats(str(path), label_column="5").scheme == schemes.IOB1


def iob2_with_ill_formed_tags(path, sentences: int = 30):
    """An IOB2 file with many B- span starts and two I- tags after O (lines 3 and the one after sentence 10)."""
    lines = []
    for index in range(sentences):
        lines += ["Anna B-PER", "Berg I-PER", "met O", "Oslo B-LOC", ". O"]
        if index in (0, 10):
            lines[-1] = "Bank I-ORG"  # after `Oslo B-LOC`: I- of another type starts a span
        lines += [""]
    lines[2] = "met I-ORG"  # I- after I-PER of another type
    return write(path, "\n".join(lines) + "\n")


def test_a_file_of_b_starts_with_a_few_ill_formed_i_tags_is_iob2(tmp_path):
    path = iob2_with_ill_formed_tags(tmp_path / "train.conll")
    stats = corpora.stats(str(path))
    assert stats.scheme == schemes.IOB2
    assert stats.ill_formed == 3 and stats.ill_formed_lines == [3, 5, 65]
    assert schemes.detect_scheme([["I-PER", "I-PER", "O", "I-LOC"]]) == schemes.IOB1
    shown = run_tagger("corpora", "stats", path)
    assert "scheme     IOB2" in shown.stdout and "ill-formed 3 I- tags" in shown.stdout


def test_a_model_trained_on_iob2_with_ill_formed_tags_writes_iob2_and_warns_once(tmp_path):
    path = iob2_with_ill_formed_tags(tmp_path / "train.conll")
    result = run_tagger(
        "train", "--train", path, "--dev", path, "--epochs", "1", "--hidden", "8", "--out", tmp_path / "run", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "I- tag(s) follow O or another type" in line]
    assert len(warnings) == 2  # once for the training file, once for the same file as dev
    assert "line 3, 5, 65" in warnings[0]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["task"]["corpus_scheme"] == schemes.IOB2


def test_a_file_with_fewer_columns_than_the_trained_label_column_is_read_from_its_last(ner_model, tmp_path):
    two_columns = "".join(
        f"{line.split()[0]}\t{line.split()[-1]}\n" if line.strip() else "\n"
        for line in TEST_FILE.read_text().splitlines()
        if not line.startswith("-DOCSTART-")
    )
    path = write(tmp_path / "web.conll", two_columns)
    result = run_tagger("evaluate", ner_model, path)
    assert result.returncode == 0, result.stderr
    assert "label column 2" in result.stdout
    assert "fewer than the model's label column 4" in result.stderr
    full = json.loads(run_tagger("evaluate", ner_model, TEST_FILE, "--json").stdout)
    assert json.loads(run_tagger("evaluate", ner_model, path, "--json").stdout)["f1"] == full["f1"]
    named = run_tagger("evaluate", ner_model, path, "--label-column", "4")
    assert named.returncode == 2 and "label column 4 does not exist" in named.stderr
