#!/usr/bin/env bash
# Installs what rtbench needs on Debian 12 with Node 20: PostgreSQL 15 with hll
# and pg_cron (Debian packages), the npm dependencies, and the build; with
# --test also Chromium for the report test. Safe to run again: each step is
# skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

want_pkgs=(postgresql-15 postgresql-15-hll postgresql-15-cron)
# The tests also render report.html in headless Chromium.
if [ "${1:-}" = "--test" ]; then want_pkgs+=(chromium); fi
missing=()
for p in "${want_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: missing Debian packages: ${missing[*]}; install them with: apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "setup: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian starts a cluster on port 5432 on install; rtbench starts its own, so leave that one alone.
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.rtbench-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
npx tsc -p tsconfig.json
chmod +x dist/src/cli/main.js
