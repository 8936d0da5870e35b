#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the system needs, only those missing:
# python3-venv (the virtualenv), fonts-noto-cjk (Chinese in PDFs), poppler-utils (pdftotext in tests),
# gettext (compilemessages), libpango (WeasyPrint), chromium (browser tests), faketime (the tests on a
# faked clock, .ci/run).
set -euo pipefail
packages=(python3-venv python3-dev fonts-noto-cjk poppler-utils gettext libpango-1.0-0 libpangoft2-1.0-0 chromium
          faketime)
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-system-deps: not a Debian/Ubuntu machine; install these yourself: ${packages[*]}" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "Installing system packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
