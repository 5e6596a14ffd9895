"""`tagger vectors`: word vectors from unlabelled text, read as the tagger reads words, that a config's
model.vectors then trains from."""

from __future__ import annotations

import sys

import pytest

from tagger import config as config_module
from tagger import training
from tagger.vectors import read_vectors
from tests.conftest import SAMPLES
from tests.helpers import cli

TEXT = (
    "O ministro voltou do Porto no domingo e disse-me que a reunião correu bem.\n"
    "A ministra voltou do Brasil no sábado e disse-me que o acordo foi assinado.\n"
) * 40

# Sentences whose multiword tokens split `do` into `de o` and a verb's `-me` off it, as UD Portuguese does.
TREEBANK = """# text = Voltou do Porto.
1\tVoltou\tvoltar\tVERB\t_\t_\t0\troot\t_\t_
2-3\tdo\t_\t_\t_\t_\t_\t_\t_\t_
2\tde\tde\tADP\t_\t_\t4\tcase\t_\t_
3\to\to\tDET\t_\t_\t4\tdet\t_\t_
4\tPorto\tPorto\tPROPN\t_\t_\t1\tobl\t_\t_
5\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_

# text = Disse-me do acordo.
1-2\tDisse-me\t_\t_\t_\t_\t_\t_\t_\t_
1\tDisse\tdizer\tVERB\t_\t_\t0\troot\t_\t_
2\tme\teu\tPRON\t_\t_\t1\tiobj\t_\t_
3-4\tdo\t_\t_\t_\t_\t_\t_\t_\t_
3\tde\tde\tADP\t_\t_\t5\tcase\t_\t_
4\to\to\tDET\t_\t_\t5\tdet\t_\t_
5\tacordo\tacordo\tNOUN\t_\t_\t1\tobl\t_\t_
6\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_

# text = Chamou-me.
1-2\tChamou-me\t_\t_\t_\t_\t_\t_\t_\t_
1\tChamou\tchamar\tVERB\t_\t_\t0\troot\t_\t_
2\tme\teu\tPRON\t_\t_\t1\tobj\t_\t_
3\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_

"""


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "novel.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_vectors_hold_the_words_the_tagger_reads_and_train_a_tagger(text_file, tmp_path):
    pytest.importorskip("gensim")
    treebank = tmp_path / "train.conllu"
    treebank.write_text(TREEBANK, encoding="utf-8")
    out = tmp_path / "vectors.txt"
    result = cli("vectors", text_file, "--contractions-from", treebank, "--out", out, "--dim", 8, "--min-count", 2)
    assert result.exit_code == 0, result.output
    assert "epoch 5 of 5 done" in result.stderr  # a pass over a large text takes minutes: each is reported
    words, rows = read_vectors(out, lowercase=True)
    assert {"de", "o", "disse", "me", "porto", "ministro"} <= set(words)
    assert not {"do", "disse-me", "Porto"} & set(words) and all(len(row) == 8 for row in rows)
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # the tokenized copy is gone

    data = {
        "data": {"train": str(SAMPLES / "sample-ner" / "train.conll"), "label_column": "4"},
        "model": {"vectors": str(out), "word_dim": 8, "char_dim": 4, "char_hidden": 4, "hidden": 6, "case_dim": 2},
        "train": {"epochs": 1, "device": "cpu", "threads": 1},
    }
    logged = []
    training.train(config_module.from_dict(data, "test"), tmp_path / "run", show_progress=False, log=logged.append)
    assert any("start from their pretrained vector" in line for line in logged), logged


def test_an_existing_output_is_kept_without_force(text_file, tmp_path):
    out = tmp_path / "vectors.txt"
    out.write_text("mine\n", encoding="utf-8")
    result = cli("vectors", text_file, "--out", out)
    assert result.exit_code == 2 and "already exists" in result.stderr and result.stderr.count("\n") == 1
    assert out.read_text(encoding="utf-8") == "mine\n"
    pytest.importorskip("gensim")  # (without it, that is what the one line says)
    nowhere = tmp_path / "missing" / "vectors.txt"
    result = cli("vectors", text_file, "--out", nowhere)
    assert result.exit_code == 2 and result.stderr == f"error: {nowhere}: cannot write here (No such file or directory)\n"


def test_without_gensim_one_line_says_what_to_install(text_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim", None)
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    result = cli("vectors", text_file, "--out", tmp_path / "vectors.txt")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "tagger[vectors]" in result.stderr
    assert not list(tmp_path.glob("*vectors*"))


def test_a_binary_file_is_refused_naming_the_file_and_line(tmp_path):
    pytest.importorskip("gensim")
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"fine line\n\x00\x01\x02 not text\n")
    result = cli("vectors", binary, "--out", tmp_path / "vectors.txt")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "image.txt" in result.stderr and ":2" in result.stderr
    assert not (tmp_path / "vectors.txt").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_max_words_keeps_the_most_frequent_words(tmp_path):
    pytest.importorskip("gensim")
    from collections import Counter

    text = tmp_path / "text.txt"
    text.write_text("".join(f"common{i % 4} rare{i % 40} common{i % 4}\n" for i in range(400)), encoding="utf-8")
    out = tmp_path / "vectors.txt"
    result = cli("vectors", text, "--out", out, "--dim", 4, "--min-count", 1, "--max-words", 10)
    assert result.exit_code == 0, result.output
    words, _ = read_vectors(out, lowercase=True)
    counts = Counter(text.read_text().split())
    assert 4 <= len(words) <= 10 and min(counts[word] for word in words) > max(counts[w] for w in counts if w not in words)
