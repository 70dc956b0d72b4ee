# Debian packages for the set-up scripts (source this file; it needs `say` and `as_root`).
# install_missing WHAT PACKAGE...: installs the packages not installed yet, says what it did, and
# returns 0; says "WHAT present" when there was nothing to do.
install_missing() {
  local what=$1 p missing=()
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "$what present"
    return 0
  fi
  say "installing $what: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
