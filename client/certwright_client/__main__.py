"""`python -m certwright_client`: the `certwright` command."""

import sys

from certwright_client.cli import main

sys.exit(main())
