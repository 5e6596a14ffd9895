"""Raw text split into the words a treebank wrote (#46): Portuguese `do` is the words `de o` in UD Bosque."""

from __future__ import annotations

import json

from tagger import config as config_module
from tagger import training
from tagger.contractions import CONTRACTIONS, learn_contractions, read_contractions
from tests.conftest import write
from tests.helpers import TINY_MODEL, cli

# Sentences written for this test in CoNLL-U, with multiword tokens (`do` = `de o`, `disse-me` = `disse me`).
TREEBANK = """\
# text = Ele saiu do Porto.
1\tEle\tele\tPRON\t_\t_\t2\tnsubj\t_\t_
2\tsaiu\tsair\tVERB\t_\t_\t0\troot\t_\t_
3-4\tdo\t_\t_\t_\t_\t_\t_\t_\t_
3\tde\tde\tADP\t_\t_\t5\tcase\t_\t_
4\to\to\tDET\t_\t_\t5\tdet\t_\t_
5\tPorto\tPorto\tPROPN\t_\t_\t2\tobl\t_\t_
6\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_

# text = Ela disse-me que veio do Rio.
1\tEla\tela\tPRON\t_\t_\t2\tnsubj\t_\t_
2-3\tdisse-me\t_\t_\t_\t_\t_\t_\t_\t_
2\tdisse\tdizer\tVERB\t_\t_\t0\troot\t_\t_
3\tme\teu\tPRON\t_\t_\t2\tiobj\t_\t_
4\tque\tque\tSCONJ\t_\t_\t5\tmark\t_\t_
5\tveio\tvir\tVERB\t_\t_\t2\tccomp\t_\t_
6-7\tdo\t_\t_\t_\t_\t_\t_\t_\t_
6\tde\tde\tADP\t_\t_\t8\tcase\t_\t_
7\to\to\tDET\t_\t_\t8\tdet\t_\t_
8\tRio\tRio\tPROPN\t_\t_\t5\tobl\t_\t_
9\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_

# text = Ele chama-me e falou-me.
1\tEle\tele\tPRON\t_\t_\t2\tnsubj\t_\t_
2-3\tchama-me\t_\t_\t_\t_\t_\t_\t_\t_
2\tchama\tchamar\tVERB\t_\t_\t0\troot\t_\t_
3\tme\teu\tPRON\t_\t_\t2\tobj\t_\t_
4\te\te\tCCONJ\t_\t_\t5\tcc\t_\t_
5-6\tfalou-me\t_\t_\t_\t_\t_\t_\t_\t_
5\tfalou\tfalar\tVERB\t_\t_\t2\tconj\t_\t_
6\tme\teu\tPRON\t_\t_\t5\tiobj\t_\t_
7\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_

"""


def test_contractions_are_learnt_from_multiword_tokens(tmp_path):
    contractions = learn_contractions([str(write(tmp_path / "train.conllu", TREEBANK))])
    assert contractions.splits["do"] == ["de", "o"] and "chama-me" not in contractions.splits  # seen once
    assert contractions.clitics == {"me"}
    assert contractions.words("Do") == ["De", "o"] and contractions.words("vendeu-me") == ["vendeu", "me"]
    assert contractions.words("guarda-chuva") is None and contractions.words("Porto") is None


def test_a_model_trained_on_a_treebank_tags_raw_text_in_its_words(tmp_path):
    train = write(tmp_path / "train.conllu", TREEBANK)
    config = config_module.from_dict(
        {
            "data": {"train": str(train), "dev": str(train), "label_column": "upos"},
            "model": TINY_MODEL,
            "train": {"epochs": 1, "device": "cpu", "threads": 1},
        },
        "test",
    )
    run = tmp_path / "run"
    training.train(config, run, show_progress=False, log=lambda message: None)
    assert read_contractions(run).splits["do"] == ["de", "o"]
    text = "Ela saiu do Porto e contou-me tudo."
    result = cli("tag", run, "-", "--output-format", "jsonl", stdin=text + "\n", catch_exceptions=False)
    record = json.loads(result.stdout.splitlines()[0])
    tokens = [token["text"] for token in record["tokens"]]
    assert tokens[:7] == ["Ela", "saiu", "de", "o", "Porto", "e", "contou"] and tokens[7] == "me"
    do = text.index("do")
    assert [(token["start"], token["end"]) for token in record["tokens"][2:4]] == [(do, do + 2)] * 2
    from tagger.api import Tagger

    assert [token["text"] for token in Tagger.load(run).tag("Voltou do Rio.")[0]["tokens"]] == ["Voltou", "de", "o", "Rio", "."]
    write(run / CONTRACTIONS, '{"format_version": 1, "splits": {"do": "de o"}, "clitics": []}')
    damaged = cli("tag", run, "-", stdin="Voltou do Rio.\n")
    assert damaged.exit_code == 2 and "contractions.json" in damaged.stderr and len(damaged.stderr.strip().splitlines()) == 1
