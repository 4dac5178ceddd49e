#!/bin/sh
# The four screenshots docs/console.md and README.md show, taken again from the browser
# journeys against the real services (the same pages the tests check), so that they are
# never edited by hand. Needs `make setup` (chromium, the broker, axe-core).
set -eu
cd "$(dirname "$0")/../../.."
NRM_CONSOLE_DOCS_SCREENSHOTS=1 exec .venv/bin/pytest -q -p no:cacheprovider \
  tests/console/test_console_journeys.py \
  -k "first_responder or only_the_addressed_ngo or registry_shows" "$@"
