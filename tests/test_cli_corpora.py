"""`tagger corpora stats|convert` as a user runs them, in a subprocess."""

import json
import subprocess

import pytest

from tests.conftest import SAMPLES, run_tagger, write


def tagger(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return run_tagger(*args, input=stdin, text=False, timeout=120)


def test_stats_json_on_the_ner_sample():
    result = tagger("corpora", "stats", str(SAMPLES / "sample-ner" / "train.conll"), "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert {"sentences", "tokens", "labels", "scheme", "entities"} <= stats.keys()
    assert stats["scheme"] == "IOB1"
    assert stats["sentences"] >= 150
    assert sum(stats["labels"].values()) == stats["tokens"]
    assert set(stats["entities"]) == {"LOC", "MISC", "ORG", "PER"}


def test_stats_of_pos_labels_has_no_scheme_and_no_entities():
    result = tagger("corpora", "stats", str(SAMPLES / "sample-upos" / "dev.conllu"), "--json")
    stats = json.loads(result.stdout)
    assert stats["scheme"] is None and stats["entities"] == {}
    assert "PROPN" in stats["labels"]


def test_stats_reads_stdin():
    data = (SAMPLES / "sample-ner" / "dev.conll").read_bytes()
    result = tagger("corpora", "stats", "-", "--json", stdin=data)
    assert json.loads(result.stdout)["sentences"] == 100


def test_convert_to_iob2_and_back_restores_the_file(tmp_path):
    source = SAMPLES / "sample-ner" / "train.conll"
    iob2, back = tmp_path / "train.iob2", tmp_path / "train.iob1"
    assert tagger("corpora", "convert", str(source), str(iob2), "--to", "iob2").returncode == 0
    stats = json.loads(tagger("corpora", "stats", str(iob2), "--json").stdout)
    original = json.loads(tagger("corpora", "stats", str(source), "--json").stdout)
    assert stats["scheme"] == "IOB2" and stats["entities"] == original["entities"]
    assert tagger("corpora", "convert", str(iob2), str(back), "--to", "iob1").returncode == 0
    assert back.read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("Acme NNP X-PER\nis VBZ O\nin IN O\n", ":1: tag 'X-PER' is not valid in the IOB2 scheme"),
        ("Acme NNP O\nis VBZ B-\nin IN O\n", ":2: tag 'B-' is not valid"),
        ("Acme NNP O\nis O\n", ":2: expected 3 columns"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, content, fragment):
    path = write(tmp_path / "bad.conll", content)
    result = tagger("corpora", "stats", str(path))
    assert result.returncode == 2
    message = result.stderr.decode()
    assert fragment in message and str(path) in message
    assert "Traceback" not in message and len(message.strip().splitlines()) == 1


def test_failed_convert_leaves_no_partial_output_and_keeps_an_old_one(tmp_path):
    source = write(tmp_path / "bad.conll", "Acme O\n\nis O\n\nbroken line here\n")
    target = write(tmp_path / "out.conll", "previous content\n")
    result = tagger("corpora", "convert", str(source), str(target), "--to", "iob2")
    assert result.returncode == 2
    assert target.read_text() == "previous content\n"
    assert [p.name for p in tmp_path.iterdir()] == sorted(["bad.conll", "out.conll"]) or len(list(tmp_path.iterdir())) == 2


def test_help_explains_options_with_examples():
    for command in ([], ["corpora"], ["corpora", "stats"], ["corpora", "convert"]):
        result = tagger(*command, "--help")
        assert result.returncode == 0
        assert b"Example" in result.stdout or command == ["corpora"]


def test_hash_tokens_kept_are_reported_once_as_a_warning_line(tmp_path):
    path = write(tmp_path / "tweets.tsv", "#\tO\nFF\tO\n\n#\tO\nsun\tO\n\n")
    result = run_tagger("corpora", "stats", path, "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["tokens"] == 4
    assert result.stderr.splitlines() == [
        f"warning: {path}:1: a line starting with '#' has the columns of a token row, so it is read as a token, "
        "not a comment (comments are '# key = value' lines or have another number of columns)"
    ]
