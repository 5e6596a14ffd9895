"""Scoring against hand-computed counts for each conlleval rule, and the seqeval strict mode."""

import json

import pytest

from tagger.evaluate import score_conlleval_file, score_files
from tagger.metrics import build_report, conlleval_spans
from tests.conftest import run_tagger, write


def f1(correct, predicted, gold):
    precision, recall = correct / predicted, correct / gold
    return 100 * 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize(
    "gold, predicted, counts",
    [
        # IOB1: B- only separates same-type neighbours; 3 gold spans, 2 found
        (["I-PER", "I-PER", "B-PER", "O", "I-LOC"], ["I-PER", "I-PER", "I-PER", "O", "I-LOC"], (1, 2, 3)),
        # IOB2 prediction with an ill-formed I- after O: conlleval opens a span there
        (["B-ORG", "I-ORG", "O"], ["O", "I-ORG", "O"], (0, 1, 1)),
        (["O", "B-ORG", "I-ORG"], ["O", "I-ORG", "I-ORG"], (1, 1, 1)),
        # a type change inside a span splits it in two
        (["B-PER", "I-PER"], ["B-PER", "I-LOC"], (0, 2, 1)),
        # IOBES: S- and E- close spans
        (["S-PER", "S-PER", "B-LOC", "E-LOC"], ["S-PER", "B-PER", "E-PER", "E-LOC"], (1, 3, 3)),
    ],
)
def test_conlleval_rules(gold, predicted, counts):
    correct, guessed, expected = counts
    scores = conlleval_spans([gold], [predicted])
    assert scores["precision"] == pytest.approx(100 * correct / guessed)
    assert scores["recall"] == pytest.approx(100 * correct / expected)


def test_where_seqeval_default_mode_and_conlleval_disagree_conlleval_is_reported():
    from seqeval.metrics import f1_score

    gold = [["PER", "O", "B-LOC"]]
    predicted = [["PER", "O", "B-LOC"]]
    # seqeval reads "PER" as prefix "P" and type "ER" and counts a span; conlleval reads a
    # tag with no hyphen as a prefix with no type, which opens no span.
    assert conlleval_spans(gold, [["O", "O", "B-LOC"]])["recall"] == 100.0
    assert f1_score(gold, [["O", "O", "B-LOC"]]) < 1.0
    assert build_report(gold, predicted, spans=True)["per_label"].keys() == {"LOC"}


def test_strict_mode_rejects_ill_formed_spans():
    gold = [["B-PER", "I-PER", "O"]]
    predicted = [["I-PER", "I-PER", "O"]]
    assert build_report(gold, predicted, True, "default")["f1"] == 100.0
    gold_iob2 = [["B-PER", "I-PER", "O", "B-LOC"]]
    predicted_iob2 = [["B-PER", "I-PER", "O", "I-LOC"]]
    assert build_report(gold_iob2, predicted_iob2, True, "default")["f1"] == 100.0
    assert build_report(gold_iob2, predicted_iob2, True, "strict", "IOB2")["f1"] == pytest.approx(f1(1, 1, 2))


def test_pos_report_has_per_label_table_and_confusions():
    report = build_report([["NOUN", "VERB", "NOUN"]], [["NOUN", "NOUN", "NOUN"]], spans=False)
    assert report["accuracy"] == pytest.approx(200 / 3)
    assert report["per_label"]["NOUN"]["precision"] == pytest.approx(200 / 3)
    assert report["per_label"]["VERB"]["recall"] == 0.0
    assert report["confusions"] == [{"gold": "VERB", "predicted": "NOUN", "count": 1}]
    assert "f1" not in report


CONLLEVAL_FILE = """-DOCSTART- -X- O O O

Acme NNP I-ORG I-ORG
hires VBZ O O
Danish JJ I-MISC I-ORG
cooks NNS O O

Lena NNP I-PER I-PER
Holm NNP I-PER O

"""


def test_conlleval_layout_file(tmp_path):
    report = score_conlleval_file(str(write(tmp_path / "out.txt", CONLLEVAL_FILE)))
    # gold spans: ORG, MISC, PER; predicted: ORG, ORG, PER(1 token); correct: ORG
    assert report["precision"] == pytest.approx(100 / 3)
    assert report["recall"] == pytest.approx(100 / 3)
    assert report["accuracy"] == pytest.approx(100 * 4 / 6)


def test_two_files_must_line_up(tmp_path):
    gold = write(tmp_path / "gold.conll", "a O\nb I-PER\n\nc O\n\n")
    predicted = write(tmp_path / "pred.conll", "a O\nb I-PER\n\nd O\n\n")
    from tagger.errors import InputError

    with pytest.raises(InputError) as caught:
        score_files(str(gold), str(predicted))
    assert caught.value.path == str(predicted) and caught.value.line == 4


def test_cli_score_json_keys_and_exit_codes(tmp_path):
    path = write(tmp_path / "out.txt", CONLLEVAL_FILE)
    result = run_tagger("score", path, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"f1", "precision", "recall", "accuracy", "per_label", "sentences", "tokens"} <= report.keys()
    bad = run_tagger("score", tmp_path / "missing")
    assert bad.returncode == 2 and "no such file" in bad.stderr
