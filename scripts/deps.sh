# Sourced by the scripts: installs the Debian 12 packages pond's build and
# tests need, but only those missing, so it is fast when everything is there.
pond_need_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2 || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

POND_BUILD_PACKAGES="gcc libc6-dev meson ninja-build pkg-config libxxhash-dev"
POND_TEST_PACKAGES="clang libclang-rt-14-dev libroaring-dev libsqlite3-dev python3-dev python3-pytest python3-hypothesis python3-mesonpy python3-mypy python3-pip python3-redis redis-server"
