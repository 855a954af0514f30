"""`python -m bench [--only NAME ...]`: the classroom benchmarks (bench/suite.py), run from the
repository root."""

from bench.suite import main

raise SystemExit(main())
