#!/usr/bin/env bash
# Make sure of the system packages the report files need: a CJK font to embed in the PDFs
# (fonts-wqy-microhei) and poppler-utils (pdftoppm, pdftotext, pdffonts), which the export
# tests read the PDFs back with. Installs them with apt-get when running as root; otherwise
# says what to install.
set -euo pipefail
font=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
missing=()
[ -f "$font" ] || missing+=(fonts-wqy-microhei)
command -v pdftoppm >/dev/null && command -v pdffonts >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -eq 0 ]; then
  echo "report tools are installed (CJK font, poppler-utils)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} ..."
  # Another apt-get may hold the lock: wait for it rather than fail.
  apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
  apt_get install -y --no-install-recommends "${missing[@]}" \
    || { apt_get update && apt_get install -y --no-install-recommends "${missing[@]}"; }
else
  cat >&2 <<MSG
The PDF exports embed a CJK font and their tests need poppler-utils; missing: ${missing[*]}
  - Debian/Ubuntu: sudo apt-get install ${missing[*]}  (then run make test again)
MSG
  exit 1
fi
