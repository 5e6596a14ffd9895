"""Commands that need no model start without importing torch (it costs seconds)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT, SAMPLES

NER_TEST = str(SAMPLES / "sample-ner" / "test.conll")
RUN_WITHOUT_TORCH = """
import sys
from tagger.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    sys.stdout.flush()
    print("TORCH IMPORTED" if "torch" in sys.modules else "no torch", file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["tag", "--help"],
        ["vectors", "--help"],
        ["corpora", "stats", NER_TEST],
        ["corpora", "convert", NER_TEST, "-", "--to", "iob2"],
        ["score", NER_TEST, NER_TEST, "--label-column", "4"],
        ["info", str(ROOT / "tests" / "data" / "v1-models" / "ner-crf")],
        ["models"],
        ["models", "en-ner", "--json"],
    ],
)
def test_commands_without_a_model_do_not_import_torch(args):
    result = subprocess.run([sys.executable, "-c", RUN_WITHOUT_TORCH, *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith("no torch"), result.stderr
