# shellcheck shell=bash
# Shared by scripts/test, scripts/develop and scripts/bench: provisions a Python >= 3.14.2
# environment with the pinned requirements, and runs commands inside it.
#
# - A real Python >= 3.14.2 on the machine (python3.14, python3, or one that uv already has)
#   is used directly, with a virtualenv in the cache.
# - Otherwise a minimal Debian sid root with python3.14 is bootstrapped into the cache
#   (debootstrap, ~30 s) and commands run there with chroot. The checkout is bind-mounted at
#   the same path inside the root, in a private mount and PID namespace: when the command
#   ends or is interrupted, every mount and every process it started goes away with it.
#
# The cache lives outside the checkout (LINKY_CACHE_DIR, default /var/cache/linky-ha-dev)
# so it is reused by later runs and by CI on the same machine.
#
# Two environments, each with its own virtualenv and requirements hash (switching between
# them reinstalls nothing), selected by LINKY_HA or linky_env_select:
# - min (the default): requirements_test.txt, the minimum Home Assistant the integration
#   supports (hacs.json);
# - latest: requirements_test_latest.txt, the newest Home Assistant release tested, plus
#   requirements_test_latest_override.txt if present: pins installed in a second pip step
#   that override a pin of the first (pip has no override option), i.e. a newer
#   `homeassistant` than the pytest-homeassistant-custom-component release pins. While that
#   file exists, pytest also loads scripts/lib/phacc_compat.py (see there).

LINKY_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LINKY_CACHE_DIR=${LINKY_CACHE_DIR:-/var/cache/linky-ha-dev}
LINKY_MIN_PYTHON=3.14.2
LINKY_DEBIAN_MIRROR=${LINKY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
LINKY_ROOT="$LINKY_CACHE_DIR/root"
LINKY_MODE=""   # "host" or "chroot", set by linky_env_provision
LINKY_ENVS="min latest"
# Set by linky_env_select:
LINKY_ENV=""            # "min" or "latest"
LINKY_REQUIREMENTS=""   # requirements file, relative to the checkout
LINKY_OVERRIDES=""      # optional second requirements file (see above), or ""
LINKY_HOST_VENV=""      # the virtualenv in host mode
LINKY_ROOT_VENV=""      # the virtualenv inside the root in chroot mode
LINKY_ENV_PYTHONPATH="" # prepended to PYTHONPATH by linky_run, or ""
LINKY_ENV_PYTEST_ADDOPTS=""  # prepended to PYTEST_ADDOPTS by linky_run, or ""

linky_log() { printf '[linky-env] %s\n' "$*" >&2; }

# Selects the environment that linky_env_provision and linky_run use: min or latest.
linky_env_select() {
  LINKY_ENV_PYTHONPATH=""
  LINKY_ENV_PYTEST_ADDOPTS=""
  case "$1" in
    min)
      LINKY_REQUIREMENTS=requirements_test.txt
      LINKY_OVERRIDES=""
      LINKY_HOST_VENV="$LINKY_CACHE_DIR/venv"
      LINKY_ROOT_VENV=/opt/linky-venv ;;
    latest)
      LINKY_REQUIREMENTS=requirements_test_latest.txt
      LINKY_OVERRIDES=requirements_test_latest_override.txt
      if [ -f "$LINKY_REPO/$LINKY_OVERRIDES" ]; then
        LINKY_ENV_PYTHONPATH="$LINKY_REPO/scripts/lib"
        LINKY_ENV_PYTEST_ADDOPTS="-p phacc_compat"
      else
        LINKY_OVERRIDES=""
      fi
      LINKY_HOST_VENV="$LINKY_CACHE_DIR/venv-latest"
      LINKY_ROOT_VENV=/opt/linky-venv-latest ;;
    *) linky_log "unknown environment '$1' (LINKY_HA must be one of: $LINKY_ENVS)"; return 1 ;;
  esac
  LINKY_ENV=$1
}
linky_env_select "${LINKY_HA:-min}" || exit 1

# Prints the path of a host Python >= LINKY_MIN_PYTHON, if there is one.
_linky_find_host_python() {
  local candidate path
  for candidate in python3.14 python3.15 python3.16 python3; do
    path=$(command -v "$candidate" 2>/dev/null) || continue
    if "$path" -c "import sys; sys.exit(0 if sys.version_info >= (3, 14, 2) else 1)" 2>/dev/null; then
      echo "$path"; return 0
    fi
  done
  if command -v uv >/dev/null 2>&1; then
    path=$(uv python find --no-python-downloads ">=$LINKY_MIN_PYTHON" 2>/dev/null) && [ -n "$path" ] && {
      echo "$path"; return 0
    }
  fi
  return 1
}

