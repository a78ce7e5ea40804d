#!/usr/bin/env bash
# System packages FactTrace needs beyond the .NET SDK. Idempotent; installs only what is missing.
set -euo pipefail
need=()
# (Report's browser test) Debian's chromium, once the report issue lands.
if [ "${FACTTRACE_NEED_CHROMIUM:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then need+=(chromium); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}";
  else echo "missing packages: ${need[*]} (install them with apt-get as root)" >&2; exit 1; fi
fi
