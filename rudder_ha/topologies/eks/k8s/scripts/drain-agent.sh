#!/bin/sh
# rudder-ha jobsdb drain agent: the main process of the backend pod's "jobsdb-drain" native sidecar.
#
#   drain-agent.sh HANDSHAKE_DIR INTERVAL_SECONDS -- CHECK_COMMAND [ARG...]
#
# The backend container's preStop hook (drain-prestop.sh) asks for a drain by writing one line
# "ID DEADLINE" to HANDSHAKE_DIR/request (DEADLINE in epoch seconds), a directory both containers
# mount. For each new ID this agent runs CHECK_COMMAND (rudder-drain-check, which needs python3 and
# psql: the backend image has no python3, so the check runs here) until it exits 0, at most every
# INTERVAL_SECONDS, and then writes "ID drained" to HANDSHAKE_DIR/result. Any other exit code (75
# pending, 69 cannot tell, anything unexpected) keeps it checking: "cannot tell" never counts as
# drained. Once DEADLINE has passed without a drained answer it writes "ID timeout" and stops
# checking for that request. Between requests it idles; SIGTERM ends it at once (the kubelet sends
# it only after the backend container has exited).
#
# The check's JSON is kept in HANDSHAKE_DIR/last-check.json and logged with each result.
set -u

if [ "$#" -lt 4 ] || [ "$3" != "--" ]; then
    echo "usage: drain-agent.sh HANDSHAKE_DIR INTERVAL_SECONDS -- CHECK_COMMAND [ARG...]" >&2
    exit 64
fi
dir=$1
interval=$2
shift 3
case $interval in
    '' | *[!0-9]*)
        echo "drain-agent: INTERVAL_SECONDS must be a whole number" >&2
        exit 64
        ;;
esac
[ "$interval" -ge 1 ] || interval=1

log() {
    echo "drain-agent: $*"
}

# sleep in the background and wait for it, so SIGTERM is handled at once
nap() {
    sleep "$1" &
    wait "$!"
}

write_result() {
    printf '%s %s\n' "$1" "$2" >"$dir/result.tmp" && mv -f "$dir/result.tmp" "$dir/result"
}

trap 'log "stopping"; exit 0' TERM INT

handled=""
log "waiting for a drain request in $dir/request"
while :; do
    id=""
    deadline=""
    if [ -f "$dir/request" ]; then
        read -r id deadline _rest <"$dir/request" || true
    fi
    if [ -z "$id" ] || [ "$id" = "$handled" ]; then
        nap 1
        continue
    fi
    case $deadline in
        '' | *[!0-9]*)
            log "ignoring malformed request $id"
            handled=$id
            continue
            ;;
    esac

    "$@" >"$dir/last-check.json.tmp"
    code=$?
    mv -f "$dir/last-check.json.tmp" "$dir/last-check.json"
    now=$(date +%s)
    if [ "$code" -eq 0 ]; then
        write_result "$id" drained
        handled=$id
        log "request $id: drained: $(cat "$dir/last-check.json")"
    elif [ "$now" -ge "$deadline" ]; then
        write_result "$id" timeout
        handled=$id
        log "request $id: deadline passed and not drained (last check exit $code): $(cat "$dir/last-check.json")"
    else
        log "request $id: not drained yet (check exit $code): $(cat "$dir/last-check.json")"
        wait_for=$((deadline - now))
        [ "$wait_for" -le "$interval" ] || wait_for=$interval
        nap "$wait_for"
    fi
done