_linky_requirements_hash() {
  (cd "$LINKY_REPO" && cat "$LINKY_REQUIREMENTS" ${LINKY_OVERRIDES:+"$LINKY_OVERRIDES"} \
    scripts/lib/env.sh) | sha256sum | cut -c1-16
}

_linky_bootstrap_root() {
  if [ -x "$LINKY_ROOT/usr/bin/python3.14" ] && [ -f "$LINKY_ROOT/.linky-root-ok" ]; then
    return 0
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    linky_log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  local tmp="$LINKY_CACHE_DIR/root.partial"
  rm -rf "$tmp"
  linky_log "bootstrapping a Debian sid root with python3.14 into $LINKY_ROOT (about 30 s)"
  debootstrap --variant=minbase --include=python3.14,python3.14-venv,ca-certificates \
    sid "$tmp" "$LINKY_DEBIAN_MIRROR" >"$LINKY_CACHE_DIR/debootstrap.log" 2>&1 || {
      linky_log "debootstrap failed, see $LINKY_CACHE_DIR/debootstrap.log"; tail -n 20 "$LINKY_CACHE_DIR/debootstrap.log" >&2; return 1; }
  touch "$tmp/.linky-root-ok"
  rm -rf "$LINKY_ROOT"
  mv "$tmp" "$LINKY_ROOT"
}

# Runs "$@" inside the root, in private mount and PID namespaces.
_linky_chroot_run() {
  cp /etc/resolv.conf "$LINKY_ROOT/etc/resolv.conf" 2>/dev/null || true
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$LINKY_ROOT/etc/ssl/certs/ca-certificates.crt"
  fi
  mkdir -p "$LINKY_ROOT/dev" "$LINKY_ROOT/proc"
  local shared_dir
  shared_dir=$(cd "$LINKY_REPO/.." && pwd)/shared
  local inner
  # shellcheck disable=SC2016
  inner='set -e
root=$1; repo=$2; shared=$3; shift 3
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mkdir -p "$root/tmp"; mount -t tmpfs -o size=4g tmpfs "$root/tmp"
mkdir -p "$root$repo"; mount --bind "$repo" "$root$repo"
if [ -d "$shared" ]; then mkdir -p "$root$shared"; mount --bind "$shared" "$root$shared"; fi
cd "$repo"
exec chroot "$root" /usr/bin/env -i \
  HOME=/root PATH='"$LINKY_ROOT_VENV"'/bin:/usr/local/bin:/usr/bin:/bin \
  LANG=C.UTF-8 TZ="${TZ:-UTC}" CI="${CI:-}" TERM="${TERM:-dumb}" \
  PYTHONDONTWRITEBYTECODE=1 LINKY_IN_ROOT=1 LINKY_TEST_ARGS="${LINKY_TEST_ARGS:-}" \
  PYTHONPATH="$LINKY_ENV_PYTHONPATH" PYTEST_ADDOPTS="$LINKY_ALL_PYTEST_ADDOPTS" \
  /bin/sh -c "cd \"$repo\" && exec \"\$@\"" sh "$@"'
  LINKY_ENV_PYTHONPATH=$LINKY_ENV_PYTHONPATH LINKY_ALL_PYTEST_ADDOPTS=$(_linky_pytest_addopts) \
    _linky_isolated unshare --mount --propagation private --pid --fork --kill-child \
    bash -c "$inner" inner "$LINKY_ROOT" "$LINKY_REPO" "$shared_dir" "$@"
}

# Runs "$@" (an `unshare --pid --fork ...` command) so that an interrupted or killed script
# takes the whole PID namespace down with it. The command runs as a job of its own (so it
# does not start with SIGINT ignored, as background commands of scripts otherwise do); on
# SIGINT/SIGTERM/SIGHUP the job gets SIGINT first (Ctrl-C: Home Assistant and pytest stop
# cleanly), then, if it is still there after 10 s, its namespace is killed (the kernel kills
# every process in a PID namespace whose first process dies). A stopped command returns
# 128 + the signal's number (130, 143, 129) whatever its own status, so that callers that
# go on after a failure (scripts/test) can tell an interruption from a failure.
_linky_isolated() {
  local pid rc signalled=""
  set -m
  # setpriv: the command (unshare) gets SIGKILL when this shell dies, even by SIGKILL
  # (`timeout -k`, docker, a CI runner): with --kill-child its namespace goes with it, so
  # nothing survives however the script is stopped.
  setpriv --pdeathsig KILL "$@" <&0 &
  pid=$!
  set +m
  # shellcheck disable=SC2064
  trap "signalled=130; _linky_stop $pid" INT
  # shellcheck disable=SC2064
  trap "signalled=143; _linky_stop $pid" TERM
  # shellcheck disable=SC2064
  trap "signalled=129; _linky_stop $pid" HUP
  while :; do
    wait "$pid" && rc=0 || rc=$?
    kill -0 "$pid" 2>/dev/null || break
  done
  trap - INT TERM HUP
  return "${signalled:-$rc}"
}

