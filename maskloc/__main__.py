"""`python -m maskloc`: the same command line as the installed `maskloc` command."""

from maskloc.cli import main

raise SystemExit(main())
