"""Renders the EC2 Image Builder components that bake ``ami/`` into an AMI.

The image path installs exactly what the boot path (``rudder_ha.instance.user_data``) installs: every file of
``rudder_ha.instance.files.instance_files()`` at its destination with its mode, then the same
``provision.sh``, in ``bake`` mode (packages and units installed, container images pulled, nothing started).

How content travels: each file is gzipped, base64-encoded and embedded in its own ``ExecuteBash``
step, which decodes it into a temporary file, checks its SHA-256, sets mode and owner and moves it
into place. Base64 holds neither quotes, ``$`` nor ``{{`` (Image Builder's variable syntax), so
neither the shell nor Image Builder can alter it, and no file's text ever appears in the document.
Image Builder's ``CreateFile`` action would embed the raw text instead, where ``{{ ... }}`` would be
substituted and which would not fit: ``CreateComponent`` takes at most 16,000 characters of inline
``data``. That limit is also why the files are spread over as many ``files-N`` components as needed
(a recipe runs its components in order), followed by one ``bake`` component that writes the
bake-time settings, runs ``provision.sh bake`` and validates the result. A file whose payload alone
would not fit is cut into parts, one step each (possibly in consecutive components): every part appends
its slice of the base64 text to a staging file named after the content's SHA-256, and the last part
checks the staged length, decodes, verifies and installs exactly as a one-step file does.

Pure Python: no cdktf here, so the tests can render and inspect the documents directly.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import shlex
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

import yaml

from rudder_ha.config.model import EnvironmentConfig, RudderSettings
from rudder_ha.instance.env_file import render_env_file
from rudder_ha.instance.files import INSTALL_DIR, PROVISION_SCRIPT, InstanceFile, instance_files
from rudder_ha.instance.user_data import instance_settings

COMPONENT_DATA_LIMIT = 16_000
"""``CreateComponent``'s maximum length of inline ``data`` (Image Builder API reference)."""
SCHEMA_VERSION = 1.0
BAKE_SETTINGS_PATH = "/etc/rudder-ha/instance.env"
"""Written at bake time for ``provision.sh bake``; the user data writes it again at every boot."""
IMAGE_ROOT_VARIABLE = "RUDDER_HA_IMAGE_ROOT"
"""Unset on the build instance; the tests point it at a scratch directory to run the install steps."""
UNIT_DIR = "/etc/systemd/system"
COMMAND_BIN_DIR = "/usr/local/bin"
"""Where ``provision.sh`` installs the on-node scripts of ``<INSTALL_DIR>/bin``."""
POSTGRES_UNIT = "rudder-postgres.service"
"""Enabled only when the jobsdb lives on the instance (``RUDDER_JOBSDB_MODE=instance``)."""

_ASSIGNMENT = re.compile(r"^(DEST|MODE|SHA256|PAYLOAD|PART|STAGED_LENGTH)='([^']*)'$")
PAYLOAD_PART_LIMIT = 12_000
"""Base64 characters per step: with the step's shell and the document's YAML it stays under the limit."""
STAGING_DIR = "/var/lib/rudder-ha-image-staging"
"""Where the parts of a large file are put together: root-owned, mode 0700 (under the image root in the tests)."""
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")
_MODE = re.compile(r"^0[0-7]{3}$")


@dataclass(frozen=True)
class ComponentDocument:
    """One Image Builder component: its name suffix, description and YAML document."""

    key: str
    """``files-1``, ``files-2``, ... or ``bake``; the component is named ``<name_prefix>-<key>``."""
    description: str
    data: str

    @property
    def version(self) -> str:
        """A semantic version derived from the document, so any change makes a new component version."""
        return semantic_version(self.data)


def semantic_version(*parts: str) -> str:
    """``1.0.N`` with N taken from the SHA-256 of ``parts`` (Image Builder allows up to 2^30 - 1 per node)."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
    return f"1.0.{int(digest[:7], 16)}"


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _dumper(base: type) -> type:
    """A safe dumper over ``base`` that writes multi-line strings as block literals, so the scripts read as
    scripts in the console."""
    dumper = type(f"Block{base.__name__}", (base,), {})
    dumper.add_representer(str, _represent_str)
    return dumper


PURE_DUMPER = _dumper(yaml.SafeDumper)
DUMPER = _dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))
"""libyaml's emitter when PyYAML has it (its wheels do): byte for byte the documents of the pure-Python one
(the tests compare them), about nine times faster, and packing the files dumps dozens of documents."""


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it: reading the documents back is as slow as writing them."""


