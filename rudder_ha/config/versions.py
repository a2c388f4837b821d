"""The rudder-server and rudder-transformer releases rudder-ha supports, and how an image names its release.

The one place that reads a version out of an image reference: the ``rudder_versions`` validation rule and
anything whose behaviour depends on the release (:attr:`rudder_ha.config.model.RudderSettings.server_version`)
ask :func:`server_release` here, never parse an image string themselves.

Rules (also in the README, "Supported versions"):

- ``rudder.backend_image`` must carry a release tag ``MAJOR.MINOR.PATCH`` (the image tag, no leading ``v``) whose
  ``MAJOR.MINOR`` lies in :data:`SUPPORTED_SERVER` (v1.62.x through v1.83.x: the releases the jobsdb tools
  were checked against). Pre-release suffixes (``1.83.0-rc.1``) are refused: they are not releases.
- ``rudder.transformer_image`` must carry a release tag of the same form; rudder-transformer has its own
  release train, checked for form only.
- A digest (``@sha256:...``) must come *with* such a tag (``repo:1.83.0@sha256:...``): the digest pins the
  bytes, the tag says which release they are. A digest alone cannot be checked against the range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUPPORTED_SERVER: tuple[tuple[int, int], tuple[int, int]] = ((1, 62), (1, 83))
"""The oldest and newest rudder-server ``(major, minor)`` supported, both included."""

NEWEST_SERVER_IMAGE = "rudderlabs/rudder-server:1.83.0"
"""rudder-server's newest release (tag v1.83.0, 2026-08), pinned by the shipped environments."""
NEWEST_TRANSFORMER_IMAGE = "rudderstack/rudder-transformer:1.145.0"
"""rudder-transformer's newest release (tag v1.145.0, 2026-08-05; the image tag is package.json's version)."""

_IMAGE = re.compile(
    r"^(?P<repository>[^:@]+(?::[0-9]+/[^:@]+)?)"  # a registry port is part of the repository
    r"(?::(?P<tag>[^@]+))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_RELEASE = re.compile(r"^(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)$")


@dataclass(frozen=True, order=True)
class Release:
    """A release version, ordered numerically."""

    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def line(self) -> tuple[int, int]:
        """``(major, minor)``: the release line the support range is stated in."""
        return (self.major, self.minor)


@dataclass(frozen=True)
class ImageRef:
    """An image reference split into repository, tag and digest (either may be None)."""

    repository: str
    tag: str | None
    digest: str | None


def split_image(image: str) -> ImageRef:
    """Splits ``registry[:port]/repo[:tag][@sha256:...]``; a registry port is not taken for a tag."""
    match = _IMAGE.match(image)
    if match is None:
        return ImageRef(repository=image, tag=None, digest=None)
    return ImageRef(match["repository"], match["tag"], match["digest"])


def release_of(tag: str | None) -> Release | None:
    """The release a tag names (``1.83.0``), or None for anything else."""
    match = _RELEASE.match(tag or "")
    if match is None:
        return None
    return Release(int(match["major"]), int(match["minor"]), int(match["patch"]))


def server_release(image: str) -> Release | None:
    """The rudder-server release an image reference names, or None when its tag is not a release."""
    return release_of(split_image(image).tag)


def _line(line: tuple[int, int]) -> str:
    return f"v{line[0]}.{line[1]}.x"


def supported_range() -> str:
    """The supported rudder-server range in words: ``v1.62.x through v1.83.x``."""
    oldest, newest = SUPPORTED_SERVER
    return f"{_line(oldest)} through {_line(newest)}"


def _form_problem(image: str, example: str) -> str | None:
    ref = split_image(image)
    if release_of(ref.tag) is not None:
        return None
    release = split_image(example).tag
    if ref.tag is None and ref.digest is not None:
        return (
            "pins a digest without its release tag; write the release the digest is, "
            f"e.g. {ref.repository}:{release}@{ref.digest}"
        )
    return f"has tag {ref.tag!r}, not a release MAJOR.MINOR.PATCH; pin a release tag, e.g. {example}"


def server_image_problem(image: str) -> str | None:
    """Why a rudder-server image is not a supported release (message with its fix), or None."""
    problem = _form_problem(image, NEWEST_SERVER_IMAGE)
    if problem:
        return problem
    release = server_release(image)
    assert release is not None
    oldest, newest = SUPPORTED_SERVER
    if not oldest <= release.line <= newest:
        return (
            f"is rudder-server {release}, outside the supported range {supported_range()}; "
            f"use a release in that range, e.g. {NEWEST_SERVER_IMAGE}"
        )
    return None


def transformer_image_problem(image: str) -> str | None:
    """Why a rudder-transformer image does not name a release (message with its fix), or None."""
    return _form_problem(image, NEWEST_TRANSFORMER_IMAGE)
