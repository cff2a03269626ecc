#!/usr/bin/env bash
# Make sure a RabbitMQ broker answers at AMQP_URI (default 127.0.0.1:5672):
# use it if it is up, else start a local rabbitmq-server, else a RabbitMQ container (docker run).
# With --management, also make sure the management API (used by the tests) is on.
set -euo pipefail
uri="${AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/}"
hostport="${uri#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$host" ] && port=5672

up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_for() { for _ in $(seq 1 "$3"); do up "$1" "$2" && return 0; sleep 1; done; return 1; }

if ! up "$host" "$port"; then
  if [ "$host" != "127.0.0.1" ] && [ "$host" != "localhost" ]; then
    echo "RabbitMQ at $host:$port does not answer; check AMQP_URI." >&2; exit 1
  elif command -v rabbitmq-server >/dev/null; then
    echo "starting the local rabbitmq-server ..."
    ulimit -n 65536 2>/dev/null || true
    rabbitmq-server -detached
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    echo "starting RabbitMQ with docker ..."
    docker start deskflow-rabbitmq 2>/dev/null ||
      docker run -d --name deskflow-rabbitmq -p 5672:5672 -p 15672:15672 rabbitmq:3.13-management
  else
    cat >&2 <<MSG
No RabbitMQ broker answers at $host:$port, and neither rabbitmq-server nor Docker is here.
Get one of:
  - Debian/Ubuntu: sudo apt-get install rabbitmq-server  (then run make again)
  - Docker:        docker start deskflow-rabbitmq 2>/dev/null ||
      docker run -d --name deskflow-rabbitmq -p 5672:5672 -p 15672:15672 rabbitmq:3.13-management
  - an existing broker: export AMQP_URI=amqp://user:pass@host:5672/vhost
MSG
    exit 1
  fi
  wait_for "$host" "$port" 60 || { echo "RabbitMQ did not come up on $host:$port" >&2; exit 1; }
fi

if [ "${1:-}" = "--management" ] && ! up "$host" 15672; then
  if command -v rabbitmq-plugins >/dev/null; then
    rabbitmq-plugins enable rabbitmq_management >/dev/null
  fi
  wait_for "$host" 15672 60 || { echo "RabbitMQ's management API (port 15672) is off; enable the rabbitmq_management plugin" >&2; exit 1; }
fi
echo "RabbitMQ is up at $host:$port"
