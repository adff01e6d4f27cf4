#!/usr/bin/env bash
# Debian's chromium for the report's browser test (`make browser`, and the test's fixture when
# it is missing). Needs root (or sudo) and apt; prints the browser's path on success.
set -euo pipefail
for name in chromium chromium-browser; do
  if command -v "$name" > /dev/null; then command -v "$name"; exit 0; fi
done
if ! command -v apt-get > /dev/null; then
  echo "error: chromium is missing and apt-get is not available to install it" >&2
  echo "hint: install Chromium with your system's package manager (the report's browser test needs it)" >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo > /dev/null; then SUDO=(sudo); else
    echo "error: installing chromium needs root (apt-get install -y chromium)" >&2
    echo "hint: run 'apt-get update && apt-get install -y chromium' as root" >&2
    exit 1
  fi
fi
echo "installing Debian's chromium (apt-get update; apt-get install -y chromium)..." >&2
"${SUDO[@]}" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
command -v chromium
