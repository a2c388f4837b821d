#!/bin/sh
# rudder-ha orphan-volume drain: the main process of a processor-only Job over a retained jobsdb volume.
#
#   orphan-drain.sh HANDSHAKE_DIR BUDGET_SECONDS -- SERVER [ARG...]
#
# When backend_replica_count is lowered and a removed pod ran out of drain budget, its events stay on its
# retained volume, which no pod mounts any more. A Job mounts that volume with the backend's PostgreSQL and
# drain agent sidecars and runs this script: it starts SERVER (rudder-server with APP_TYPE=PROCESSOR, which
# processes and routes what the jobsdb holds and takes no traffic), asks the drain agent for a drain exactly
# as a terminating backend pod does (drain-prestop.sh next to this script, no settle time: no traffic
# arrives here), and stops the server when the agent answers "drained". Exit 0: nothing is pending, the Job
# completes and lets the volume go. Exit 1: BUDGET_SECONDS passed with events still pending, or the server
# exited early; the Job's next attempt carries on with the same volume, so nothing is lost either way.
# SIGTERM stops the server and exits 143.
set -u

if [ "$#" -lt 4 ] || [ "$3" != "--" ]; then
    echo "usage: orphan-drain.sh HANDSHAKE_DIR BUDGET_SECONDS -- SERVER [ARG...]" >&2
    exit 64
fi
dir=$1
budget=$2
shift 3
case $budget in
    '' | *[!0-9]*)
        echo "orphan-drain: BUDGET_SECONDS must be a whole number" >&2
        exit 64
        ;;
esac
here=$(dirname "$0")

log() {
    echo "orphan-drain: $*"
}

"$@" &
server=$!
RUDDER_DRAIN_LOG=/dev/stdout /bin/sh "$here/drain-prestop.sh" "$dir" 0 "$budget" &
waiter=$!
trap 'log "terminated; stopping the server"; kill -TERM "$server" "$waiter" 2>/dev/null; wait "$server"; exit 143' TERM INT
log "processing the retained jobsdb until nothing is pending (at most ${budget}s)"

while kill -0 "$server" 2>/dev/null && kill -0 "$waiter" 2>/dev/null; do
    sleep 1 &
    wait "$!"
done

if ! kill -0 "$waiter" 2>/dev/null; then
    wait "$waiter"
    result=$?
    kill -TERM "$server" 2>/dev/null
    wait "$server"
    if [ "$result" -eq 0 ]; then
        log "drained: the volume holds no pending events"
        exit 0
    fi
    log "events still pending after ${budget}s; the next attempt carries on"
    exit 1
fi
wait "$server"
code=$?
kill -TERM "$waiter" 2>/dev/null
log "the server exited early (exit $code) with the drain unfinished; the next attempt carries on"
exit 1
