#!/usr/bin/env bash
# Installs and starts the rudder-ha data plane on Amazon Linux 2023.
#
# One definition, two uses: run at first boot from user data (no baked AMI), or at image build
# time (then the packages, units and scripts are installed and the images pre-pulled, nothing started).
# Settings come from /etc/rudder-ha/instance.env, written by the user data; it holds no secrets.
# Idempotent: running it twice leaves the same machine.
set -euo pipefail

readonly INSTALL_DIR=/opt/rudder-ha
readonly CONFIG_DIR=/etc/rudder-ha
readonly STATE_DIR=/var/lib/rudder-ha
readonly INSTANCE_ENV="${CONFIG_DIR}/instance.env"
MODE="${1:-boot}"   # boot | bake

log() { printf '%s rudder-ha provision: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

require_settings() {
  if [[ ! -r "${INSTANCE_ENV}" ]]; then
    log "missing ${INSTANCE_ENV}; the user data writes it"
    exit 64
  fi
  # shellcheck source=/dev/null
  source "${INSTANCE_ENV}"
  : "${RUDDER_BACKEND_IMAGE:?set in instance.env}" "${RUDDER_TRANSFORMER_IMAGE:?set in instance.env}"
  : "${RUDDER_JOBSDB_MODE:?set in instance.env}"
}

install_packages() {
  # docker runs the data plane; postgresql15 provides psql for the on-node drain check; nftables loads the
  # rule keeping the containers off the instance metadata service (rudder-imds-guard); the CloudWatch agent
  # receives rudder-server's statsd on 127.0.0.1:8125 and publishes it (start_metrics_agent).
  local packages=(docker postgresql15 jq nftables amazon-cloudwatch-agent)
  if rpm -q "${packages[@]}" >/dev/null 2>&1; then
    log "packages already installed (baked image)"
  else
    log "installing packages"
    dnf install -y --setopt=install_weak_deps=False "${packages[@]}"
  fi
  systemctl enable --now docker
}

install_files() {
  log "installing units and scripts"
  install -d -m 0755 "${STATE_DIR}" "${STATE_DIR}/backend"
  install -d -m 0700 "${STATE_DIR}/postgres"
  install -m 0755 "${INSTALL_DIR}"/bin/* /usr/local/bin/
  install -m 0644 "${INSTALL_DIR}"/systemd/*.service "${INSTALL_DIR}"/systemd/*.timer \
    "${INSTALL_DIR}"/systemd/*.slice /etc/systemd/system/
  systemctl daemon-reload
}

pull_images() {
  log "pulling container images"
  local image
  for image in "${RUDDER_BACKEND_IMAGE}" "${RUDDER_TRANSFORMER_IMAGE}" "${RUDDER_POSTGRES_IMAGE:-}"; do
    [[ -n "${image}" ]] || continue
    if docker image inspect "${image}" >/dev/null 2>&1; then
      log "${image} already present (baked image)"
      continue
    fi
    docker pull --quiet "${image}"
  done
}

local_jobsdb_password() {
  # Instance mode: the jobsdb lives on this instance; its password is made here and never leaves it.
  local file="${STATE_DIR}/postgres-password"
  if [[ ! -s "${file}" ]]; then
    umask 077
    head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "${file}"
  fi
}

rds_admin_settings() {
  # rds mode: where the jobsdb is and which secret holds its admin login, for the fence agent. It holds
  # no secret itself; the agent reads the password from Secrets Manager when it needs it.
  local connection
  connection="$(aws ssm get-parameter --region "${AWS_REGION}" --with-decryption \
    --name "${RUDDER_JOBSDB_PARAMETER:?set in instance.env}" --query Parameter.Value --output text)"
  umask 077
  jq -r '"JOBS_DB_HOST=\(.host)\nJOBS_DB_PORT=\(.port)\nJOBS_DB_DB_NAME=\(.dbname)\n" +
    "JOBS_DB_SSL_MODE=\(.sslmode)\nJOBS_DB_ADMIN_SECRET_ID=\(.admin_secret_arn)"' <<< "${connection}" \
    > "${CONFIG_DIR}/jobsdb-admin.env"
}

start_metrics_agent() {
  # The agent's statsd listener (the bundle's cloudwatch/rudder-statsd-agent.json) with this environment's
  # namespace, the only one the instance role may publish to.
  local config="${STATE_DIR}/cloudwatch-agent.json"
  jq --arg namespace "${RUDDER_METRICS_NAMESPACE:?set in instance.env}" '.metrics.namespace = $namespace' \
    "${INSTALL_DIR}/cloudwatch/rudder-statsd-agent.json" > "${config}"
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:${config}"
}

enable_services() {
  if [[ "${MODE}" == "bake" ]]; then
    # A baked image carries the units but starts nothing: each instance enables them at boot, once its
    # own settings (and, in instance mode, its own jobsdb password) exist.
    log "units installed; they are enabled at boot"
    return 0
  fi
  # First the rule that keeps the containers (all in rudder.slice) off the instance metadata service, so no
  # container ever runs without it; each container unit checks it again before it starts.
  local units=(rudder-imds-guard.service rudder-transformer.service rudder-backend.service)
  if [[ "${RUDDER_JOBSDB_MODE}" == "instance" ]]; then
    local_jobsdb_password
    units=(rudder-postgres.service "${units[@]}")
  else
    rds_admin_settings
    units=(rudder-jobsdb-fence.service "${units[@]}")
  fi
  # Publish the jobsdb backlog (pending jobs, oldest pending age) and degraded mode every minute.
  units+=(rudder-backlog-metrics.timer rudder-crash-guard.timer)
  # The event archive's writer-role credentials for rudder-server's archiver (README "Replay after a jobsdb loss").
  if [[ "${RUDDER_EVENT_ARCHIVE:-off}" == "on" ]]; then
    units+=(rudder-archive-credentials.service)
  fi
  start_metrics_agent
  systemctl enable --now "${units[@]}"
}

main() {
  require_settings
  install_packages
  install_files
  pull_images
  enable_services
  log "done (${MODE})"
}

main "$@"
