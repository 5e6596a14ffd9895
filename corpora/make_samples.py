"""Write the project's own sample corpora (CC0): a CoNLL-2003 style NER sample and a
CoNLL-U UPOS sample, built from hand-written, hand-annotated sentence templates.

Run `python corpora/make_samples.py` to rewrite `corpora/sample-ner/` and
`corpora/sample-upos/`; the output is the same on every run (fixed seed).
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLITS = {"train": 320, "dev": 100, "test": 100}

# Penn Treebank tag -> UPOS; a token written word/TAG:UPOS overrides the mapping.
PTB_TO_UPOS = {
    "NN": "NOUN",
    "NNS": "NOUN",
    "NNP": "PROPN",
    "NNPS": "PROPN",
    "DT": "DET",
    "IN": "ADP",
    "JJ": "ADJ",
    "JJR": "ADJ",
    "JJS": "ADJ",
    "VB": "VERB",
    "VBD": "VERB",
    "VBG": "VERB",
    "VBN": "VERB",
    "VBP": "VERB",
    "VBZ": "VERB",
    "MD": "AUX",
    "RB": "ADV",
    "CC": "CCONJ",
    "CD": "NUM",
    "PRP": "PRON",
    "PRP$": "PRON",
    "TO": "PART",
    "POS": "PART",
    ".": "PUNCT",
    ",": "PUNCT",
    ":": "PUNCT",
    "``": "PUNCT",
    "''": "PUNCT",
    "WP": "PRON",
    "WDT": "PRON",
    "WRB": "ADV",
    "UH": "INTJ",
    "$": "SYM",
    "EX": "PRON",
    "RP": "ADP",
}

PEOPLE = [
    "Maria Lopez",
    "John Smith",
    "Aisha Khan",
    "Kenji Watanabe",
    "Olga Petrova",
    "David Okafor",
    "Emma Schulz",
    "Liam Byrne",
    "Priya Natarajan",
    "Tom Becker",
    "Sofia Rossi",
    "Ahmed Hassan",
    "Grace Chen",
    "Lucas Moreau",
    "Nina Berg",
    "Carlos Mendes",
    "Hannah Weiss",
    "Yusuf Demir",
    "Ingrid Larsen",
    "Peter Novak",
    "Fatima Diallo",
    "Mark Evans",
    "Elena Popescu",
    "Samuel Adeyemi",
]
SURNAMES = [name.split()[-1] for name in PEOPLE]
PLACES = [
    "Paris",
    "New York",
    "Lagos",
    "Berlin",
    "Tokyo",
    "Buenos Aires",
    "Nairobi",
    "Oslo",
    "Lisbon",
    "Cape Town",
    "Toronto",
    "Mumbai",
    "Madrid",
    "Seoul",
    "Cairo",
    "Chicago",
    "Vienna",
    "Lima",
    "Brazil",
    "Canada",
    "Kenya",
    "Norway",
    "Portugal",
    "India",
    "Egypt",
    "Peru",
    "Texas",
    "Bavaria",
]
ORGS = [
    "United Nations",
    "Northwind Bank",
    "Red Cross",
    "Oxford University",
    "Siemens",
    "Acme Corp",
    "Blue River Energy",
    "World Health Organization",
    "General Motors",
    "Harbor Airlines",
    "Greenfield Council",
    "Reuters",
    "Nordic Rail",
    "Toyota",
    "Apex Software",
    "City Hospital",
]
NATIONALITIES = [
    "French",
    "German",
    "Japanese",
    "Brazilian",
    "Kenyan",
    "Canadian",
    "Indian",
    "Italian",
    "Egyptian",
    "Norwegian",
    "Spanish",
    "Korean",
]
EVENTS = ["World Cup", "Olympic Games", "Nobel Prize", "Tour de France", "Davis Cup", "Champions League"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "March", "April", "June", "July", "September", "October", "December"]
NOUNS = [
    ("report", "reports"),
    ("plan", "plans"),
    ("contract", "contracts"),
    ("bridge", "bridges"),
    ("school", "schools"),
    ("factory", "factories"),
    ("study", "studies"),
    ("budget", "budgets"),
    ("team", "teams"),
    ("project", "projects"),
    ("station", "stations"),
    ("road", "roads"),
]
ADJECTIVES = ["new", "large", "small", "public", "final", "local", "annual", "major", "early", "strong"]
PAST_VERBS = [
    ("visited", "visit"),
    ("praised", "praise"),
    ("criticised", "criticise"),
    ("met", "meet"),
    ("joined", "join"),
    ("left", "leave"),
    ("thanked", "thank"),
    ("called", "call"),
]
NUMBERS = ["two", "three", "five", "12", "40", "150", "1,200", "3.5", "18", "seven"]

# Each template is a list of items: "word/PTB", "word/PTB:UPOS", or a slot in braces.
TEMPLATES = [
    "{PER} {VPAST} {LOC} on/IN {DAY} ./.",
    "{ORG} said/VBD on/IN {DAY} it/PRP would/MD:AUX open/VB a/DT {ADJ} {NOUN} in/IN {LOC} ./.",
    "The/DT {NAT} government/NN announced/VBD a/DT {ADJ} {NOUN} for/IN {LOC} ./.",
    "{PER} ,/, a/DT spokesman/NN for/IN {ORG} ,/, declined/VBD to/TO comment/VB ./.",
    "{SUR} won/VBD the/DT {EVENT} in/IN {MONTH} ./.",
    "Shares/NNS of/IN {ORG} rose/VBD {NUM} percent/NN on/IN {DAY} ./.",
    "{PER} and/CC {PER} {VPAST} the/DT {ADJ} {NOUN} in/IN {LOC} ./.",
    "Police/NNS in/IN {LOC} arrested/VBD {NUM} people/NNS after/IN the/DT match/NN ./.",
    "The/DT {NOUNS} in/IN {LOC} will/MD:AUX cost/VB about/RB {NUM} million/CD dollars/NNS ./.",
    "``/`` We/PRP are/VBP:AUX very/RB happy/JJ ,/, ''/'' {SUR} told/VBD {ORG} ./.",
    "{ORG} has/VBZ:AUX signed/VBN a/DT contract/NN with/IN {ORG} ./.",
    "It/PRP was/VBD:AUX the/DT first/JJ {NAT} win/NN at/IN the/DT {EVENT} since/IN 1998/CD ./.",
    "{LOC} beat/VBD {LOC} 2-1/CD in/IN a/DT {ADJ} match/NN on/IN {DAY} ./.",
    "The/DT {NOUN} was/VBD:AUX approved/VBN by/IN the/DT {LOC} city/NN council/NN ./.",
    "{PER} will/MD:AUX travel/VB to/IN {LOC} next/JJ week/NN ./.",
    "Officials/NNS from/IN {ORG} {VPAST} {PER} in/IN {LOC} ./.",
    "Temperatures/NNS in/IN {LOC} fell/VBD below/IN zero/CD on/IN {DAY} night/NN ./.",
    "The/DT {NAT} team/NN arrived/VBD in/IN {LOC} for/IN the/DT {EVENT} ./.",
    "{SUR} said/VBD the/DT {NOUNS} were/VBD:AUX not/RB ready/JJ ./.",
    "Did/VBD:AUX you/PRP see/VB the/DT {ADJ} {NOUN} from/IN {ORG} ?/.",
    "Thank/VBP you/PRP for/IN the/DT {ADJ} {NOUN} ,/, {SUR} !/.",
    "I/PRP think/VBP the/DT {NOUN} is/VBZ:AUX too/RB {ADJ} ./.",
    "My/PRP$ sister/NN moved/VBD to/IN {LOC} in/IN {MONTH} ./.",
    "The/DT museum/NN in/IN {LOC} opens/VBZ at/IN nine/CD on/IN {DAY} ./.",
    "{ORG} reported/VBD a/DT profit/NN of/IN {NUM} million/CD euros/NNS for/IN {MONTH} ./.",
    "According/VBG to/IN {ORG} ,/, {NUM} {NOUNS} were/VBD:AUX closed/VBN in/IN {LOC} ./.",
    "{PER} ,/, who/WP works/VBZ for/IN {ORG} ,/, lives/VBZ in/IN {LOC} ./.",
    "Please/UH send/VB the/DT {NOUN} to/IN {PER} before/IN {DAY} ./.",
    "The/DT {ADJ} {NOUN} from/IN {ORG} arrived/VBD late/RB ./.",
    "There/EX were/VBD:VERB {NUM} {NAT} players/NNS in/IN the/DT {EVENT} final/NN ./.",
    "{SUR} scored/VBD twice/RB as/IN {LOC} beat/VBD {LOC} ./.",
    "Why/WRB did/VBD:AUX {ORG} cancel/VB the/DT {NOUN} ?/.",
    "We/PRP stayed/VBD in/IN a/DT {ADJ} hotel/NN near/IN {LOC} ./.",
    "The/DT train/NN from/IN {LOC} to/IN {LOC} was/VBD:AUX late/JJ again/RB ./.",
    "{PER} told/VBD reporters/NNS that/IN the/DT {NOUN} had/VBD:AUX failed/VBN ./.",
    "The/DT {NAT} minister/NN met/VBD {PER} in/IN {LOC} on/IN {DAY} ./.",
    "{ORG} hired/VBD {NUM} engineers/NNS in/IN {LOC} this/DT year/NN ./.",
    "The/DT price/NN of/IN the/DT {NOUN} rose/VBD to/IN $/$ {NUM} ./.",
    "She/PRP {VPAST} {PER} at/IN the/DT {EVENT} ./.",
    "Our/PRP$ {NOUN} needs/VBZ a/DT {ADJ} {NOUN} ,/, not/RB a/DT {ADJ} one/NN ./.",
    "{LOC} and/CC {LOC} agreed/VBD on/IN a/DT {ADJ} {NOUN} ./.",
    "The/DT {EVENT} will/MD:AUX take/VB place/NN in/IN {LOC} in/IN {MONTH} ./.",
]
# Contractions written as one surface token over two words (CoNLL-U multiword tokens).
CONTRACTION_TEMPLATES = [
    ("{PER} do/VBP:AUX n't/RB:PART like/VB the/DT {ADJ} {NOUN} ./.", "do n't", "don't"),
    ("It/PRP 's/VBZ:AUX a/DT {ADJ} day/NN for/IN {LOC} ./.", "It 's", "It's"),
    ("We/PRP ca/MD:AUX n't/RB:PART find/VB the/DT {NOUN} from/IN {ORG} ./.", "ca n't", "can't"),
]
# Gapping: a second clause that repeats the verb silently, written as an empty node.
GAPPING_TEMPLATE = "{PER} visited/VBD {LOC} and/CC {PER} {LOC} ./."

SLOT_ENTITIES = {
    "PER": ("PER", PEOPLE),
    "SUR": ("PER", SURNAMES),
    "LOC": ("LOC", PLACES),
    "ORG": ("ORG", ORGS),
    "NAT": ("MISC", NATIONALITIES),
    "EVENT": ("MISC", EVENTS),
}


def fill(template: str, rng: random.Random) -> list[tuple[str, str, str, str]]:
    """Tokens of one sentence as (word, PTB tag, UPOS, entity type or "")."""
    tokens: list[tuple[str, str, str, str]] = []
    for item in template.split():
        if item.startswith("{"):
            tokens.extend(fill_slot(item[1:-1], rng))
            continue
        word, _, tag = item.rpartition("/")
        ptb, _, upos = tag.partition(":")
        tokens.append((word, ptb, upos or PTB_TO_UPOS[ptb], ""))
    return tokens


def fill_slot(slot: str, rng: random.Random) -> list[tuple[str, str, str, str]]:
    if slot in SLOT_ENTITIES:
        entity, names = SLOT_ENTITIES[slot]
        words = rng.choice(names).split()
        if entity == "MISC" and slot == "NAT":
            return [(words[0], "JJ", "ADJ", entity)]
        return [(word, "NNP", "ADP" if word == "de" else "PROPN", entity) for word in words]
    simple = {
        "DAY": lambda: [(rng.choice(DAYS), "NNP", "PROPN", "")],
        "MONTH": lambda: [(rng.choice(MONTHS), "NNP", "PROPN", "")],
        "NUM": lambda: [(rng.choice(NUMBERS), "CD", "NUM", "")],
        "ADJ": lambda: [(rng.choice(ADJECTIVES), "JJ", "ADJ", "")],
        "NOUN": lambda: [(rng.choice(NOUNS)[0], "NN", "NOUN", "")],
        "NOUNS": lambda: [(rng.choice(NOUNS)[1], "NNS", "NOUN", "")],
        "VPAST": lambda: [(rng.choice(PAST_VERBS)[0], "VBD", "VERB", "")],
    }
    return simple[slot]()


def chunk_tags(ptb_tags: list[str]) -> list[str]:
    """Rough IOB1 chunks: noun groups, verb groups and prepositions."""
    group = {
        "DT": "NP",
        "JJ": "NP",
        "NN": "NP",
        "NNS": "NP",
        "NNP": "NP",
        "CD": "NP",
        "PRP": "NP",
        "PRP$": "NP",
        "$": "NP",
        "EX": "NP",
        "MD": "VP",
        "VB": "VP",
        "VBD": "VP",
        "VBZ": "VP",
        "VBP": "VP",
        "VBN": "VP",
        "VBG": "VP",
        "TO": "VP",
        "RB": "ADVP",
        "IN": "PP",
        "WP": "NP",
    }
    return [f"I-{group[tag]}" if tag in group else "O" for tag in ptb_tags]


def sentence_text(words: list[str]) -> str:
    text = ""
    for index, word in enumerate(words):
        glue = index == 0 or no_space_before(word, words[index - 1])
        text += word if glue else " " + word
    return text


def no_space_before(word: str, previous: str) -> bool:
    return word in {".", ",", "?", "!", "'s", "n't", "''"} or previous in {"``", "$"}


def make_sentences(count: int, seed: int) -> list[list[tuple[str, str, str, str]]]:
    rng = random.Random(seed)
    return [fill(rng.choice(TEMPLATES), rng) for _ in range(count)]


def entity_tags(tokens: list[tuple[str, str, str, str]]) -> list[str]:
    """IOB1 tags as in CoNLL-2003; no two entities of one type touch in these templates, so no B- occurs."""
    return [f"I-{entity}" if entity else "O" for _, _, _, entity in tokens]


def plain_quotes(word: str) -> str:
    return '"' if word in ("``", "''") else word


def write_ner(path: Path, sentences: list[list[tuple[str, str, str, str]]]) -> None:
    lines = ["-DOCSTART- -X- -X- O", ""]
    for number, tokens in enumerate(sentences, start=1):
        if number % 25 == 0:
            lines += ["-DOCSTART- -X- -X- O", ""]
        ptb = [token[1] for token in tokens]
        chunks = chunk_tags(ptb)
        for (word, tag, _, _), chunk, ner in zip(tokens, chunks, entity_tags(tokens)):
            lines.append(f"{plain_quotes(word)} {tag} {chunk} {ner}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def conllu_block(sentence_id: str, tokens: list[tuple[str, str, str, str]], rng: random.Random) -> list[str]:
    originals = [token[0] for token in tokens]
    text = sentence_text(originals).replace("``", '"').replace("''", '"')
    lines = [f"# sent_id = {sentence_id}", f"# text = {text}"]
    for index, (word, ptb, upos, _) in enumerate(tokens, start=1):
        following = originals[index] if index < len(originals) else None
        misc = "SpaceAfter=No" if following is not None and no_space_before(following, word) else "_"
        lemma = word if upos == "PROPN" else word.lower()
        form = plain_quotes(word)
        lines.append(f"{index}\t{form}\t{plain_quotes(lemma)}\t{upos}\t{ptb}\t_\t_\t_\t_\t{misc}")
    return lines


def with_multiword(lines: list[str], pair: str, surface: str) -> list[str]:
    """Insert a multiword-token line over the two words `pair` (e.g. "do n't")."""
    first, second = pair.split()
    for position, line in enumerate(lines):
        fields = line.split("\t")
        if len(fields) == 10 and fields[1] == first:
            following = lines[position + 1].split("\t")
            if following[1] == second:
                word_id = int(fields[0])
                misc = following[9]
                fields[9] = following[9] = "_"
                lines[position] = "\t".join(fields)
                lines[position + 1] = "\t".join(following)
                range_line = f"{word_id}-{word_id + 1}\t{surface}\t_\t_\t_\t_\t_\t_\t_\t{misc}"
                return lines[:position] + [range_line] + lines[position:]
    return lines


def with_empty_node(lines: list[str], after_word: int, form: str) -> list[str]:
    """Insert an empty node (an elided word) after word `after_word`."""
    node = f"{after_word}.1\t{form}\t{form}\tVERB\tVBD\t_\t_\t_\t_\t_"
    for position, line in enumerate(lines):
        if line.split("\t")[0] == str(after_word):
            return lines[: position + 1] + [node] + lines[position + 1 :]
    return lines


def write_upos(path: Path, split: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    blocks = []
    for number in range(1, count + 1):
        sentence_id = f"sample-{split}-{number:04d}"
        if number % 12 == 0:
            template, pair, surface = rng.choice(CONTRACTION_TEMPLATES)
            block = with_multiword(conllu_block(sentence_id, fill(template, rng), rng), pair, surface)
        elif number % 40 == 0:
            tokens = fill(GAPPING_TEMPLATE, rng)
            block = conllu_block(sentence_id, tokens, rng)
            and_index = next(i for i, token in enumerate(tokens, start=1) if token[0] == "and")
            name_length = len(next(name for name in PEOPLE if name.split()[0] == tokens[and_index][0]).split())
            block = with_empty_node(block, and_index + name_length, "visited")
        else:
            block = conllu_block(sentence_id, fill(rng.choice(TEMPLATES), rng), rng)
        blocks.append("\n".join(block) + "\n")
    path.write_text("\n".join(blocks) + "\n", encoding="utf-8")


def write_license(directory: Path, what: str) -> None:
    (directory / "LICENSE.txt").write_text(
        f"{what}\n\nWritten by the tagger project from its own hand-annotated sentence templates "
        "(corpora/make_samples.py); no text was taken from any other corpus.\n"
        "License: CC0 1.0 Universal (public domain dedication).\n",
        encoding="utf-8",
    )


def main() -> None:
    for offset, (split, count) in enumerate(SPLITS.items()):
        ner_dir, upos_dir = HERE / "sample-ner", HERE / "sample-upos"
        ner_dir.mkdir(exist_ok=True)
        upos_dir.mkdir(exist_ok=True)
        write_ner(ner_dir / f"{split}.conll", make_sentences(count, seed=100 + offset))
        write_upos(upos_dir / f"{split}.conllu", split, count, seed=200 + offset)
    write_license(HERE / "sample-ner", "CoNLL-2003 style NER sample: token, PTB POS, chunk (IOB1), NER (IOB1).")
    write_license(HERE / "sample-upos", "CoNLL-U sample labelled with UPOS and XPOS (HEAD, DEPREL, DEPS left empty).")


if __name__ == "__main__":
    main()
