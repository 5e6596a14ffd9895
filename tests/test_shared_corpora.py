"""Figures from ../shared/corpora/README.md that the readers must reproduce."""

import io
from pathlib import Path

import pytest

from tagger import corpora
from tagger.formats import Layout, read_all, write_corpus
from tests.conftest import ROOT

CONLL03 = {
    "eng.train": (14041, 203621, {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}),
    "eng.testa": (3250, 51362, {"LOC": 1837, "MISC": 922, "ORG": 1341, "PER": 1842}),
    "eng.testb": (3453, 46435, {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617}),
}


@pytest.mark.parametrize("name", sorted(CONLL03))
def test_conll2003_counts(shared_corpora, name):
    sentences, tokens, entities = CONLL03[name]
    stats = corpora.stats(str(shared_corpora / "conll2003-en" / name), label_column="4")
    assert (stats.sentences, stats.tokens, dict(stats.entities)) == (sentences, tokens, entities)
    assert stats.scheme == "IOB1"


@pytest.mark.parametrize(
    "relative, sentences, words",
    [
        ("pt-bosque/pt_bosque-ud-train.conllu", 7018, 171776),
        ("pt-bosque/pt_bosque-ud-dev.conllu", 1172, 28447),
        ("pt-bosque/pt_bosque-ud-test.conllu", 1167, 27604),
        ("sk-snk/sk_snk-ud-train.conllu.xz", 36704, 605605),
        ("sk-snk/sk_snk-ud-dev.conllu", 1060, 12754),
        ("sk-snk/sk_snk-ud-test.conllu", 1061, 12744),
    ],
)
def test_ud_portuguese_and_slovak_counts_are_the_readmes(shared_corpora, relative, sentences, words):
    """The ud-more table of ../shared/corpora/README.md, read as the UPOS recipes read it (the xz train included)."""
    stats = corpora.stats(str(shared_corpora / "ud-more" / relative), label_column="upos")
    assert (stats.sentences, stats.tokens) == (sentences, words)
    assert len(stats.labels) <= 17


@pytest.mark.parametrize("split, sentences, words", [("train", 12544, 204577), ("dev", 2001, 25147), ("test", 2077, 25094)])
def test_ud_ewt_counts(shared_corpora, split, sentences, words):
    stats = corpora.stats(str(shared_corpora / "ud-en-ewt" / f"en_ewt-ud-{split}.conllu"), label_column="upos")
    assert (stats.sentences, stats.tokens, len(stats.labels)) == (sentences, words, 17)


@pytest.mark.parametrize("relative", ["conll2003-en/eng.train", "conll2003-en/eng.testb", "ud-en-ewt/en_ewt-ud-train.conllu"])
def test_round_trip_is_byte_identical(shared_corpora, relative):
    path = shared_corpora / relative
    format_name, column, sentences = read_all(str(path))
    out = io.StringIO(newline="")
    write_corpus(sentences, out, format_name, column, column)
    assert out.getvalue().encode("utf-8") == path.read_bytes()


def test_iob1_to_iob2_and_back_is_lossless(shared_corpora, tmp_path):
    source = shared_corpora / "conll2003-en" / "eng.train"
    corpora.convert_file(str(source), str(tmp_path / "iob2"), "iob2", Layout(label_column="4"))
    converted = corpora.stats(str(tmp_path / "iob2"), label_column="4")
    assert converted.scheme == "IOB2" and sum(converted.entities.values()) == 23499
    corpora.convert_file(str(tmp_path / "iob2"), str(tmp_path / "iob1"), "iob1", Layout(label_column="4"))
    before = source.read_text().splitlines()
    after = (tmp_path / "iob1").read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    # eng.train has two non-canonical IOB1 tags (a B-MISC right after O);
    # they come back as the canonical I-, every other line is unchanged.
    assert len(before) == len(after) and len(changed) == 2
    assert all(a.endswith(" B-MISC") and b == a[: -len("B-MISC")] + "I-MISC" for a, b in changed)


