#!/usr/bin/env bash
# The test command (README): formatting, lints, then every test, end-to-end ones included.
# On a fresh machine it installs cargo-nextest if missing; the end-to-end tests build the lab's
# images themselves (debootstrap, Debian packages and the PostgreSQL tarball come through the
# host's apt mirrors), so they need root and a running Docker Engine.
set -euo pipefail
cd "$(dirname "$0")"

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo nextest run --workspace --locked "$@"
