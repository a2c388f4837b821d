#!/bin/sh
# rudder-ha preStop hook of the rudder-server container: hold SIGTERM until the jobsdb is drained.
#
#   drain-prestop.sh HANDSHAKE_DIR SETTLE_SECONDS BUDGET_SECONDS
#
# The kubelet runs this when the pod starts terminating, and sends rudder-server SIGTERM only when
# it returns, so the server keeps processing and routing while it waits. At that moment the pod has
# already been taken out of the Service's ready endpoints (and so out of the ALB target group); the
# hook first waits SETTLE_SECONDS for that to propagate, so that no new event can arrive after a
# "drained" answer. It then asks the drain agent sidecar for a drain (HANDSHAKE_DIR/request, one
# line "ID DEADLINE") and waits for "ID drained" in HANDSHAKE_DIR/result. Everything is bounded by
# BUDGET_SECONDS from the hook's start (the pod's grace period minus a reserve for the shutdown
# itself): past it, or on the agent's "ID timeout", the hook exits 1, which the kubelet records as
# a FailedPreStopHook event before it stops the server. Events still pending then stay on the pod's
# retained jobsdb volume.
#
# Only POSIX sh, date and sleep: it runs in rudder-server's Alpine image, which has no python3.
# Log lines go to the server's stdout (RUDDER_DRAIN_LOG, default /proc/1/fd/1) so they show in the
# pod's logs; a hook's own output is otherwise discarded.
set -u

log_target=${RUDDER_DRAIN_LOG:-/proc/1/fd/1}
log() {
    { echo "drain-prestop: $*" >>"$log_target"; } 2>/dev/null || true
}

if [ "$#" -ne 3 ]; then
    echo "usage: drain-prestop.sh HANDSHAKE_DIR SETTLE_SECONDS BUDGET_SECONDS" >&2
    exit 64
fi
dir=$1
settle=$2
budget=$3
for number in "$settle" "$budget"; do
    case $number in
        '' | *[!0-9]*)
            echo "drain-prestop: SETTLE_SECONDS and BUDGET_SECONDS must be whole numbers" >&2
            exit 64
            ;;
    esac
done

start=$(date +%s)
deadline=$((start + budget))
id="$start-$$"
[ "$settle" -le "$budget" ] || settle=$budget

log "termination started; waiting ${settle}s for the pod to leave the load balancer"
sleep "$settle"

if printf '%s %s\n' "$id" "$deadline" >"$dir/request.tmp" && mv -f "$dir/request.tmp" "$dir/request"; then
    log "drain $id requested; waiting until the jobsdb is drained, at most until $deadline"
else
    log "cannot write the drain request to $dir; waiting out the budget"
fi

while :; do
    rid=""
    status=""
    if [ -f "$dir/result" ]; then
        read -r rid status _rest <"$dir/result" || true
    fi
    if [ "$rid" = "$id" ]; then
        if [ "$status" = drained ]; then
            log "drain $id: drained after $(($(date +%s) - start))s; stopping rudder-server"
            exit 0
        fi
        log "drain $id: the drain agent reported '$status'; stopping rudder-server with events pending"
        echo "jobsdb not drained within ${budget}s: pending events stay on the retained volume" >&2
        exit 1
    fi
    now=$(date +%s)
    if [ "$now" -ge "$deadline" ]; then
        log "drain $id: budget of ${budget}s used up; stopping rudder-server with events pending"
        echo "jobsdb not drained within ${budget}s: pending events stay on the retained volume" >&2
        exit 1
    fi
    sleep 1
done
