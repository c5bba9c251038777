#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need (the Python packages,
# into a throw-away virtualenv under target/), then builds and runs every test in the release
# profile (the only profile we build, so CI compiles the dependencies once, and maturin's wheel
# reuses that build).
set -euo pipefail
cd "$(dirname "$0")/.."

# The audit page's browser test renders it in Debian's headless Chromium.
if ! command -v chromium > /dev/null || ! command -v chromedriver > /dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update
  $sudo apt-get install -y chromium chromium-driver
fi

venv=target/test-venv
# One requirement per line. The stamp is named after the list, so changing it reinstalls.
requirements=(
  "pip>=23"                 # --python, to install the wheel into fresh virtualenvs
  "maturin>=1.7,<2"
  "pre-commit>=3,<5"
  "ipykernel>=6,<8"
  "nbclient>=0.7,<1"
  "nbformat>=5.7,<6"
  "python-dotenv>=1,<2"
  "git-filter-repo>=2.38"
  # Selenium drives Debian's chromium (installed by .ci/run) for the audit page's browser test.
  "selenium>=4.10,<5"
)
stamp="$venv/.installed-$(printf '%s\n' "${requirements[@]}" | cksum | cut -d' ' -f1)"
if [ ! -e "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}"
  touch "$stamp"
fi
export NBGUARD_TEST_VENV="$PWD/$venv"
export NBGUARD_TEST_PRE_COMMIT="$PWD/$venv/bin/pre-commit"
export NBGUARD_TEST_PYTHON="$PWD/$venv/bin/python"

# --no-fail-fast: a failing test target must not hide the results of the ones after it, and a
# failing suite must not hide the self-scan either.
status=0
cargo test --release --all-targets --no-fail-fast "$@" || status=$?
# The repository passes its own scan.
target/release/nbguard scan . || status=$?
exit "$status"
