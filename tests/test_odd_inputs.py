"""Odd but valid inputs: huge and one-token sentences, labels with unusual characters."""

from tagger.predict import Predictor
from tests.conftest import write
from tests.helpers import TINY_MODEL


def test_a_hundred_thousand_token_sentence_and_one_token_sentences(ner_model):
    predictor = Predictor.load(ner_model, "cpu")
    long = ["word"] * 100_000
    labels = predictor.predict([long, ["Oslo"], ["."]])
    assert [len(sentence) for sentence in labels] == [100_000, 1, 1]


def test_labels_with_unusual_characters_round_trip(tmp_path):
    from tagger import config as config_module
    from tagger import training

    lines = []
    for index in range(40):
        lines += [f"word{index % 5} lab/él-{index % 3}", f"other{index % 4} ∅|x=y", ""]
    train = write(tmp_path / "odd.conll", "\n".join(lines) + "\n")
    config = config_module.from_dict(
        {
            "data": {"train": str(train)},
            "model": TINY_MODEL,
            "train": {"epochs": 1, "device": "cpu"},
        },
        "test",
    )
    training.train(config, tmp_path / "run", show_progress=False, log=lambda message: None)
    predicted = Predictor.load(tmp_path / "run", "cpu").predict([["word1", "other2"]])
    assert set(predicted[0]) <= {"lab/él-0", "lab/él-1", "lab/él-2", "∅|x=y"}


def test_training_on_a_corpus_of_one_token_sentences(tmp_path):
    from tagger import config as config_module
    from tagger import training

    words = ["Paris", "run", "Oslo", "the", "Maria", "blue"]
    labels = ["I-LOC", "O", "I-LOC", "O", "I-PER", "O"]
    text = "".join(f"{words[i % 6]} {labels[i % 6]}\n\n" for i in range(60))
    train = write(tmp_path / "single.conll", text)
    config = config_module.from_dict(
        {
            "data": {"train": str(train), "dev": str(train)},
            "model": TINY_MODEL,
            "train": {"epochs": 3, "device": "cpu", "lr": 0.05},
        },
        "test",
    )
    metrics = training.train(config, tmp_path / "run", show_progress=False, log=lambda message: None)
    assert metrics["epochs_run"] == 3
    predicted = Predictor.load(tmp_path / "run", "cpu").predict([["Paris"], ["run"]])
    assert all(len(labels) == 1 for labels in predicted)
