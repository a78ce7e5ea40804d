#!/usr/bin/env bash
# System packages FactTrace needs beyond the .NET SDK. Idempotent; installs only what is missing.
#   chromium           the report's browser test opens report.html in headless Chromium (always installed; set
#                      FACTTRACE_NEED_CHROMIUM=0 to skip it on a machine that will not run that test)
#   fonts-dejavu-core  a TrueType font for the report's figures (ScottPlot/SkiaSharp draw text with system fonts)
set -euo pipefail
need=()
if [ "${FACTTRACE_NEED_CHROMIUM:-1}" != 0 ] && ! command -v chromium >/dev/null 2>&1; then need+=(chromium); fi
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then need+=(fonts-dejavu-core); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}";
  else echo "missing packages: ${need[*]} (install them with apt-get as root)" >&2; exit 1; fi
fi
