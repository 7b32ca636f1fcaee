# Throwaway PostgreSQL and Redis on loopback under one temporary directory.
# Sourced by .ci/run; also handy by hand:  source .ci/stores.sh && start_stores && ... && stop_stores
# Installs them from Debian's packages when they are missing (needs root or sudo).

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

install_stores() {
  local missing=()
  [ -n "$(pg_bin_dir)" ] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Runs a PostgreSQL program as the postgres user when we are root (initdb refuses root).
pg_run() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_stores() {
  install_stores
  STORES_DIR=$(mktemp -d /tmp/isola-stores.XXXXXX)
  chmod 755 "$STORES_DIR"
  mkdir -p "$STORES_DIR/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$STORES_DIR/pg"
  local bin pg_port redis_port
  bin=$(pg_bin_dir)
  pg_port=$(free_port)
  redis_port=$(free_port)
  pg_run "$bin/initdb" -D "$STORES_DIR/pg/data" -U postgres --auth=trust >/dev/null
  pg_run "$bin/pg_ctl" -D "$STORES_DIR/pg/data" -l "$STORES_DIR/pg/log" -w \
    -o "-h 127.0.0.1 -p $pg_port -k $STORES_DIR/pg -c max_connections=300 -c fsync=off" start >/dev/null
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --daemonize yes \
    --dir "$STORES_DIR" --pidfile "$STORES_DIR/redis.pid" --logfile "$STORES_DIR/redis.log"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
  export REDIS_URL="redis://127.0.0.1:$redis_port"
  export STORES_DIR
  echo "PostgreSQL at $DATABASE_URL, Redis at $REDIS_URL (under $STORES_DIR)"
}

stop_stores() {
  [ -n "${STORES_DIR:-}" ] && [ -d "$STORES_DIR" ] || return 0
  pg_run "$(pg_bin_dir)/pg_ctl" -D "$STORES_DIR/pg/data" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$STORES_DIR/redis.pid" ] && kill "$(cat "$STORES_DIR/redis.pid")" 2>/dev/null || true
  rm -rf "$STORES_DIR"
}
