#!/usr/bin/env bash
# First-boot bootstrap, carried in the user data (everything else is too large for its 16 KiB):
# fetches the instance bundle (ami/ as a tarball) from the environment's artifacts bucket, checks
# its SHA-256 against the one the launch template was built with, unpacks it and provisions.
#
#   bootstrap.sh ENVIRONMENT BUNDLE_SHA256
#
# The bucket's name is read from the SSM parameter /rudder-ha/<environment>/artifacts-bucket.
# RUDDER_HA_ROOT (default /) and RUDDER_HA_PROVISION (default the unpacked provision.sh) exist for tests.
set -euo pipefail

environment="${1:?usage: bootstrap.sh ENVIRONMENT BUNDLE_SHA256}"
sha="${2:?usage: bootstrap.sh ENVIRONMENT BUNDLE_SHA256}"
root="${RUDDER_HA_ROOT:-/}"
region="$(sed -n 's/^AWS_REGION=//p' "${root%/}/etc/rudder-ha/instance.env")"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

for attempt in 1 2 3 4 5; do
  bucket="$(aws ssm get-parameter --region "${region}" --with-decryption \
    --name "/rudder-ha/${environment}/artifacts-bucket" --query Parameter.Value --output text)" &&
    aws s3 cp --only-show-errors --region "${region}" \
      "s3://${bucket}/instance-bundle/${sha}.tar.gz" "${work}/bundle.tar.gz" && break
  [[ "${attempt}" -lt 5 ]] || { echo "bootstrap: cannot fetch the instance bundle" >&2; exit 1; }
  sleep $((attempt * 3))
done

echo "${sha}  ${work}/bundle.tar.gz" | sha256sum --check --status ||
  { echo "bootstrap: instance bundle does not match ${sha}; refusing it" >&2; exit 1; }
tar -xzf "${work}/bundle.tar.gz" -C "${root}" --no-same-owner
exec "${RUDDER_HA_PROVISION:-${root%/}/opt/rudder-ha/provision.sh}" boot
