#!/usr/bin/env python3
"""Draft a knowledge-base entry from a DOI: the same as `kb new DOI`.

    .venv/bin/python scripts/doi_lookup.py 10.1080/20008066.2025.2485513            # print the draft
    .venv/bin/python scripts/doi_lookup.py https://doi.org/10.1080/... --write      # save entries/<id>.yaml

Options: --write, --id ID, --mailto EMAIL, --refresh; see --help. Run it from the knowledge base folder.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # works without `pip install -e .` too

from kb.doi_commands import new  # noqa: E402

if __name__ == "__main__":
    try:
        new.main(prog_name="doi_lookup.py")
    except Exception as error:  # noqa: BLE001 - a bug must still end in one line, not a traceback
        if os.environ.get("KB_DEBUG"):
            traceback.print_exc()
        print(
            f"doi_lookup.py: internal error: {type(error).__name__}: {error} (KB_DEBUG=1 for details)", file=sys.stderr
        )
        sys.exit(2)
