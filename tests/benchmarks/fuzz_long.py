"""The fuzz properties of tests/test_fuzz.py with many more examples (minutes, not a CI test).

python tests/benchmarks/fuzz_long.py [EXAMPLES]      # default 5000 per property
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

if __name__ == "__main__":
    examples = sys.argv[1] if len(sys.argv) > 1 else "5000"
    environment = {**os.environ, "TAGGER_FUZZ_EXAMPLES": examples}
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "tests/test_fuzz.py"], cwd=ROOT, env=environment))
