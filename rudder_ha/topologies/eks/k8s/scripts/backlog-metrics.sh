#!/bin/sh
# rudder-ha backlog metrics: the main process of the backend pod's "backlog-metrics" native sidecar.
#
#   backlog-metrics.sh WORK_DIR INTERVAL_SECONDS ENVIRONMENT REGION -- PUBLISHER [ARG...]
#
# Runs PUBLISHER (rudder-backlog-metrics, the same file the instances run every minute from a systemd
# timer) every INTERVAL_SECONDS, so each backend pod publishes its own jobsdb's backlog to CloudWatch
# (PendingJobs, OldestPendingAgeSeconds, BacklogCheckFailed; namespace RudderHA, dimension Environment)
# with the pod's EKS Pod Identity credentials. The publisher reads AWS_REGION and RUDDER_HA_ENVIRONMENT
# from an instance.env file and the JOBS_DB_* settings from an env file: both are written into WORK_DIR (a
# writable emptyDir), the latter empty because the container's environment already holds JOBS_DB_*
# (rudder-drain-check prefers the environment). The instance metadata service is out of reach of pods,
# so its URL is set to one the publisher does not call (a pod is never in a warm pool).
# A failed run is logged and retried at the next interval; SIGTERM ends the loop at once.
set -u

if [ "$#" -lt 6 ] || [ "$5" != "--" ]; then
    echo "usage: backlog-metrics.sh WORK_DIR INTERVAL_SECONDS ENVIRONMENT REGION -- PUBLISHER [ARG...]" >&2
    exit 64
fi
dir=$1
interval=$2
environment=$3
region=$4
shift 5
case $interval in
    '' | *[!0-9]*)
        echo "backlog-metrics: INTERVAL_SECONDS must be a whole number" >&2
        exit 64
        ;;
esac
[ "$interval" -ge 1 ] || interval=1

printf 'AWS_REGION=%s\nRUDDER_HA_ENVIRONMENT=%s\n' "$region" "$environment" >"$dir/instance.env" || exit 73
: >"$dir/jobsdb.env" || exit 73
RUDDER_HA_INSTANCE_ENV=$dir/instance.env
RUDDER_HA_JOBSDB_ENV=$dir/jobsdb.env
RUDDER_HA_IMDS_URL=unreachable-from-pods
export RUDDER_HA_INSTANCE_ENV RUDDER_HA_JOBSDB_ENV RUDDER_HA_IMDS_URL

sleeper=""
# the sleeper goes too: nothing of this loop outlives it
trap 'echo "backlog-metrics: stopping"; [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null; exit 0' TERM INT

while :; do
    "$@" || echo "backlog-metrics: publishing failed (exit $?); retrying in ${interval}s"
    sleep "$interval" &
    sleeper=$!
    wait "$sleeper"
done
