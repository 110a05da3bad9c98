# shellcheck shell=bash
# Shared shell functions for scripts/test, scripts/bench, scripts/build-static and scripts/demo.
#
# Source it with:   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# It sets REPO_ROOT and never changes the caller's shell options.
#
# Everything here installs only what is missing, so a second run is quiet and fast:
#   ensure_apt_packages PKG...   Debian packages (one `apt-get update`, and only if something is missing)
#   ensure_venv                  .venv with vendor-tests/requirements.txt (re-installed when that file changes)
#   ensure_rust_target TRIPLE    a rustup target
# and it times the steps of a script:
#   step "name" cmd args...      runs one step under a section header; on failure prints the step name and exits

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV_DIR="${VENV_DIR:-$REPO_ROOT/.venv}"
VENV_PY="$VENV_DIR/bin/python"
REQUIREMENTS="$REPO_ROOT/vendor-tests/requirements.txt"

_COMMON_T0="${_COMMON_T0:-$(date +%s.%N)}"
_APT_UPDATED=0

# Seconds since $1 (a `date +%s.%N` value), with $2 decimals (default 1).
elapsed_since() {
    awk -v a="$1" -v b="$(date +%s.%N)" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, b - a }'
}

info() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

section() {
    printf '\n==> [%s] %s   (t+%ss)\n' "$(date -u +%H:%M:%S)" "$*" "$(elapsed_since "$_COMMON_T0")"
}

# step NAME CMD [ARGS...]: run CMD under a section header, print its time, stop the script when it fails.
step() {
    local name="$1"
    shift
    section "$name"
    local t0 rc=0
    t0="$(date +%s.%N)"
    "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '\nFAILED: step "%s" (exit %d) after %ss\n' "$name" "$rc" "$(elapsed_since "$t0")" >&2
        exit "$rc"
    fi
    printf '<== %s: ok (%ss)\n' "$name" "$(elapsed_since "$t0")"
}

# Run a command with its output kept in a log file; show the log only when the command fails.
quietly() {
    local log rc=0
    log="$(mktemp "${TMPDIR:-/tmp}/vpcflow-quiet.XXXXXX")"
    "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf 'command failed (exit %d): %s\n--- output ---\n' "$rc" "$*" >&2
        tail -n 80 "$log" >&2
        printf -- '--- end of output ---\n' >&2
    fi
    rm -f "$log"
    return "$rc"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (no sudo found)"
    fi
}

is_apt_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ensure_apt_packages PKG...: install the Debian packages that are not installed yet.
ensure_apt_packages() {
    local missing=() p
    for p in "$@"; do
        is_apt_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        info "apt: all present ($*)"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get on this machine"
    info "apt: installing ${missing[*]}"
    if [ "$_APT_UPDATED" -eq 0 ]; then
        quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
        _APT_UPDATED=1
    fi
    # tshark asks whether non-root users may capture; noninteractive takes the default (no).
    quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" || return 1
    for p in "${missing[@]}"; do
        is_apt_installed "$p" || die "apt-get install did not install $p"
    done
}

# The interpreter the venv is built from: the first python3 on PATH, else Debian's.
_base_python() {
    local py
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            command -v "$py"
            return 0
        fi
    done
    return 1
}

# ensure_venv: $VENV_DIR with the pinned packages of vendor-tests/requirements.txt.
# A stamp holding the requirements' checksum makes the second run a no-op.
ensure_venv() {
    [ -f "$REQUIREMENTS" ] || die "missing $REQUIREMENTS"
    local want stamp="$VENV_DIR/.requirements.sha256"
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    if [ -x "$VENV_PY" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$VENV_PY" -c 'import sys' 2>/dev/null; then
        info "venv: up to date ($VENV_DIR)"
        return 0
    fi
    local base
    if ! base="$(_base_python)"; then
        ensure_apt_packages python3 python3-venv || return 1
        base="$(_base_python)" || die "no python3 with the venv module"
    fi
    if [ ! -x "$VENV_PY" ]; then
        info "venv: creating $VENV_DIR with $base ($("$base" --version 2>&1))"
        quietly "$base" -m venv "$VENV_DIR" || return 1
    fi
    info "venv: installing $(grep -cv '^\s*\(#\|$\)' "$REQUIREMENTS") pinned packages"
    quietly "$VENV_PY" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS" || return 1
    printf '%s\n' "$want" >"$stamp"
}

# ensure_rust_target TRIPLE: `rustup target add` unless the target's std is already installed.
ensure_rust_target() {
    local triple="$1"
    command -v rustup >/dev/null 2>&1 || {
        warn "no rustup: cannot check target $triple"
        return 1
    }
    if rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
        info "rustup: target $triple present"
        return 0
    fi
    info "rustup: adding target $triple"
    # bounded: a blocked download must not eat the CI budget
    quietly timeout 300 rustup target add "$triple"
}
