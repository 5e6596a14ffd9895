"""Models shipped inside the package, found by name, and their cards (no torch).

Each bundled model is an ordinary model directory under `tagger/models/NAME/` with two
more files: `card.json` (what `tagger models NAME --json` prints) and `CARD.md`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tagger.config import HEAD_NAME
from tagger.errors import TaggerError
from tagger.model_files import VOCAB, read_json_object
from tagger.reports import text_table
from tagger.vocab import describe_scripts, word_scripts

BUNDLED_DIR = Path(__file__).parent / "models"
CARD_JSON, CARD_MARKDOWN = "card.json", "CARD.md"
OWN_TABLE, SHARED_TABLE = "vectors.safetensors", "vectors.json"  # a model's frozen vectors, or the name of shared ones
SHARED_DIR = BUNDLED_DIR / "shared"  # vector tables that several bundled models read
SHARED_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")
MAX_SHARED_JSON_BYTES = 4096
LISTED_SCORES = 2  # test scores per model in `tagger models`; the card has them all


def table_file(directory: Path) -> Path:
    """A model's frozen vector table: its own vectors.safetensors, or the shared bundled table its vectors.json names."""
    own, named = directory / OWN_TABLE, directory / SHARED_TABLE
    if own.is_file() or not named.is_file():
        return own
    data = read_json_object(named, MAX_SHARED_JSON_BYTES)
    name = data.get("shared")
    if not isinstance(name, str) or not SHARED_NAME.fullmatch(name):
        raise TaggerError(f"{named}: 'shared' must name a bundled table (lowercase letters, digits, '.', '-')")
    return SHARED_DIR / f"{name}.safetensors"


def bundled_names() -> list[str]:
    """Names of the bundled models, sorted."""
    if not BUNDLED_DIR.is_dir():
        return []
    return sorted(path.name for path in BUNDLED_DIR.iterdir() if (path / CARD_JSON).is_file())


def _names_text() -> str:
    names = bundled_names()
    return f"bundled models: {', '.join(names)}" if names else "this installation has no bundled models"


# Old names of bundled models that are now one head of a bundled model with several
ALIASES = {"pt-upos": "pt-upos-ner:upos", "sk-upos": "sk-upos-ner:upos"}


def aliased(name: str | Path) -> str | Path:
    """What a bundled model's old name names now (`sk-upos`: `sk-upos-ner:upos`); an existing directory wins."""
    return ALIASES[str(name)] if str(name) in ALIASES and not Path(name).is_dir() else name


def split_head(name: str | Path) -> tuple[str | Path, str | None]:
    """`runs/pt-upos-ner:ner` as the model and the head, after an old name's alias (`pt-upos`: `pt-upos-ner`, head
    `upos`); a name without a head, or an existing directory, as it is."""
    name = aliased(name)
    model, _, head = str(name).rpartition(":")
    if not model or Path(name).is_dir() or not re.fullmatch(HEAD_NAME, head):
        return name, None
    return model, head


def resolve_model(name_or_path: str | Path) -> Path:
    """The model directory meant by a path or a bundled model's name (or old name): an existing directory wins."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    name_or_path = split_head(name_or_path)[0]
    if str(name_or_path) in bundled_names():
        return BUNDLED_DIR / str(name_or_path)
    raise TaggerError(f"{name_or_path}: no such model directory and no bundled model of that name ({_names_text()})")


def split_model_names(argument: str) -> list[str]:
    """`en-upos,en-ner` as two models; a path to an existing directory is one model even with a comma in it."""
    if Path(argument).is_dir() or "," not in argument:
        return [argument]
    names = [part.strip() for part in argument.split(",")]
    if not all(names):
        raise TaggerError(f"{argument}: an empty model name between commas")
    if len(set(names)) != len(names):
        raise TaggerError(f"{argument}: a model is named twice")
    return names


def _card_data(name: str) -> dict:
    """card.json of a bundled model, as bundling wrote it."""
    if name not in bundled_names():
        raise TaggerError(f"{name}: no bundled model of that name ({_names_text()})")
    path = BUNDLED_DIR / name / CARD_JSON
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TaggerError(f"{path}: not readable JSON ({error})") from None


def card(name: str) -> dict:
    """The card of a bundled model: task, labels, data and license, command and commit, scores, size, and the scripts
    its words are written in (from its vocabulary)."""
    entry = _card_data(name)
    path = BUNDLED_DIR / name / VOCAB
    try:
        words = json.loads(path.read_text(encoding="utf-8"))["words"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise TaggerError(f"{path}: not readable JSON with a word list ({error})") from None
    return {**entry, "scripts": word_scripts(word for word in words if isinstance(word, str))}


def card_markdown(name: str) -> str:
    """The card of a bundled model as Markdown, with the scripts its words are written in (from its vocabulary)."""
    scripts = describe_scripts(card(name)["scripts"])
    text = (BUNDLED_DIR / name / CARD_MARKDOWN).read_text(encoding="utf-8")
    heading, _, rest = text.partition("\n\n")
    line = (
        f"Scripts read: {scripts}. Text in another script is unknown words to it: tagger tag warns, and its labels are guesses."
    )
    return f"{heading}\n\n{line}\n{rest}"


def listing() -> list[dict]:
    """One row per bundled model: name, languages, task, labels, test score, size, license."""
    rows = []
    for name in bundled_names():
        entry = _card_data(name)
        rows.append(
            {
                "name": name,
                "task": entry["task"],
                "labels": entry["labels"],
                "languages": entry["languages"],
                "test": entry["scores"]["test"],
                "more_tests": [more for more in entry["scores"].get("more", []) if more["split"] == "test"],
                "size_bytes": entry["size"]["bytes"],
                "license": entry["data"]["license"],
            }
        )
    return rows


def format_listing(rows: list[dict]) -> str:
    """The bundled models as an aligned table."""
    if not rows:
        return "no bundled models"
    header = ("name", "languages", "task", "labels", "test", "size", "license")
    table = []
    for row in rows:
        labels = ", ".join(row["labels"]) if len(row["labels"]) <= 6 else f"{len(row['labels'])} tags"
        scores = [row["test"], *row["more_tests"]]
        shown, hidden = scores[:LISTED_SCORES], scores[LISTED_SCORES:]
        test = "; ".join(f"{score['metric']} {score['value']:.2f} ({score['file']})" for score in shown)
        if hidden:
            test += f"; {len(hidden)} more files (tagger models {row['name']})"
        size = f"{row['size_bytes'] / 2**20:.1f} MB"
        table.append((row["name"], ", ".join(row["languages"]), row["task"], labels, test, size, row["license"]))
    return text_table(header, table)
