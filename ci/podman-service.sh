#!/usr/bin/env bash
# Podman's Docker-compatible API service, rootful, for the lab's tests on Podman
# (lab/tests/podman_e2e.rs) or a CI job that runs the lab on Podman: installs Debian's podman
# (and catatonit, the container init it runs) through the host's apt sources when missing,
# starts the service on the socket unless it already answers there (the podman.socket unit
# where systemd runs, else `podman system service` in the background), and prints the socket
# as DOCKER_HOST takes it.
#
#   ci/podman-service.sh            # prints unix:///run/podman/podman.sock
#   DOCKER_HOST=$(ci/podman-service.sh) lab doctor
#
# Needs root (the rootful service; apt-get). LAB_PODMAN_SOCKET chooses another socket path.
set -euo pipefail

sock=${LAB_PODMAN_SOCKET:-/run/podman/podman.sock}
log=${TMPDIR:-/tmp}/podman-service.log

# Debian's podman recommends catatonit, tini or dumb-init for a container's init but runs only
# catatonit (its default init_path), and every node asks for an init: install it beside podman.
missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
if command -v dpkg >/dev/null 2>&1 && ! dpkg -s catatonit >/dev/null 2>&1; then
    missing+=(catatonit)
fi
if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
        echo "podman-service.sh: ${missing[*]} not installed; install it (Debian/Ubuntu: apt-get install podman catatonit; RHEL: dnf install podman) and run this again as root" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

answers() {
    podman --remote --url "unix://$sock" version >/dev/null 2>&1
}

if ! answers; then
    if [ "$sock" = /run/podman/podman.sock ] && [ -d /run/systemd/system ]; then
        systemctl enable --now podman.socket >&2
    else
        mkdir -p "$(dirname "$sock")"
        # Its own session, its output to a file, its working directory `/`: it outlives this
        # script and the test command, and the containers it starts inherit its directory (one
        # started in a checkout that was removed later could start no container: "write child:
        # broken pipe").
        (cd / && setsid nohup podman system service --time=0 "unix://$sock" >"$log" 2>&1 </dev/null &)
    fi
    for _ in $(seq 60); do
        answers && break
        sleep 0.5
    done
    if ! answers; then
        echo "podman-service.sh: Podman's API service does not answer on $sock (its log: $log)" >&2
        exit 1
    fi
fi
echo "unix://$sock"
