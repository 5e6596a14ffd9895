"""tagger: BiLSTM/BiGRU sequence labelling (POS, NER) for CoNLL corpora.

`from tagger import Tagger` gives the Python API; the import is lazy so that the command
line starts without loading torch until a command needs it.
"""

__all__ = ["Tagger"]


def __getattr__(name: str):
    if name == "Tagger":
        from tagger.api import Tagger

        return Tagger
    raise AttributeError(f"module 'tagger' has no attribute {name!r}")