@pytest.mark.parametrize(
    "name, sentences, tokens, entities",
    [
        ("btc.train", 6338, 99933, {"LOC": 2030, "ORG": 2665, "PER": 4084}),
        ("btc.dev", 1001, 15027, {"LOC": 156, "ORG": 380, "PER": 1194}),
        # The README counts 2,000 tweets and 35,429 tokens: its line 13045 is a single space
        # (a token broken by a line break), which column-file readers take as a sentence break.
        ("btc.test", 2001, 35428, {"LOC": 636, "ORG": 1090, "PER": 2650}),
    ],
)
def test_broad_twitter_corpus_counts_keep_hash_tokens(shared_corpora, name, sentences, tokens, entities):
    stats = corpora.stats(str(shared_corpora / "btc-en" / name), label_column="2")
    assert (stats.sentences, stats.tokens, dict(stats.entities)) == (sentences, tokens, entities)
    assert stats.scheme == "IOB2"


@pytest.mark.parametrize("config_file", sorted((ROOT / "configs").glob("*.toml")), ids=lambda path: path.name)
def test_every_shipped_config_loads_and_names_files_that_exist(shared_corpora, config_file, monkeypatch):
    from tagger import config as config_module

    monkeypatch.chdir(ROOT)  # config paths are relative to the repository root
    data = config_module.load(config_file).data
    corpora_files = [data.test, *(entry.path for entry in config_module.training_corpora(data) + config_module.dev_corpora(data))]
    # A file under runs/ is one a maintainers' script in tools/ writes from ../shared (a corpus that
    # needs cleaning first); the config's comment names the script, which must exist and name the file.
    written = [path for path in corpora_files if path and path.startswith("runs/")]
    tools = " ".join(script.read_text(encoding="utf-8") for script in (ROOT / "tools").glob("*.py"))
    assert all(path in tools for path in written), written
    missing = [path for path in corpora_files if path and path not in written and not Path(path).is_file()]
    assert not missing
    # A character LM under runs/ is one `tagger pretrain` writes: the config's comment gives the command.
    char_lm = config_module.load(config_file).model.char_lm
    if char_lm.startswith("runs/"):
        assert "tagger pretrain" in config_file.read_text(encoding="utf-8") and f"--out {char_lm}" in config_file.read_text(
            encoding="utf-8"
        )
    else:
        assert not char_lm or Path(char_lm).is_dir()
    # Word vectors under runs/ are ones `tagger vectors` makes from ../shared's text: the comment gives the command.
    vectors = config_module.load(config_file).model.vectors
    if vectors.startswith("runs/"):
        text = config_file.read_text(encoding="utf-8")
        assert "tagger vectors" in text and f"--out {vectors}" in text


UNER = {"hr": "hr_set", "pt": "pt_bosque", "sk": "sk_snk", "sr": "sr_set", "sv": "sv_talbanken", "zh": "zh_gsdsimp"}
UNER_FILES = [f"{code}/{prefix}-ud-{split}.iob2" for code, prefix in UNER.items() for split in ("train", "dev", "test")]


def uner_counts_in_the_readme(shared_corpora: Path) -> dict[str, tuple[int, int, int]]:
    """The README's Universal NER table: file name -> (sentences, tokens, entities)."""
    counts = {}
    for line in (shared_corpora / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[4].endswith(".iob2"):
            counts[cells[4]] = tuple(int(cell.replace(",", "")) for cell in cells[5:])
    return counts


@pytest.mark.parametrize("relative", UNER_FILES)
def test_universal_ner_counts_and_scheme_are_the_readmes(shared_corpora, relative):
    expected = uner_counts_in_the_readme(shared_corpora)
    assert len(expected) == len(UNER_FILES)
    stats = corpora.stats(str(shared_corpora / "uner" / relative), token_column=2, label_column="3")
    assert (stats.sentences, stats.tokens, sum(stats.entities.values())) == expected[Path(relative).name]
    assert stats.scheme == "IOB2"  # despite the few I- after O in hr dev, sr dev and train
