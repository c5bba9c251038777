#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (the pre-commit framework,
# into a throw-away virtualenv under target/), then builds and runs every test in the release
# profile (the only profile we build, so CI compiles the dependencies once).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/test-venv
if [ ! -x "$venv/bin/pre-commit" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pre-commit>=3,<5"
fi
export NBGUARD_TEST_PRE_COMMIT="$PWD/$venv/bin/pre-commit"
# Selenium drives Debian's chromium (installed by .ci/run) for the audit page's browser test.
if ! "$venv/bin/python" -c "import selenium" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "selenium>=4.10,<5"
fi
export NBGUARD_TEST_PYTHON="$PWD/$venv/bin/python"

cargo test --release --all-targets "$@"
# The repository passes its own scan.
target/release/nbguard scan .
