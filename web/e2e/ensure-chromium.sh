#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the end-to-end tests
# (playwright's own browser download cannot work on this network).
# Prints the browser's path.
set -euo pipefail
bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$bin" ]; then
  echo "ensure-chromium: installing chromium with apt-get" >&2
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
"$bin" --version >&2
echo "$bin"
