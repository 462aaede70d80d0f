"""`python -m conformance`: see conformance/run.py."""

import sys

from .run import main

sys.exit(main())