def _dump(document: dict) -> str:
    return yaml.dump(document, Dumper=DUMPER, sort_keys=False, width=1_000_000)


def _step_name(prefix: str, destination: str) -> str:
    """An alphanumeric step name such as ``InstallRudderDrainCheck``."""
    words = re.split(r"[^A-Za-z0-9]+", PurePosixPath(destination).name)
    return prefix + "".join(w[:1].upper() + w[1:] for w in words if w)


def _octal(mode: str) -> str:
    """``0755`` -> ``755``, as ``stat -c %a`` prints it."""
    return format(int(mode, 8), "o")


def _payload(content: bytes) -> str:
    return base64.b64encode(gzip.compress(content, compresslevel=9, mtime=0)).decode("ascii")


def _check_destination(destination: str, mode: str) -> None:
    if not _SAFE_PATH.match(destination) or not _MODE.match(mode):
        raise ValueError(f"unsupported destination or mode: {destination!r} {mode!r}")


_INSTALL_DECODED = [
    'chmod "${MODE}" "${tmp}"',
    'chown root:root "${tmp}"',
    'mv -f "${tmp}" "${target}"',
]


def install_script(destination: str, mode: str, content: bytes) -> str:
    """A bash script that writes ``content`` to ``destination`` (root:root, ``mode``), verified by SHA-256."""
    _check_destination(destination, mode)
    return "\n".join(
        [
            "set -euo pipefail",
            f"DEST='{destination}'",
            f"MODE='{mode}'",
            f"SHA256='{hashlib.sha256(content).hexdigest()}'",
            f"PAYLOAD='{_payload(content)}'",
            f'target="${{{IMAGE_ROOT_VARIABLE}:-}}${{DEST}}"',
            'install -d -m 0755 "$(dirname "${target}")"',
            'tmp="$(mktemp "${target}.XXXXXX")"',
            'base64 -d <<<"${PAYLOAD}" | gunzip -c >"${tmp}"',
            'echo "${SHA256}  ${tmp}" | sha256sum --check --quiet --strict -',
            *_INSTALL_DECODED,
            "",
        ]
    )


@dataclass(frozen=True)
class _Part:
    """One part of a file too large for one step: its script and where its slice ends."""

    index: int
    count: int
    script: str
    staged_length: int
    """Characters of base64 staged once this part has run."""


def _staging_path(content: bytes) -> str:
    return f"{STAGING_DIR}/{hashlib.sha256(content).hexdigest()}.b64"


def install_parts(destination: str, mode: str, content: bytes, limit: int = PAYLOAD_PART_LIMIT) -> list[_Part]:
    """The steps that write a large ``content`` to ``destination`` in parts of at most ``limit`` base64
    characters. Part 1 starts an empty staging file, each part appends its slice, and the last one checks the
    staged length, decodes, verifies the SHA-256, installs and removes the staging file."""
    _check_destination(destination, mode)
    payload = _payload(content)
    slices = [payload[at : at + limit] for at in range(0, len(payload), limit)]
    parts: list[_Part] = []
    for number, piece in enumerate(slices, start=1):
        end = sum(len(x) for x in slices[:number])
        lines = [
            "set -euo pipefail",
            f"DEST='{destination}'",
            *([f"MODE='{mode}'"] if number == len(slices) else []),
            f"SHA256='{hashlib.sha256(content).hexdigest()}'",
            f"PART='{number}/{len(slices)}'",
            f"STAGED_LENGTH='{end}'",
            f"PAYLOAD='{piece}'",
            f'staged="${{{IMAGE_ROOT_VARIABLE}:-}}{STAGING_DIR}/${{SHA256}}.b64"',
        ]
        if number == 1:
            lines += ['install -d -m 0700 "$(dirname "${staged}")"', ': >"${staged}"']
        else:
            lines.append('[[ -f "${staged}" ]] || { echo "${DEST}: parts before ${PART} are missing" >&2; exit 1; }')
        lines += [
            'printf %s "${PAYLOAD}" >>"${staged}"',
            '[[ "$(stat -c %s "${staged}")" == "${STAGED_LENGTH}" ]] || '
            '{ echo "${DEST}: part ${PART} staged out of order" >&2; exit 1; }',
        ]
        if number == len(slices):
            lines += [
                f'target="${{{IMAGE_ROOT_VARIABLE}:-}}${{DEST}}"',
                'install -d -m 0755 "$(dirname "${target}")"',
                'tmp="$(mktemp "${target}.XXXXXX")"',
                'base64 -d "${staged}" | gunzip -c >"${tmp}"',
                'echo "${SHA256}  ${tmp}" | sha256sum --check --quiet --strict -',
                *_INSTALL_DECODED,
                'rm -f "${staged}"',
            ]
        parts.append(_Part(number, len(slices), "\n".join([*lines, ""]), end))
    return parts


