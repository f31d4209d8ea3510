"""`python -m crawler.cli ...` is `naysayer ...`."""

import sys

from crawler.cli import main

sys.exit(main())
