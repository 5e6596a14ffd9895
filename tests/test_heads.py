"""A model with several heads (#46): parts of speech and entities from one encoder, trained on files that each
carry one kind of labels, tagging both in one pass, the same in both engines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tagger import config as config_module
from tagger import network, schemes, training
from tagger.batching import collate, encode
from tagger.config import ConfigError, ModelConfig
from tagger.errors import TaggerError
from tagger.model import TaggerModel
from tagger.predict import ConfidenceRequest, Predictor
from tests.conftest import SAMPLES
from tests.helpers import cli

NER, UPOS = SAMPLES / "sample-ner", SAMPLES / "sample-upos"
SMALL = {"word_dim": 8, "char_dim": 6, "char_hidden": 6, "hidden": 10, "case_dim": 3}
TEXT = "Maria Lopez flew from Oslo to Lagos .\nPeter works for Acme in Berlin .\n"


def joint_config(**model: object) -> dict:
    return {
        "data": {
            "train": [
                {"path": str(UPOS / "train.conllu"), "label_column": "upos", "head": "upos"},
                {"path": str(NER / "train.conll"), "label_column": "4", "head": "ner"},
            ],
            "dev": [{"path": str(UPOS / "dev.conllu"), "head": "upos"}, {"path": str(NER / "dev.conll"), "head": "ner"}],
        },
        "model": {**SMALL, **model},
        "train": {"epochs": 2, "batch_size": 16, "lr": 0.02, "device": "cpu", "threads": 1},
    }


@pytest.fixture(scope="module")
def joint_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("heads") / "run"
    training.train(config_module.from_dict(joint_config(), "test"), out, show_progress=False, log=lambda message: None)
    return out


def test_the_model_directory_names_each_heads_task_and_labels(joint_model):
    task = json.loads((joint_model / "config.json").read_text())["task"]
    vocab = json.loads((joint_model / "vocab.json").read_text())
    assert task["label_column"] == "upos" and [head["name"] for head in task["heads"]] == ["upos", "ner"]
    assert task["heads"][1]["task"]["label_column"] == "4" and task["heads"][1]["task"]["corpus_scheme"]
    assert vocab["heads"]["upos"] == vocab["labels"] and "NOUN" in vocab["labels"]
    assert "S-PER" in vocab["heads"]["ner"] and "NOUN" not in vocab["heads"]["ner"]
    calibration = json.loads((joint_model / "calibration.json").read_text())
    assert set(calibration["heads"]) == {"ner"}
    assert not [path for path in joint_model.rglob("*") if path.suffix in (".pt", ".pkl", ".bin")]


def test_tag_writes_every_head_from_one_call_as_each_head_labels_alone(joint_model):
    result = cli("tag", joint_model, "--input-format", "tokens", stdin=TEXT)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    predictor = Predictor.load(joint_model)
    token_lists = [line.split() for line in TEXT.splitlines()]
    for name, head in predictor.heads():
        alone = [schemes.convert(tags, "IOB2") if head.task.spans else tags for tags in head.predict(token_lists)]
        assert [[token[name] for token in record["tokens"]] for record in records] == alone
    assert {token["upos"] for record in records for token in record["tokens"]} <= set(predictor.vocab.labels.symbols)
    assert all(token["ner"] == "O" or token["ner"][:2] in ("B-", "I-") for record in records for token in record["tokens"])


def test_each_head_gives_the_same_labels_and_confidences_in_numpy_and_torch(joint_model):
    reference, engine = Predictor.load(joint_model, "cpu", "torch"), Predictor.load(joint_model, "cpu", "numpy")
    token_lists = [line.split() for line in TEXT.splitlines()] + [["the"], ["Oslo", "Oslo", "OSLO"]]
    request = ConfidenceRequest(nbest=2)
    for (name, theirs), (_, ours) in zip(reference.heads(), engine.heads()):
        expected = theirs.predict_encoded(theirs.encode(token_lists), 8, with_scores=True, confidence=request)
        found = ours.predict_encoded(ours.encode(token_lists), 8, with_scores=True, confidence=request)
        assert found.labels == expected.labels, name
        for mine, other in zip(found.scores, expected.scores):
            assert mine == pytest.approx(other, abs=1e-5)
        for mine, other in zip(found.confidences, expected.confidences):
            assert mine.tokens == pytest.approx(other.tokens, abs=1e-5)
        assert ours.temperature == theirs.temperature


def test_a_sentence_trains_its_own_head_and_the_shared_encoder_only():
    config = ModelConfig(**SMALL)
    model = TaggerModel(config, 40, 30, ["NOUN", "VERB"], None, {"ner": (["O", "S-PER", "B-PER", "I-PER", "E-PER"], "iobes")})
    from tagger.vocab import Index, Vocab

    vocab = Vocab(Index(["<pad>", "<unk>", "a", "b"]), Index(["<pad>", "<unk>", "a", "b"]), Index(["NOUN", "VERB"]))
    item = encode(["a", "b"], vocab, ["NOUN", "VERB"])
    for head, untouched in ((0, "heads.ner."), (1, "output.")):
        model.zero_grad(set_to_none=False)
        item.head = head
        model.loss(collate([item, item], [0, 1])).backward()
        grads = {name: parameter.grad for name, parameter in model.named_parameters()}
        grads = {name: grad if grad is not None else torch.zeros(1) for name, grad in grads.items()}
        assert all(
            not grads[name].any() for name in grads if name.startswith(untouched) or (head == 1 and name.startswith("crf."))
        )
        trained = "output." if head == 0 else "heads.ner.output."
        assert grads[f"{trained}weight"].abs().sum() > 0 and grads["rnn.weight_ih_l0"].abs().sum() > 0


def test_the_layer_description_names_every_parameter_of_a_model_with_heads():
    config = ModelConfig(**SMALL)
    heads = {"ner": (["O", "S-PER"], "iobes"), "chunk": (["B-NP", "I-NP", "O"], "iob2")}
    model = TaggerModel(config, 40, 30, ["NOUN", "VERB"], None, heads)
    described = network.parameter_shapes(network.layers(config, 40, 30, 2, {"ner": 2, "chunk": 3}))
    assert list(described.items()) == [(name, tuple(tensor.shape)) for name, tensor in model.state_dict().items()]


def test_evaluate_scores_the_head_it_is_asked_for(joint_model):
    entities = cli("evaluate", joint_model, NER / "test.conll", "--head", "ner", "--json")
    assert entities.exit_code == 0, entities.output
    assert "f1" in json.loads(entities.stdout)
    tags = cli("evaluate", joint_model, UPOS / "test.conllu", "--json")
    assert tags.exit_code == 0 and "f1" not in json.loads(tags.stdout)
    unknown = cli("evaluate", joint_model, NER / "test.conll", "--head", "chunks")
    assert unknown.exit_code == 2 and unknown.stderr.count("\n") == 1 and "its heads are upos, ner" in unknown.stderr


def test_export_refuses_a_model_with_heads_in_one_line(joint_model, tmp_path):
    result = cli("export", joint_model, tmp_path / "model.onnx")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "several heads" in result.stderr
    assert not list(tmp_path.iterdir())


def test_heads_of_both_kinds_need_the_first_file_to_name_its_head(tmp_path):
    data = joint_config()
    del data["data"]["train"][0]["head"]
    with pytest.raises(TaggerError, match=r"data.train\[0\].head"):
        training.train(config_module.from_dict(data, "test"), tmp_path / "run", show_progress=False, log=lambda m: None)
    data["data"]["train"][0]["head"] = "parts.of.speech"
    with pytest.raises(ConfigError, match="head"):
        config_module.from_dict(data, "test")


def test_a_model_with_heads_tags_without_torch(joint_model):
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "from click.testing import CliRunner\nfrom tagger.cli import main\n"
        f"result = CliRunner().invoke(main, ['tag', {str(joint_model)!r}, '--input-format', 'tokens'], input={TEXT!r})\n"
        "print(result.exit_code); print(result.stdout, end='')"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    exit_code, output = run.stdout.split("\n", 1)
    assert (
        exit_code == "0"
        and output == cli("tag", joint_model, "--input-format", "tokens", "--runtime", "torch", stdin=TEXT).stdout
    )
    assert torch.__name__ == "torch"  # the torch reference ran in this process


def test_the_python_api_gives_every_head_as_tag_writes_them_or_the_head_asked_for(joint_model):
    from tagger import Tagger

    text = "Maria Lopez flew from Oslo to Lagos."
    written = json.loads(cli("tag", joint_model, stdin=text).stdout)
    both = Tagger.load(joint_model).tag(text)
    assert both == [{key: value for key, value in written.items() if key not in ("file", "doc", "sentence")}]
    entities = Tagger.load(joint_model, head="ner").tag(text, confidence=True)
    assert [token["label"] for token in entities[0]["tokens"]] == [token["ner"] for token in written["tokens"]]
    with pytest.raises(ValueError, match="head=NAME"):
        Tagger.load(joint_model).tag(text, scores=True)


def test_a_model_with_heads_resumes_to_the_uninterrupted_model(tmp_path):
    quiet = {"show_progress": False, "log": lambda message: None}
    training.train(config_module.from_dict(joint_config(), "test"), tmp_path / "full", **quiet)
    first_part = joint_config()
    first_part["train"]["epochs"] = 1
    training.train(config_module.from_dict(first_part, "test"), tmp_path / "part", **quiet)
    training.train(config_module.from_dict(joint_config(), "test"), tmp_path / "part", resume=True, **quiet)
    for name in ("model.safetensors", "vocab.json"):
        assert (tmp_path / "part" / name).read_bytes() == (tmp_path / "full" / name).read_bytes(), name


def indexed_copy(source: Path, target: Path) -> Path:
    """A CoNLL file as Universal NER writes its files: an index column, the token, the tag."""
    lines, index = [], 0
    for line in source.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if lines and lines[-1]:
                lines.append("")
            index = 0
            continue
        index += 1
        lines.append(f"{index}\t{fields[0]}\t{fields[-1]}")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def test_a_head_reads_files_in_its_own_training_columns(tmp_path):
    data = joint_config()
    data["train"]["epochs"] = 1
    ner = {split: indexed_copy(NER / f"{split}.conll", tmp_path / f"{split}.iob2") for split in ("train", "dev", "test")}
    data["data"]["train"][1] = {"path": str(ner["train"]), "token_column": 2, "label_column": "3", "head": "ner"}
    data["data"]["dev"][1] = {"path": str(ner["dev"]), "head": "ner"}
    training.train(config_module.from_dict(data, "test"), tmp_path / "run", show_progress=False, log=lambda message: None)
    result = cli("evaluate", tmp_path / "run", ner["test"], "--head", "ner", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["token_column"] == "2" and report["label_column"] == "3" and report["unknown_tokens"] < 0.2


def test_calibrate_without_a_head_refuses_a_model_with_heads_in_one_line_and_keeps_its_calibration(joint_model):
    before = (joint_model / "calibration.json").read_bytes()
    result = cli("calibrate", joint_model, NER / "dev.conll")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "several heads" in result.stderr
    assert f"{joint_model}:upos" in result.stderr
    assert (joint_model / "calibration.json").read_bytes() == before


def test_calibrate_model_colon_head_refits_that_head_and_keeps_the_others(joint_model, tmp_path):
    trained = json.loads((joint_model / "calibration.json").read_text())
    result = cli("calibrate", f"{joint_model}:ner", NER / "test.conll", "--out", tmp_path / "ner-refit")
    assert result.exit_code == 0, result.output
    refit = json.loads((tmp_path / "ner-refit" / "calibration.json").read_text())
    assert refit["heads"]["ner"] != pytest.approx(trained["heads"]["ner"], rel=1e-3)
    assert {key: value for key, value in refit.items() if key != "heads"} == {
        key: value for key, value in trained.items() if key != "heads"
    }
    assert Predictor.load(tmp_path / "ner-refit").head("ner").temperature == refit["heads"]["ner"]
    # without files, the head's own dev files from the model's config: training's fit again
    again = cli("calibrate", f"{joint_model}:ner", "--out", tmp_path / "ner-again")
    assert again.exit_code == 0, again.output
    refit_again = json.loads((tmp_path / "ner-again" / "calibration.json").read_text())
    assert refit_again["heads"]["ner"] == pytest.approx(trained["heads"]["ner"], rel=1e-3)
    upos = cli("calibrate", f"{joint_model}:upos", UPOS / "test.conllu", "--out", tmp_path / "upos-refit")
    assert upos.exit_code == 0, upos.output
    upos_refit = json.loads((tmp_path / "upos-refit" / "calibration.json").read_text())
    assert upos_refit["heads"] == trained["heads"] and upos_refit["files"] == [str(UPOS / "test.conllu")]
    assert upos_refit["temperature"] != pytest.approx(trained["temperature"], rel=1e-3)


@pytest.mark.parametrize("launch", ["workers", "torchrun"])
def test_several_processes_refuse_a_model_with_heads_in_one_line(joint_model, tmp_path, launch):
    text = tmp_path / "text.txt"
    text.write_text(TEXT, encoding="utf-8")
    command = ["-m", "tagger", "tag", str(joint_model), str(text), "--output", str(tmp_path / "out.jsonl")]
    if launch == "workers":
        command = [sys.executable, *command, "--workers", "2"]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    refusal = [line for line in result.stderr.splitlines() if "several heads" in line]
    assert result.returncode != 0 and len(refusal) >= 1 and refusal[0].startswith("error: ")
    if launch == "workers":  # torchrun's launcher adds its own report of the ranks' exit
        assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_model_colon_head_names_one_head_for_tag_evaluate_and_the_api(joint_model):
    from tagger import Tagger

    both = [json.loads(line) for line in cli("tag", joint_model, "--input-format", "tokens", stdin=TEXT).stdout.splitlines()]
    for head in ("upos", "ner"):
        alone = cli("tag", f"{joint_model}:{head}", "--input-format", "tokens", "--confidence", stdin=TEXT)
        assert alone.exit_code == 0, alone.output
        records = [json.loads(line) for line in alone.stdout.splitlines()]
        assert [[token["label"] for token in record["tokens"]] for record in records] == [
            [token[head] for token in record["tokens"]] for record in both
        ]
        assert all("confidence" in token for record in records for token in record["tokens"])
    chosen = cli("evaluate", f"{joint_model}:ner", NER / "test.conll", "--json")
    flag = cli("evaluate", joint_model, NER / "test.conll", "--head", "ner", "--json")
    assert json.loads(chosen.stdout)["f1"] == json.loads(flag.stdout)["f1"]
    assert Tagger.load(f"{joint_model}:ner").tag("Maria flew to Oslo.") == Tagger.load(joint_model, head="ner").tag(
        "Maria flew to Oslo."
    )
    unknown = cli("tag", f"{joint_model}:chunks", stdin="Maria flew.")
    assert unknown.exit_code == 2 and "its heads are upos, ner" in unknown.stderr


def test_one_file_listed_for_two_heads_counts_each_word_once():
    """UPOS and XPOS heads from the same CoNLL-U file: the vocabulary (min_word_count) and the words read as seen
    once (singleton dropout) are those of the file read once, not of every word seen twice."""
    from tagger.training.data import build_vocab, read_corpus_for_training, singleton_ids

    def words_and_singletons(train: list[dict]) -> tuple[list[str], set[str]]:
        data = {"data": {"train": train, "dev": [{"path": str(UPOS / "dev.conllu"), "head": "upos"}]}}
        found = []
        for min_word_count in (2, 1):
            config = config_module.from_dict({**data, "model": {**SMALL, "min_word_count": min_word_count}}, "test")
            corpus = read_corpus_for_training(config, log=lambda message: None)
            vocab, _ = build_vocab(config, corpus, log=lambda message: None)
            found.append(vocab)
        return found[0].words.symbols, {found[1].words.symbols[i] for i in singleton_ids(corpus, found[1])}

    upos = {"path": str(UPOS / "train.conllu"), "label_column": "upos", "head": "upos"}
    alone = words_and_singletons([upos])
    both = words_and_singletons([upos, {"path": str(UPOS / "train.conllu"), "label_column": "xpos", "head": "xpos"}])
    assert both == alone and alone[1]