def _verify_script(files: Iterable[tuple[str, str, bytes]]) -> str:
    """A bash script that fails unless every file has its content (SHA-256) and mode."""
    lines = ["set -euo pipefail"]
    for destination, mode, content in files:
        path = shlex.quote(destination)
        lines += [
            f"echo '{hashlib.sha256(content).hexdigest()}  '{path} | sha256sum --check --quiet --strict -",
            f'[[ "$(stat -c %a {path})" == "{_octal(mode)}" ]] || {{ echo "wrong mode on "{path} >&2; exit 1; }}',
        ]
    return "\n".join(lines) + "\n"


def _bash(name: str, script: str) -> dict:
    return {"name": name, "action": "ExecuteBash", "inputs": {"commands": [script]}}


def _document(name: str, description: str, phases: list[tuple[str, list[dict]]]) -> str:
    return _dump(
        {
            "name": name,
            "description": description,
            "schemaVersion": SCHEMA_VERSION,
            "phases": [{"name": phase, "steps": steps} for phase, steps in phases],
        }
    )


@dataclass(frozen=True)
class _BuildStep:
    """One build step of a files component, and the file it completes (if it is a file's last step)."""

    name: str
    script: str
    completes: tuple[str, str, bytes] | None
    staged: tuple[str, bytes, int] | None = None
    """(destination, content, staged length) for a part that is not the file's last."""

    @property
    def destination(self) -> str:
        """The file this step writes (or stages a part of)."""
        written = self.completes or self.staged
        assert written is not None
        return written[0]


def _build_steps(files: list[InstanceFile]) -> list[_BuildStep]:
    out: list[_BuildStep] = []
    for f in files:
        content = f.read().encode("utf-8")
        name = _step_name("Install", f.destination)
        if len(_payload(content)) <= PAYLOAD_PART_LIMIT:
            out.append(
                _BuildStep(name, install_script(f.destination, f.mode, content), (f.destination, f.mode, content))
            )
            continue
        for part in install_parts(f.destination, f.mode, content):
            last = part.index == part.count
            out.append(
                _BuildStep(
                    f"{name}Part{part.index}",
                    part.script,
                    (f.destination, f.mode, content) if last else None,
                    None if last else (f.destination, content, part.staged_length),
                )
            )
    return out


def _staged_check(destination: str, content: bytes, length: int) -> str:
    """Holds whether the recipe validates right after this component's build or after all builds: the staged
    parts are there (at least ``length`` characters), or the file is already installed whole."""
    staged = shlex.quote(_staging_path(content))
    path = shlex.quote(destination)
    return (
        f"if [[ -f {staged} ]]; then (( $(stat -c %s {staged}) >= {length} )) || "
        f'{{ echo "staged parts missing for "{path} >&2; exit 1; }}; '
        f"else echo '{hashlib.sha256(content).hexdigest()}  '{path} | sha256sum --check --quiet --strict -; fi"
    )


def _files_document(name: str, build: list[_BuildStep]) -> str:
    completed = [s.completes for s in build if s.completes]
    checks = [_verify_script(completed)] if completed else []
    checks += [_staged_check(*s.staged) + "\n" for s in build if s.staged is not None]
    installs = dict.fromkeys(PurePosixPath(s.destination).name for s in build)
    return _document(
        name,
        "rudder-ha: install " + ", ".join(installs),
        [
            ("build", [_bash(s.name, s.script) for s in build]),
            (
                "validate",
                [
                    _bash(
                        "VerifyFiles",
                        "set -euo pipefail\n" + "".join(c.removeprefix("set -euo pipefail\n") for c in checks),
                    )
                ],
            ),
        ],
    )


