#!/usr/bin/env bash
# Installs the test-only system packages when they are missing (CI runs as root).
set -euo pipefail
need=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need+=(nftables)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
# PostgreSQL's server binaries for the team-mode tests' private cluster (never the service:
# the tests run initdb and pg_ctl themselves, in a temporary folder).
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 \
  || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "system-deps: missing ${need[*]} and not root; the tests needing them will skip" >&2
    exit 0
  fi
  echo "system-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts a system cluster on install; the tests never use it.
  if [[ " ${need[*]} " == *" postgresql "* ]] && command -v service >/dev/null 2>&1; then
    service postgresql stop >/dev/null 2>&1 || true
  fi
fi
