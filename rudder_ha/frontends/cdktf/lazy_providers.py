"""Loads the prebuilt cdktf provider bindings one resource module at a time.

Each prebuilt provider package (``cdktf_cdktf_provider_aws`` and the others in :data:`PROVIDER_PACKAGES`)
ends its ``__init__.py`` with one ``from . import <module>`` line per resource and data source: about
1,500 modules for AWS, each defining its classes in Python and asking ``importlib.metadata`` for
typeguard's version. A stack uses a few dozen of them, yet the eager lines make every process pay for
all of them (most of the 15 s a synthesis used to take).

:func:`install` puts a finder in front of ``sys.meta_path`` that loads such a package's ``__init__.py``
without those trailing lines, and gives the package a module ``__getattr__`` (PEP 562) that imports a
resource module the first time it is named. Everything else the package does on import runs unchanged:
its jsii assembly is loaded into the jsii kernel, and ``publication`` publishes its ``__all__``.

Types the jsii kernel hands back from a module Python has not imported yet are found the way the jsii
runtime documents for lazily loaded submodules: the finder registers, per package, the map from each
jsii submodule name (``@cdktf/provider-aws.dataAwsIamPolicyDocument``) to its Python module
(``cdktf_cdktf_provider_aws.data_aws_iam_policy_document``), which the runtime imports on demand.

When a package's ``__init__.py`` does not have the expected shape (a different generator), or the jsii
runtime cannot import types on demand, the packages load as they are.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import re
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

PROVIDER_PACKAGES: dict[str, str] = {
    "cdktf_cdktf_provider_aws": "@cdktf/provider-aws",
    "cdktf_cdktf_provider_kubernetes": "@cdktf/provider-kubernetes",
    "cdktf_cdktf_provider_helm": "@cdktf/provider-helm",
}
"""Python package -> jsii assembly name, of the prebuilt providers loaded lazily."""

_PUBLISH_LINE = "publication.publish()\n"
_EAGER_IMPORT = re.compile(r"from \. import (\w+)")


def jsii_submodule_name(module: str) -> str:
    """The jsii submodule name of a generated Python module: ``data_aws_iam_policy_document`` ->
    ``dataAwsIamPolicyDocument`` (jsii-pacmak writes the Python name as the snake case of it)."""
    first, *rest = module.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def split_eager_imports(source: str) -> tuple[str, list[str]] | None:
    """The package source up to ``publication.publish()``, and the submodules the eager imports after
    it name; None unless everything after it is such imports, comments and blank lines."""
    head, found, tail = source.rpartition(_PUBLISH_LINE)
    if not found:
        return None
    names = []
    for line in tail.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _EAGER_IMPORT.fullmatch(line)
        if match is None:
            return None
        names.append(match.group(1))
    return (head + found, names) if names else None


class _LazyProviderLoader(importlib.machinery.SourceFileLoader):
    """Executes a provider package's ``__init__.py`` without its eager submodule imports."""

    def __init__(self, fullname: str, path: str, body: str, submodules: Sequence[str]) -> None:
        super().__init__(fullname, path)
        self._body = body
        self._submodules = frozenset(submodules)

    def get_code(self, fullname: str) -> Any:
        """Compiles the trimmed source (never read from or written to the bytecode cache: the cache
        belongs to the unmodified file)."""
        return compile(self._body, self.path, "exec", dont_inherit=True)

    def exec_module(self, module: ModuleType) -> None:
        """Runs the package, then lets its published module import a submodule on first access."""
        super().exec_module(module)
        published = sys.modules[module.__name__]
        name, submodules = module.__name__, self._submodules

        def load_submodule(attribute: str) -> ModuleType:
            if attribute not in submodules:
                raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
            return importlib.import_module(f"{name}.{attribute}")

        published.__getattr__ = load_submodule  # type: ignore[method-assign]
        _register_submodules(name, submodules)


def _register_submodules(package: str, submodules: Sequence[str]) -> None:
    """Tells the jsii runtime which Python module holds each jsii submodule of ``package``."""
    from jsii import _reference_map

    assembly = PROVIDER_PACKAGES[package]
    for submodule in submodules:
        _reference_map._submodule_fqn_map[f"{assembly}.{jsii_submodule_name(submodule)}"] = f"{package}.{submodule}"


class _LazyProviderFinder(importlib.abc.MetaPathFinder):
    """Finds the provider packages of :data:`PROVIDER_PACKAGES` and hands them to the lazy loader."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        """A spec with :class:`_LazyProviderLoader` for a provider package; None for anything else."""
        if fullname not in PROVIDER_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith("__init__.py"):
            return spec
        with open(spec.origin, encoding="utf-8") as handle:
            split = split_eager_imports(handle.read())
        if split is None:
            return spec
        body, submodules = split
        loader = _LazyProviderLoader(fullname, spec.origin, body, submodules)
        lazy = importlib.machinery.ModuleSpec(fullname, loader, origin=spec.origin, is_package=True)
        lazy.submodule_search_locations = spec.submodule_search_locations
        lazy.has_location = True
        return lazy


_FINDER = _LazyProviderFinder()


def jsii_resolves_lazy_submodules() -> bool:
    """Whether the installed jsii runtime imports the module of a type it has not seen, from the map
    :func:`_register_submodules` fills (jsii 1.x releases from 2025 on); without it, loading lazily is
    not safe."""
    from jsii import _reference_map

    return isinstance(getattr(_reference_map, "_submodule_fqn_map", None), dict) and callable(
        getattr(_reference_map, "_try_import_type_module", None)
    )


def install() -> None:
    """Loads provider packages imported from now on lazily (idempotent; a package already imported
    stays as it is; nothing changes with a jsii runtime that cannot resolve lazily loaded types)."""
    if _FINDER not in sys.meta_path and jsii_resolves_lazy_submodules():
        sys.meta_path.insert(0, _FINDER)
