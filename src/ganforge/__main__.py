"""`python -m ganforge ...` (and `torchrun -m ganforge ...`) run the command-line tool."""
import sys

from .cli import main

sys.exit(main())