def _pack(name_prefix: str, files: list[InstanceFile]) -> list[ComponentDocument]:
    """Spreads the files' build steps over as few documents as the inline-data limit allows, in manifest order."""
    documents: list[ComponentDocument] = []
    batch: list[_BuildStep] = []

    def render(batch: list[_BuildStep]) -> ComponentDocument:
        key = f"files-{len(documents) + 1}"
        data = _files_document(f"{name_prefix}-{key}", batch)
        count = len({s.destination for s in batch})
        return ComponentDocument(key, f"{name_prefix}: data-plane files ({count})", data)

    def fits(document: ComponentDocument) -> bool:
        return len(document.data.encode("utf-8")) <= COMPONENT_DATA_LIMIT

    current: ComponentDocument | None = None  # ``batch`` rendered
    for step in _build_steps(files):
        candidate = render([*batch, step])
        if not fits(candidate) and current is not None:
            documents.append(current)
            batch, candidate = [], render([step])
        if not fits(candidate):
            raise ValueError(f"step {step.name} alone does not fit in one {COMPONENT_DATA_LIMIT}-character component")
        batch.append(step)
        current = candidate
    if current is not None:
        documents.append(current)
    return documents


AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
"""What ``ami/provision.sh`` runs to start the CloudWatch agent; the baked image must have it."""


def _check_script(rudder: RudderSettings, bake_settings: Mapping[str, str], files: list[InstanceFile]) -> str:
    """Fails unless docker holds the images and is enabled, the units are installed and the on-node scripts
    are executable."""
    images = [i for i in (rudder.backend_image, rudder.transformer_image, rudder.postgres_image) if i]
    instance_jobsdb = bake_settings.get("RUDDER_JOBSDB_MODE") == "instance"
    units = ["docker.service"]
    for f in files:
        name = PurePosixPath(f.destination).name
        installable = f.destination.startswith(f"{INSTALL_DIR}/systemd/") and "\n[Install]" in f"\n{f.read()}"
        if installable and (name != POSTGRES_UNIT or instance_jobsdb):
            units.append(name)
    executables = [f.destination for f in files if f.mode == "0755"]
    executables += [
        f"{COMMAND_BIN_DIR}/{PurePosixPath(f.destination).name}"
        for f in files
        if f.destination.startswith(f"{INSTALL_DIR}/bin/")
    ]
    lines = [
        "set -euo pipefail",
        "# On a freshly launched test instance docker may still be starting.",
        "for _ in {1..30}; do docker info >/dev/null 2>&1 && break; sleep 2; done",
    ]
    lines += [
        f'docker image inspect {shlex.quote(i)} >/dev/null || {{ echo "image missing: "{shlex.quote(i)} >&2; exit 1; }}'
        for i in images
    ]
    lines += [
        f'systemctl is-enabled --quiet {shlex.quote(u)} || {{ echo "unit not enabled: "{shlex.quote(u)} >&2; exit 1; }}'
        for u in units[:1]
    ]
    # rudder-imds-guard loads its rule with nft before any container starts.
    lines.append('command -v nft >/dev/null || { echo "nft missing (nftables, for rudder-imds-guard)" >&2; exit 1; }')
    # The CloudWatch agent receives rudder-server's statsd (README "rudder-server's own metrics").
    lines.append(f'[[ -x {AGENT_CTL} ]] || {{ echo "CloudWatch agent missing ({AGENT_CTL})" >&2; exit 1; }}')
    # The data-plane units are installed on the image but enabled only at boot (provision.sh boot).
    lines += [
        f'[[ -f /etc/systemd/system/{u} ]] || {{ echo "unit not installed: "{shlex.quote(u)} >&2; exit 1; }}'
        for u in units[1:]
    ]
    lines += [
        f'[[ -x {shlex.quote(p)} ]] || {{ echo "not executable: "{shlex.quote(p)} >&2; exit 1; }}' for p in executables
    ]
    return "\n".join(lines) + "\n"


def _bake_document(name: str, rudder: RudderSettings, bake_settings: Mapping[str, str]) -> str:
    settings = render_env_file(bake_settings).encode("utf-8")
    check = _check_script(rudder, bake_settings, instance_files())
    return _document(
        name,
        "rudder-ha: bake-time settings, provision.sh bake (packages, units, container images), checks",
        [
            (
                "build",
                [
                    _bash("WriteBakeSettings", install_script(BAKE_SETTINGS_PATH, "0644", settings)),
                    _bash("Provision", f"{PROVISION_SCRIPT} bake"),
                ],
            ),
            ("validate", [_bash("CheckBakedImage", check)]),
            # Image tests run this again on a fresh instance launched from the new AMI.
            ("test", [_bash("CheckLaunchedImage", check)]),
        ],
    )