_linky_stop() {
  local pid=$1 _
  kill -INT -- "-$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
}

# The pip commands that bring the virtualenv $1 (created first if missing) to the selected
# environment's requirements, for `sh -c` in the checkout.
_linky_install_commands() {
  local venv=$1 python=$2
  printf '%s\n' "set -e" \
    "[ -x '$venv/bin/python' ] || '$python' -m venv '$venv'" \
    "'$venv/bin/pip' install -q --disable-pip-version-check -r '$LINKY_REQUIREMENTS'"
  if [ -n "$LINKY_OVERRIDES" ]; then
    # pip reports the overridden pin as a conflict ("pytest-homeassistant-custom-component
    # ... requires homeassistant==..."): that is the point of the override.
    printf '%s\n' \
      "echo '[linky-env] overriding pins with $LINKY_OVERRIDES (pip reports the conflict)' >&2" \
      "'$venv/bin/pip' install -q --disable-pip-version-check -r '$LINKY_OVERRIDES'"
  fi
}

# Provisions the selected environment (idempotent) and sets LINKY_MODE.
linky_env_provision() {
  mkdir -p "$LINKY_CACHE_DIR"
  exec 9>"$LINKY_CACHE_DIR/.lock"
  flock 9
  local host_python want have start=$SECONDS
  want=$(_linky_requirements_hash)
  if host_python=$(_linky_find_host_python); then
    LINKY_MODE=host
    linky_log "using host Python $host_python ($LINKY_ENV environment)"
    have=$(cat "$LINKY_HOST_VENV/.linky-req" 2>/dev/null || true)
    [ -f "$LINKY_HOST_VENV/pyvenv.cfg" ] || have=""
    if [ "$want" != "$have" ]; then
      linky_log "installing pinned test requirements ($LINKY_REQUIREMENTS)"
      (cd "$LINKY_REPO" && sh -c "$(_linky_install_commands "$LINKY_HOST_VENV" "$host_python")")
      echo "$want" >"$LINKY_HOST_VENV/.linky-req"
      linky_log "$LINKY_ENV environment ready in $((SECONDS - start)) s"
    fi
  else
    LINKY_MODE=chroot
    linky_log "no Python >= $LINKY_MIN_PYTHON on this machine: using a Debian sid root in $LINKY_ROOT ($LINKY_ENV environment)"
    _linky_bootstrap_root
    have=$(cat "$LINKY_ROOT$LINKY_ROOT_VENV/.linky-req" 2>/dev/null || true)
    [ -f "$LINKY_ROOT$LINKY_ROOT_VENV/pyvenv.cfg" ] || have=""
    if [ "$want" != "$have" ]; then
      linky_log "installing pinned test requirements ($LINKY_REQUIREMENTS) into the root (about 1 min)"
      _linky_chroot_run sh -c "$(_linky_install_commands "$LINKY_ROOT_VENV" python3.14)
        echo $want > $LINKY_ROOT_VENV/.linky-req"
      linky_log "$LINKY_ENV environment ready in $((SECONDS - start)) s"
    fi
  fi
  flock -u 9
  exec 9>&-
}

# The environment's PYTEST_ADDOPTS followed by the caller's.
_linky_pytest_addopts() {
  local opts="$LINKY_ENV_PYTEST_ADDOPTS ${PYTEST_ADDOPTS:-}"
  opts=${opts# }; echo "${opts% }"
}

# Runs a command (looked up in the environment's PATH first) inside the environment.
linky_run() {
  case "$LINKY_MODE" in
    host)
      local pythonpath addopts
      pythonpath="$LINKY_ENV_PYTHONPATH${PYTHONPATH:+:$PYTHONPATH}"
      pythonpath=${pythonpath#:}
      addopts=$(_linky_pytest_addopts)
      if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1; then
        # No subshell: the namespace's parent must be this script (see _linky_isolated).
        local here=$PWD status=0
        cd "$LINKY_REPO"
        PATH="$LINKY_HOST_VENV/bin:$PATH" PYTHONDONTWRITEBYTECODE=1 \
          PYTHONPATH="$pythonpath" PYTEST_ADDOPTS="$addopts" \
          _linky_isolated unshare --mount --propagation private --pid --fork --kill-child \
          --mount-proc "$@" || status=$?
        cd "$here"
        return "$status"
      else
        (cd "$LINKY_REPO" && PATH="$LINKY_HOST_VENV/bin:$PATH" PYTHONDONTWRITEBYTECODE=1 \
          PYTHONPATH="$pythonpath" PYTEST_ADDOPTS="$addopts" "$@")
      fi ;;
    chroot)
      _linky_chroot_run "$@" ;;
    *) linky_log "linky_env_provision was not called"; return 1 ;;
  esac
}
