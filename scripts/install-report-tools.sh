#!/usr/bin/env bash
# Make sure the executive report's tools are installed: Debian's chromium (prints the PDF;
# scripts/install-chromium.sh) and poppler-utils (pdftoppm, which the report test uses to turn
# the PDF into PNG pages). Idempotent: does nothing when both exist. Needs root for apt-get.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/install-chromium.sh"

if command -v pdftoppm >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: pdftoppm is missing and this is not root; install it with: sudo apt-get install -y poppler-utils" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: pdftoppm is missing and apt-get is not available; install poppler-utils by hand" >&2
  exit 1
fi
echo "Installing Debian's poppler-utils (pdftoppm not found) ..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null; then
  apt-get update -qq || true
  if ! apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null; then
    echo "error: apt-get install poppler-utils failed; install it by hand (apt-get install -y poppler-utils)" >&2
    exit 1
  fi
fi
if ! command -v pdftoppm >/dev/null 2>&1; then
  echo "error: apt-get installed poppler-utils but pdftoppm is not on PATH" >&2
  exit 1
fi