def component_documents(
    name_prefix: str, rudder: RudderSettings, bake_settings: Mapping[str, str]
) -> list[ComponentDocument]:
    """Every component of the recipe, in the order the recipe runs them: ``files-N``..., then ``bake``.

    ``bake_settings`` becomes ``/etc/rudder-ha/instance.env`` at bake time; it must name the images of
    ``rudder`` (which the bake pre-pulls and the checks look for).
    """
    for key, image in (
        ("RUDDER_BACKEND_IMAGE", rudder.backend_image),
        ("RUDDER_TRANSFORMER_IMAGE", rudder.transformer_image),
        ("RUDDER_POSTGRES_IMAGE", rudder.postgres_image),
    ):
        if bake_settings.get(key) != image:
            raise ValueError(f"bake settings {key}={bake_settings.get(key)!r} differ from the rudder settings")
    documents = _pack(name_prefix, instance_files())
    bake = _bake_document(f"{name_prefix}-bake", rudder, bake_settings)
    if len(bake.encode("utf-8")) > COMPONENT_DATA_LIMIT:
        raise ValueError(f"the bake component exceeds {COMPONENT_DATA_LIMIT} characters")
    documents.append(ComponentDocument("bake", f"{name_prefix}: provision.sh bake and image checks", bake))
    return documents


def bake_settings(config: EnvironmentConfig) -> dict[str, str]:
    """The bake-time ``instance.env``: the user data's own, so that units the image starts at boot,
    before the user data rewrites the file, already see this environment's settings."""
    return instance_settings(config)


def environment_component_documents(config: EnvironmentConfig) -> list[ComponentDocument]:
    """The components of one environment, as its stack creates them."""
    return component_documents(config.name_prefix, config.rudder, bake_settings(config))


def written_files(documents: Iterable[ComponentDocument]) -> dict[str, tuple[str, bytes]]:
    """What the build phases write, read back from the YAML: destination -> (mode, decoded content).

    Raises if a step's declared SHA-256 does not match its payload, if two steps write one path, or if a large
    file's parts come out of order; a file whose last part is not among ``documents`` is not written.
    """
    written: dict[str, tuple[str, bytes]] = {}
    staged: dict[str, list[str]] = {}
    for document in documents:
        for phase in yaml.load(document.data, Loader=_LOADER)["phases"]:  # noqa: S506 - a safe loader
            if phase["name"] != "build":
                continue
            for step in phase["steps"]:
                if step["action"] != "ExecuteBash":
                    continue
                for script in step["inputs"]["commands"]:
                    values = dict(m.groups() for line in script.splitlines() if (m := _ASSIGNMENT.match(line)))
                    if not values:
                        continue
                    payload = values["PAYLOAD"]
                    if "PART" in values:
                        number, count = (int(x) for x in values["PART"].split("/"))
                        so_far = staged.get(values["DEST"], [])
                        if not so_far and number > 1:
                            continue  # its first parts are in documents not given: not written here
                        if len(so_far) != number - 1:
                            raise ValueError(f"{step['name']}: part {number} of {values['DEST']} out of order")
                        staged[values["DEST"]] = [*so_far, payload]
                        if number < count:
                            continue
                        payload = "".join(staged.pop(values["DEST"]))
                    try:
                        content = gzip.decompress(base64.b64decode(payload, validate=True))
                    except (ValueError, OSError, EOFError, zlib.error) as exc:  # binascii.Error, BadGzipFile, ...
                        raise ValueError(
                            f"{step['name']}: payload does not decode ({exc}); SHA-256 unverifiable"
                        ) from exc
                    if hashlib.sha256(content).hexdigest() != values["SHA256"]:
                        raise ValueError(f"{step['name']}: payload does not match its SHA-256")
                    if values["DEST"] in written:
                        raise ValueError(f"{values['DEST']} is written twice")
                    written[values["DEST"]] = (values["MODE"], content)
    return written


def installed_files(documents: Iterable[ComponentDocument]) -> set[tuple[str, str, str]]:
    """(destination, mode, sha256 of content) of every file the components write."""
    return {
        (dest, mode, hashlib.sha256(content).hexdigest()) for dest, (mode, content) in written_files(documents).items()
    }
