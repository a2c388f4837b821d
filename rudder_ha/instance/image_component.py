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
bake-time settings, runs ``provision.sh bake`` and validates the result.

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

_ASSIGNMENT = re.compile(r"^(DEST|MODE|SHA256|PAYLOAD)='([^']*)'$")
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


class _Dumper(yaml.SafeDumper):
    """Block literals for multi-line strings, so the scripts read as scripts in the console."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1_000_000)


def _step_name(prefix: str, destination: str) -> str:
    """An alphanumeric step name such as ``InstallRudderDrainCheck``."""
    words = re.split(r"[^A-Za-z0-9]+", PurePosixPath(destination).name)
    return prefix + "".join(w[:1].upper() + w[1:] for w in words if w)


def _octal(mode: str) -> str:
    """``0755`` -> ``755``, as ``stat -c %a`` prints it."""
    return format(int(mode, 8), "o")


def install_script(destination: str, mode: str, content: bytes) -> str:
    """A bash script that writes ``content`` to ``destination`` (root:root, ``mode``), verified by SHA-256."""
    if not _SAFE_PATH.match(destination) or not _MODE.match(mode):
        raise ValueError(f"unsupported destination or mode: {destination!r} {mode!r}")
    payload = base64.b64encode(gzip.compress(content, compresslevel=9, mtime=0)).decode("ascii")
    return "\n".join(
        [
            "set -euo pipefail",
            f"DEST='{destination}'",
            f"MODE='{mode}'",
            f"SHA256='{hashlib.sha256(content).hexdigest()}'",
            f"PAYLOAD='{payload}'",
            f'target="${{{IMAGE_ROOT_VARIABLE}:-}}${{DEST}}"',
            'install -d -m 0755 "$(dirname "${target}")"',
            'tmp="$(mktemp "${target}.XXXXXX")"',
            'base64 -d <<<"${PAYLOAD}" | gunzip -c >"${tmp}"',
            'echo "${SHA256}  ${tmp}" | sha256sum --check --quiet --strict -',
            'chmod "${MODE}" "${tmp}"',
            'chown root:root "${tmp}"',
            'mv -f "${tmp}" "${target}"',
            "",
        ]
    )


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


def _files_document(name: str, files: list[InstanceFile]) -> str:
    contents = [(f.destination, f.mode, f.read().encode("utf-8")) for f in files]
    return _document(
        name,
        "rudder-ha: install " + ", ".join(PurePosixPath(f.destination).name for f in files),
        [
            ("build", [_bash(_step_name("Install", d), install_script(d, m, c)) for d, m, c in contents]),
            ("validate", [_bash("VerifyFiles", _verify_script(contents))]),
        ],
    )


def _pack(name_prefix: str, files: list[InstanceFile]) -> list[ComponentDocument]:
    """Spreads the files over as few documents as the inline-data limit allows, in manifest order."""
    documents: list[ComponentDocument] = []
    batch: list[InstanceFile] = []

    def render(batch: list[InstanceFile]) -> ComponentDocument:
        key = f"files-{len(documents) + 1}"
        data = _files_document(f"{name_prefix}-{key}", batch)
        return ComponentDocument(key, f"{name_prefix}: data-plane files ({len(batch)})", data)

    for f in files:
        if batch and len(render([*batch, f]).data.encode("utf-8")) > COMPONENT_DATA_LIMIT:
            documents.append(render(batch))
            batch = []
        batch.append(f)
        if len(render(batch).data.encode("utf-8")) > COMPONENT_DATA_LIMIT:
            raise ValueError(f"{f.source} alone does not fit in one {COMPONENT_DATA_LIMIT}-character component")
    if batch:
        documents.append(render(batch))
    return documents


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

    Raises if a step's declared SHA-256 does not match its payload, or if two steps write one path.
    """
    written: dict[str, tuple[str, bytes]] = {}
    for document in documents:
        for phase in yaml.safe_load(document.data)["phases"]:
            if phase["name"] != "build":
                continue
            for step in phase["steps"]:
                if step["action"] != "ExecuteBash":
                    continue
                for script in step["inputs"]["commands"]:
                    values = dict(m.groups() for line in script.splitlines() if (m := _ASSIGNMENT.match(line)))
                    if not values:
                        continue
                    try:
                        content = gzip.decompress(base64.b64decode(values["PAYLOAD"], validate=True))
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
