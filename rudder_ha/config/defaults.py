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

# Failover (README "Failover"). replace keeps the product contract of a group of exactly one: it is the only
# mode instance mode can have (the standby could not reach a jobsdb on another instance's disk). With
# replace, a replacement boots while the old lease runs out, so 30 s costs nothing (the rto timeline's fence
# step is 0); renewing every 5 s leaves a holder 20 s of database trouble before it stops itself.
FAILOVER_MODE = "replace"
# hot_standby: the lease is the whole detection of a silent holder (frozen, powered off, cut off), so it is
# short: 10 s renews every 1.7 s and stops a holder after 6.7 s without a renewal (each database call gives
# up after 3.3 s, a third of it). RDS answers a renewal in milliseconds; an RDS failover (60-120 s) stops the
# holder whatever the TTL. Shorter than 6 s would renew more than once a second. The rto timeline of prod
# (43 s) has 2 s to spare against the 45 s goal, so a longer lease needs another term to shrink.
HOT_STANDBY_LEASE_TTL_SECONDS = 10
# hot_standby: the holder's agent checks its backend's /health after every renewal (every 1.7 s at 10 s);
# three failures in a row (about 6.7 s with the check's own timeout, like the ALB's 2 x 5 s + 4 s) hand the
# lease over and report the instance unhealthy to its group. The backend must first answer 200 once, within
# the group's health check grace period.
HOT_STANDBY_HEALTH_FAILURES = 3
# hot_standby: the standby's acquire waits a year rather than 10 min: between two waits its unit would
# restart (RestartSec 5 s), and a holder failing then would be taken over 5 s later than the rto model says.
HOT_STANDBY_MAX_WAIT_SECONDS = 365 * 24 * 3600

# EKS topology: the newest version in standard support with dates in the EKS user guide (until 2027-03-27)
# and known to the pinned checkov; 1.36 is accepted too
# (rudder_ha.topologies.eks.k8s.settings.SUPPORTED_KUBERNETES_VERSIONS).
EKS_KUBERNETES_VERSION = "1.35"
EKS_NODE_INSTANCE_TYPE = "m6i.xlarge"
EKS_NODES_PER_AZ = {"min": 1, "max": 3, "desired": 1}
EKS_NODE_VOLUME_SIZE_GIB = 100
EKS_BACKEND_REPLICA_COUNT = 2
EKS_TERMINATION_GRACE_PERIOD_SECONDS = 3600  # a backend pod may take an hour to drain its jobsdb
EKS_TRANSFORMER_REPLICAS = (2, 6)
EKS_JOBSDB_VOLUME_SIZE_GIB = 50

# EKS container requests and limits (eks.resources.<container>), sized for m6i.xlarge nodes (4 vCPU, 16 GiB).
# Requests are what the scheduler reserves, so they are a container's steady use; limits sit well above them,
# so normal bursts are not throttled and only a container that keeps the node busy is held back. Each memory
# limit is twice its request: a runaway process is killed before it starves its neighbours.
# - backend: rudder-server (gateway, processor, router in one process) idles near a core and 1-2 GiB; its CPU
#   limit is a whole node's 4 vCPU so a processing burst is never throttled, and GOMAXPROCS follows it.
# - transformer and postgres: half a core steady, up to two for a transformation burst or a vacuum.
# - drain: the drain agent and the backlog-metrics sidecar (each its own container with these values): a short
#   psql query per poll, plus the AWS CLI once a minute for the metrics; memory is the CLI's peak.
EKS_RESOURCES = {
    "backend": {"cpu_request": "1", "memory_request": "2Gi", "cpu_limit": "4", "memory_limit": "4Gi"},
    "transformer": {"cpu_request": "500m", "memory_request": "1Gi", "cpu_limit": "2", "memory_limit": "2Gi"},
    "postgres": {"cpu_request": "500m", "memory_request": "1Gi", "cpu_limit": "2", "memory_limit": "2Gi"},
    "drain": {"cpu_request": "20m", "memory_request": "32Mi", "cpu_limit": "250m", "memory_limit": "128Mi"},
}

# Event archive (rudder-server's archiver -> S3; README "Replay after a jobsdb loss"). On in prod: a lost
# jobsdb (an instance-mode disk, or an RDS restore to an earlier point) otherwise loses every accepted event
# not yet delivered, and only the archive can re-send them. Off elsewhere: dev and staging data is
# re-creatable and the bucket costs money. Gateway jobs are rarely read after a day or two, so objects move
# to Standard-IA after 30 days (the least S3 allows for that class) and expire after a year, long enough
# to notice a loss and replay, short enough not to keep raw event payloads (personal data) for ever.
EVENT_ARCHIVE_ENABLED_IN = ("prod",)
EVENT_ARCHIVE_TRANSITION_DAYS = 30
EVENT_ARCHIVE_TRANSITION_STORAGE_CLASS = "STANDARD_IA"
EVENT_ARCHIVE_EXPIRATION_DAYS = 365

# The az-loss drill's FIS experiment templates in the stack (README "Measuring it: `drill`"). Off by
# default: a template is a standing way to cut a zone off the data plane, so an environment opts in.
DRILL_AZ_LOSS_EXPERIMENT = False
