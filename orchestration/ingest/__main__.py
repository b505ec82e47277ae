"""Entry point for ``python -m orchestration.ingest``."""

import sys

from orchestration.ingest.cli import main

sys.exit(main())
