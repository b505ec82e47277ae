#!/usr/bin/env bash
# Make sure Debian's chromium is installed (the dashboards' browser test drives it headless).
# Idempotent: does nothing when /usr/bin/chromium (or $CHROMIUM) exists. Needs root for apt-get.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: $CHROMIUM is missing and this is not root; install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: $CHROMIUM is missing and apt-get is not available; install Chromium and set CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
echo "Installing Debian's chromium (not found at $CHROMIUM) ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
if ! apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
  echo "error: apt-get install chromium failed; install it by hand (apt-get install -y chromium)" >&2
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "error: apt-get installed chromium but $CHROMIUM does not exist" >&2
  exit 1
fi
