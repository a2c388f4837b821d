"""Where things are in the repository, for the tests and their support modules."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The repository root."""
