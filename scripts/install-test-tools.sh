#!/usr/bin/env bash
# The test suite drives Debian's Chromium (never a browser that a test tool downloads),
# reads Chinese in screenshots with fonts-noto-cjk, and checks the translation
# catalogues with GNU gettext. Installs whichever is missing (as root), or says how.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
command -v xgettext >/dev/null && command -v msgfmt >/dev/null && command -v msgmerge >/dev/null || missing+=(gettext)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "The tests need these Debian packages: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} for the test suite"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
