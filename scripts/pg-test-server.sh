#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (tests/cli/postgres.rs) and for trying
# `--data postgres://...` on a laptop:
#
#   eval "$(scripts/pg-test-server.sh start)"   # prints `export HANDOFF_TEST_PG=...` lines
#   scripts/pg-test-server.sh stop              # stops it and deletes its folder
#
# `start` installs Debian's `postgresql` package when no server binaries are found (apt-get,
# as root), creates a cluster with initdb in a temporary folder, owned by an unprivileged user
# when run as root (postgres refuses to run as root; `nobody` by default, PG_TEST_USER to
# change it), and starts it on a free loopback port and on a Unix socket in that folder, with
# durability off (a test server). The superuser `handoff` needs a password over TCP
# (scram-sha-256) and none over the socket. It prints, for `eval`:
#
#   HANDOFF_TEST_PG         postgres://handoff:<password>@127.0.0.1:<port>/handoff_test
#   HANDOFF_TEST_PG_SOCKET  postgres:///handoff_test?host=<dir>/socket&port=<port>&user=handoff
#   HANDOFF_TEST_PG_CA      the CA certificate the server's TLS certificate is signed with
#                           (TLS is on for TCP; only when `openssl` is installed)
#   HANDOFF_TEST_PG_DIR     the cluster's folder (what `stop` removes)
#
# The folder is also recorded in ${TMPDIR:-/tmp}/handoff-pg-test-server, so `stop` needs no
# argument.
set -euo pipefail

state_file="${TMPDIR:-/tmp}/handoff-pg-test-server"

find_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local bindir
  if ! bindir=$(find_bindir); then
    if [ "$(id -u)" -ne 0 ]; then
      echo "$0: no PostgreSQL server binaries; install them (apt-get install postgresql) or run as root" >&2
      exit 1
    fi
    echo "$0: installing Debian's postgresql" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
    bindir=$(find_bindir)
  fi

  local dir port password run_as=()
  dir=$(mktemp -d "${TMPDIR:-/tmp}/handoff-pg.XXXXXX")
  chmod 755 "$dir"
  mkdir -p "$dir/socket"
  port=$(free_port)
  password="pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$password" >"$dir/pwfile"
  if [ "$(id -u)" -eq 0 ]; then
    local user=${PG_TEST_USER:-nobody}
    chown -R "$user" "$dir"
    run_as=(runuser -u "$user" --)
  fi

  "${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U handoff --pwfile="$dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  local tls=()
  if command -v openssl >/dev/null 2>&1; then
    # A CA and a server certificate for 127.0.0.1 signed by it, for the sslmode tests.
    (
      cd "$dir"
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 7 \
        -subj "/CN=handoff test CA" 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -keyout data/server.key -out server.csr \
        -subj "/CN=127.0.0.1" 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
        -out data/server.crt -days 7 -extfile ext 2>/dev/null
      rm -f ca.key server.csr ext ca.srl
      chmod 600 data/server.key
    )
    if [ "$(id -u)" -eq 0 ]; then chown "${PG_TEST_USER:-nobody}" "$dir/data/server.key" "$dir/data/server.crt"; fi
    tls=(-c ssl=on)
  fi
  "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/socket -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${tls[*]}" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  "${run_as[@]}" psql -X -q -h "$dir/socket" -p "$port" -U handoff -d postgres \
    -c "CREATE DATABASE handoff_test" >&2
  echo "$dir" >"$state_file"
  echo "$bindir" >"$dir/bindir"
  echo "export HANDOFF_TEST_PG='postgres://handoff:$password@127.0.0.1:$port/handoff_test'"
  echo "export HANDOFF_TEST_PG_SOCKET='postgres:///handoff_test?host=$dir/socket&port=$port&user=handoff'"
  if [ ${#tls[@]} -gt 0 ]; then echo "export HANDOFF_TEST_PG_CA='$dir/ca.crt'"; fi
  echo "export HANDOFF_TEST_PG_DIR='$dir'"
}

stop() {
  local dir=${1:-${HANDOFF_TEST_PG_DIR:-}}
  if [ -z "$dir" ] && [ -f "$state_file" ]; then
    dir=$(cat "$state_file")
  fi
  if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
    echo "$0: no test server to stop" >&2
    return 0
  fi
  local run_as=()
  if [ "$(id -u)" -eq 0 ]; then
    run_as=(runuser -u "$(stat -c %U "$dir/data")" --)
  fi
  "${run_as[@]}" "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  rm -rf "$dir"
  rm -f "$state_file"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *)
    echo "usage: $0 start | stop [DIR]" >&2
    exit 2
    ;;
esac
