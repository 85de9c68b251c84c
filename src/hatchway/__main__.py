"""`python -m hatchway`."""

from hatchway.cli import main

raise SystemExit(main())
