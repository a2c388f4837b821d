"""Default values, each with the reason (and source) it was chosen.

Health-check timings are tuned for fast failover:
- ``HealthCheckIntervalSeconds`` may be 5-300 s and the thresholds 2-10 (Elastic Load Balancing
  API reference, CreateTargetGroup / "Health checks for Application Load Balancer target groups").
  5 s x 2 failures detects a dead gateway in 10 s instead of the AWS defaults' 30 s x 2 = 60 s
  (and the original ha-tf kept those defaults).
- The timeout must be shorter than the interval; rudder-server answers /health from memory plus a
  database ping, so 4 s leaves room for a slow ping without overlapping checks.
- The deregistration delay (AWS default 300 s) only has to outlast in-flight event POSTs, which
  rudder's gateway answers within seconds; SDKs retry anything cut off. 30 s keeps scale-in and
  instance refresh quick without dropping requests mid-flight.
"""

from __future__ import annotations

HEALTH_CHECK_INTERVAL_SECONDS = 5
HEALTH_CHECK_TIMEOUT_SECONDS = 4
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 2
DEREGISTRATION_DELAY_SECONDS = 30

# rudder-server opens its gateway only after loading the workspace config and the transformer's
# features, and a cold instance pulls container images first: 300 s covers a cold, un-baked boot.
HEALTH_CHECK_GRACE_PERIOD_SECONDS = 300
DEFAULT_INSTANCE_WARMUP_SECONDS = 120

# The drain Lambda heartbeats once less than half of this remains. An invocation that crashes or is
# throttled only comes back after the drain queue's visibility timeout (360 s), so the hook must
# outlast two of those plus a poll interval: 900 s, which also gives a 25 h global timeout (x100).
LIFECYCLE_HEARTBEAT_TIMEOUT_SECONDS = 900
# For a terminating hook both results end in termination; ABANDON records that the drain did not
# confirm an empty jobsdb.
LIFECYCLE_DEFAULT_RESULT = "ABANDON"

VPC_CIDR = "10.0.0.0/16"
FLOW_LOGS_RETENTION_DAYS = 365  # a year of network forensics; CIS AWS 3.9 / checkov CKV_AWS_338
ACCESS_LOGS_RETENTION_DAYS = 90
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 with TLS 1.2 fallback for older SDKs
IDLE_TIMEOUT_SECONDS = 60
INGRESS_CIDRS = ("0.0.0.0/0",)  # SDKs send from anywhere; narrow it for server-side-only sources

INSTANCE_TYPE = "m6i.xlarge"  # 4 vCPU / 16 GiB: backend, transformer and (instance mode) PostgreSQL
ARCHITECTURE = "x86_64"
AMI_SSM_PARAMETER = {
    "x86_64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "arm64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
}
ROOT_VOLUME_SIZE_GIB = 100
ROOT_VOLUME_IOPS = 3000  # gp3 baseline
ROOT_VOLUME_THROUGHPUT_MIBPS = 125  # gp3 baseline

POSTGRES_IMAGE = "postgres:15.10-alpine"
CONTROL_PLANE_URL = "https://api.rudderstack.com"

RESERVED_TAG_KEYS = ("project", "environment", "managed-by")
# AWS reserves tag keys starting with aws: (any case) for its own tags; CreateTags refuses them.
AWS_TAG_PREFIX = "aws:"

# Terraform state: one object per environment under one root, so a bucket can hold every environment and
# each one's place is plain from its name (a key under another environment's place is refused).
STATE_KEY_ROOT = "rudder-ha"
STATE_KEY = STATE_KEY_ROOT + "/{environment}/terraform.tfstate"

# A drain normally finishes within minutes (rudder routes most jobs in seconds); an hour of pending
# work means a destination is down or the router is stuck, which someone should look at.
DRAIN_DEADLINE_SECONDS = 3600
DRAIN_POLL_INTERVAL_SECONDS = 30
DRAIN_QUEUE_VISIBILITY_TIMEOUT_SECONDS = 360  # six times the drain Lambda's 60 s timeout

# Alarm thresholds.
ALB_5XX_PERCENT = 5.0
TARGET_RESPONSE_TIME_SECONDS = 2.0  # p99; event intake answers in milliseconds when healthy
BACKLOG_OLDEST_AGE_SECONDS = 900  # rudder retries failed deliveries for hours; 15 min old means stuck
# The probe samples /health every 10 s (high-resolution metrics, 10 s alarm periods). Three failed
# samples in a row (30 s) page well within a minute, and one lost packet or a 20 s blip does not.
PROBE_FAILURES = 3
DEGRADED_PROBES = 3

# EC2 Image Builder: rebuild weekly so replacements boot patched; the build instance only installs
# packages and pulls images.
IMAGE_PIPELINE_SCHEDULE = "cron(0 3 ? * SUN *)"
IMAGE_BUILD_INSTANCE_TYPE = "m6i.large"
BAKED_AMI_PARAMETER = "/rudder-ha/{environment}/data-plane-ami"

# RDS jobsdb (jobsdb.mode: rds). Sized like the instance-mode database of an m6i.xlarge data plane.
RDS_INSTANCE_CLASS = "db.m6g.large"
RDS_ENGINE_VERSION = "15"
RDS_ALLOCATED_STORAGE_GIB = 100
RDS_MAX_ALLOCATED_STORAGE_GIB = 1000
RDS_BACKUP_RETENTION_DAYS = 14

# Degraded mode (rudder-crash-guard): rudder-server's own defaults before v1.24 removed it
# (recovery.normal.crashThreshold: 5 starts within 300 s); a crash loop trips it within minutes.
CRASH_THRESHOLD = 5
CRASH_WINDOW_SECONDS = 300

# The jobsdb fence (rds mode): a holder renews its lease on the database clock; a replacement may take
# over only after the lease has gone unrenewed this long (or was released at the end of a drain).
FENCE_LEASE_TTL_SECONDS = 30

# EKS topology. Native sidecars (the per-pod jobsdb outliving the backend at shutdown) need >= 1.29.
EKS_KUBERNETES_VERSION = "1.31"
EKS_NODE_INSTANCE_TYPE = "m6i.xlarge"
EKS_NODES_PER_AZ = {"min": 1, "max": 3, "desired": 1}
EKS_NODE_VOLUME_SIZE_GIB = 100
EKS_BACKEND_REPLICA_COUNT = 2
EKS_TERMINATION_GRACE_PERIOD_SECONDS = 3600  # a backend pod may take an hour to drain its jobsdb
EKS_TRANSFORMER_REPLICAS = (2, 6)
EKS_JOBSDB_VOLUME_SIZE_GIB = 50
