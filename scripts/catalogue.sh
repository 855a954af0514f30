#!/usr/bin/env bash
# Refresh the translation catalogue after changing texts: extract every t(...)/N_(...) message
# from the app and the library, then merge it into the Spanish .po (new messages come in empty:
# translate them there; tests/test_i18n.py refuses an empty or stale one).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k t -k N_ --no-location --omit-header \
  -o locales/maskloc.pot .
.venv/bin/pybabel update -i locales/maskloc.pot -d locales -D maskloc -w 100 \
  --no-fuzzy-matching --ignore-obsolete
