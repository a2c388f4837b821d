"""A minimal Kubernetes API client (stdlib ``urllib`` + ``ssl``) for draining one node.

Only what the EKS drain needs: get/list/patch nodes, list pods (with a field selector), and
create an ``Eviction`` (``policy/v1``) for a pod. Responses are plain JSON dicts, exactly as the
API server sends them.

Transport rules:

* TLS is verified against the cluster CA only (the certificate authority data EKS publishes for
  the cluster), hostname checked; no system trust store, no proxy, no redirects (a redirect
  would carry the bearer token elsewhere; the API server never redirects these calls).
* Every request is bounded by ``timeout_seconds`` (connect and each read).
* ``Authorization: Bearer <token>`` from a token source; on 401 the token is dropped and the
  request is sent once more with a fresh one.
* Errors are typed: :class:`K8sTransportError` (no answer: connection refused/reset, timeout,
  TLS failure), :class:`K8sApiError` (an HTTP error status with the API server's ``Status``
  reason and message). ``transient`` tells whether retrying later may help (5xx, 429, 409,
  transport); callers never treat an error as success.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .auth import TokenError

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_PAGE_SIZE = 250
MAX_PAGES = 40
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
MERGE_PATCH = "application/merge-patch+json"


# -- errors ------------------------------------------------------------------------------


class K8sError(Exception):
    """Anything that kept a Kubernetes API request from succeeding."""

    status: int | None = None
    reason: str = ""
    transient: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON form for logs and the strategy state."""
        return {"type": type(self).__name__, "status": self.status, "reason": self.reason, "message": str(self)[:300]}


class K8sTransportError(K8sError):
    """No HTTP answer: connection error, timeout, TLS verification failure, unusable response."""

    def __init__(self, message: str, reason: str = "transport") -> None:
        """Keep a short reason (``timeout``, ``tls``, ``connection``, ``token``, ``endpoint``...)."""
        super().__init__(message)
        self.reason = reason


class K8sApiError(K8sError):
    """The API server answered with an error status."""

    def __init__(self, status: int, reason: str, message: str, body: Mapping[str, Any] | None = None) -> None:
        """Keep the HTTP status and the ``Status`` object's reason/message."""
        super().__init__(f"HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.body = dict(body or {})
        self.transient = status >= 500 or status in (409, 429)


# -- endpoint ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterEndpoint:
    """Where the API server is and which CA signs its certificate."""

    url: str
    ca_pem: str | None = None  # required for https


class EndpointSource(Protocol):
    """Resolves the cluster endpoint (possibly with an API call)."""

    def resolve(self) -> ClusterEndpoint:
        """The endpoint; raises :class:`K8sTransportError` when it cannot be had now."""
        ...


def decode_ca(data: str) -> str:
    """PEM text from EKS ``certificateAuthority.data`` (base64 of the PEM); ValueError if not that."""
    try:
        pem = base64.b64decode(data.strip(), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("certificate authority data is not base64 PEM") from exc
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("certificate authority data holds no PEM certificate")
    return pem


@dataclass(frozen=True)
class StaticEndpoint:
    """Endpoint and CA given in the configuration."""

    endpoint: ClusterEndpoint

    def resolve(self) -> ClusterEndpoint:
        """The configured endpoint."""
        return self.endpoint


class DescribeClusterEndpoint:
    """Endpoint and CA read once from ``eks:DescribeCluster`` (cached for the execution environment)."""

    def __init__(self, eks: Callable[[], Any], cluster_name: str) -> None:
        """``eks`` returns the EKS client (called lazily)."""
        self._eks = eks
        self._cluster = cluster_name
        self._cached: ClusterEndpoint | None = None

    def resolve(self) -> ClusterEndpoint:
        """DescribeCluster on first use; errors are transport errors (retried next step)."""
        if self._cached is None:
            try:
                cluster = self._eks().describe_cluster(name=self._cluster)["cluster"]
                url = str(cluster["endpoint"])
                ca = decode_ca(str(cluster["certificateAuthority"]["data"]))
            except Exception as exc:  # ClientError, missing fields while the cluster is CREATING, ...
                raise K8sTransportError(
                    f"DescribeCluster {self._cluster} failed: {type(exc).__name__}: {exc}", "endpoint"
                ) from exc
            self._cached = ClusterEndpoint(url=url, ca_pem=ca)
        return self._cached


# -- tokens --------------------------------------------------------------------------------


class TokenSource(Protocol):
    """Bearer tokens (see :class:`lifecycle_drain.eks.auth.EksTokenProvider`)."""

    def token(self) -> str:
        """A current token."""
        ...

    def invalidate(self) -> None:
        """Drop the cached token."""
        ...


# -- eviction ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvictionResult:
    """What the Eviction subresource said about one pod."""

    #: ``evicted`` (2xx: graceful deletion started), ``blocked`` (429: a PodDisruptionBudget
    #: does not allow it now, or the budget is being recomputed), ``gone`` (404: the pod no
    #: longer exists; 409 with a UID precondition: the name now belongs to another pod).
    outcome: str
    message: str = ""
    causes: list[str] = field(default_factory=list)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow redirects (the Authorization header would go along)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


# -- client ----------------------------------------------------------------------------------


class K8sClient:
    """The handful of Kubernetes API calls of a node drain."""

    def __init__(
        self,
        endpoint: EndpointSource,
        tokens: TokenSource,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        """Talk to ``endpoint`` with tokens from ``tokens``."""
        self._endpoint = endpoint
        self._tokens = tokens
        self._timeout = float(timeout_seconds)
        self._page_size = max(1, int(page_size))
        self._opener: urllib.request.OpenerDirector | None = None
        self._opener_for: ClusterEndpoint | None = None
        #: Requests sent (including the retry after a 401), for logs.
        self.requests_sent = 0

    # -- typed calls --------------------------------------------------------------------------

    def get_node(self, name: str) -> dict[str, Any] | None:
        """The node, or None when it does not exist."""
        try:
            return self.request("GET", f"/api/v1/nodes/{_seg(name)}")
        except K8sApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list_nodes(self, label_selector: str | None = None) -> list[dict[str, Any]]:
        """All nodes (optionally those matching a label selector)."""
        query = {"labelSelector": label_selector} if label_selector else {}
        return list(self.list_all("/api/v1/nodes", query))

    def cordon(self, name: str) -> dict[str, Any]:
        """Mark the node unschedulable (what ``kubectl cordon`` does); idempotent."""
        return self.request("PATCH", f"/api/v1/nodes/{_seg(name)}", body={"spec": {"unschedulable": True}})

    def list_pods_on_node(self, node_name: str) -> list[dict[str, Any]]:
        """Every pod bound to the node, in all namespaces."""
        return list(self.list_all("/api/v1/pods", {"fieldSelector": f"spec.nodeName={node_name}"}))

    def evict(self, namespace: str, name: str, uid: str | None = None) -> EvictionResult:
        """POST a ``policy/v1`` Eviction; other error statuses raise :class:`K8sApiError`.

        The pod's own ``terminationGracePeriodSeconds`` applies (no override). With ``uid`` the
        eviction carries a UID precondition, so a new pod that took the name is never evicted.
        """
        body: dict[str, Any] = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
        }
        if uid:
            body["deleteOptions"] = {"preconditions": {"uid": uid}}
        try:
            answer = self.request("POST", f"/api/v1/namespaces/{_seg(namespace)}/pods/{_seg(name)}/eviction", body=body)
        except K8sApiError as exc:
            if exc.status == 429:
                return EvictionResult("blocked", str(exc.body.get("message") or exc), _causes(exc.body))
            if exc.status == 404 or (exc.status == 409 and uid):
                return EvictionResult("gone", str(exc.body.get("message") or exc))
            raise
        return EvictionResult("evicted", str(answer.get("status") or ""))

    # -- generic -----------------------------------------------------------------------------

    def list_all(self, path: str, query: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """Items of a list, following ``metadata.continue`` (at most :data:`MAX_PAGES` pages)."""
        token = ""
        for _ in range(MAX_PAGES):
            page_query = {**query, "limit": str(self._page_size)}
            if token:
                page_query["continue"] = token
            page = self.request("GET", path, query=page_query)
            items = page.get("items")
            if not isinstance(items, list):
                raise K8sTransportError(f"{path}: list without items", "response")
            yield from (item for item in items if isinstance(item, dict))
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return
        raise K8sTransportError(f"{path}: more than {MAX_PAGES} pages", "response")

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = MERGE_PATCH,
    ) -> dict[str, Any]:
        """One API call; retried once with a fresh token after a 401."""
        try:
            return self._send(method, path, query, body, content_type)
        except K8sApiError as exc:
            if exc.status != 401:
                raise
        self._tokens.invalidate()
        return self._send(method, path, query, body, content_type)

    def _send(
        self, method: str, path: str, query: Mapping[str, str] | None, body: Any, content_type: str
    ) -> dict[str, Any]:
        """Send one request and decode the JSON answer."""
        endpoint = self._endpoint.resolve()
        opener = self._opener_for_endpoint(endpoint)
        try:
            token = self._tokens.token()
        except TokenError as exc:
            raise K8sTransportError(str(exc), "token") from exc
        url = endpoint.url.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token}", "User-Agent": "rudder-ha-drain"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = content_type if method == "PATCH" else "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - scheme checked
        self.requests_sent += 1
        try:
            with opener.open(request, timeout=self._timeout) as response:
                raw = response.read(MAX_RESPONSE_BYTES + 1)
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            try:
                raw_error = exc.read(64 * 1024)
            except Exception:
                raw_error = b""
            finally:
                exc.close()
            parsed = _json_or_none(raw_error)
            reason = str((parsed or {}).get("reason") or exc.reason or "")
            message = str((parsed or {}).get("message") or raw_error[:200].decode("utf-8", "replace"))
            raise K8sApiError(int(exc.code), reason, message, parsed) from None
        except TimeoutError as exc:
            raise K8sTransportError(f"{method} {path}: timed out", "timeout") from exc
        except urllib.error.URLError as exc:
            cause = exc.reason
            kind = "tls" if isinstance(cause, ssl.SSLError | ssl.CertificateError) else "connection"
            if isinstance(cause, TimeoutError):
                kind = "timeout"
            raise K8sTransportError(f"{method} {path}: {cause}", kind) from exc
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise K8sTransportError(f"{method} {path}: {exc}", "tls") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise K8sTransportError(f"{method} {path}: {type(exc).__name__}: {exc}", "connection") from exc
        if len(raw) > MAX_RESPONSE_BYTES:
            raise K8sTransportError(f"{method} {path}: response too large", "response")
        parsed = _json_or_none(raw)
        if parsed is None:
            raise K8sTransportError(f"{method} {path}: HTTP {status} without a JSON object", "response")
        return parsed

    def _opener_for_endpoint(self, endpoint: ClusterEndpoint) -> urllib.request.OpenerDirector:
        """An opener verifying the cluster CA (built once per endpoint)."""
        if self._opener is not None and self._opener_for == endpoint:
            return self._opener
        scheme = urllib.parse.urlsplit(endpoint.url).scheme
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}), _NoRedirect()]
        if scheme == "https":
            if not endpoint.ca_pem:
                raise K8sTransportError("https endpoint without a cluster CA", "tls")
            try:
                context = ssl.create_default_context(cadata=endpoint.ca_pem)
            except (ssl.SSLError, ValueError) as exc:
                raise K8sTransportError(f"unusable cluster CA: {exc}", "tls") from exc
            handlers.append(urllib.request.HTTPSHandler(context=context))
        elif scheme != "http":
            raise K8sTransportError(f"unsupported endpoint scheme {scheme!r}", "endpoint")
        self._opener = urllib.request.build_opener(*handlers)
        self._opener_for = endpoint
        return self._opener


def _seg(value: str) -> str:
    """One URL path segment."""
    return urllib.parse.quote(value, safe="")


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    """A JSON object, or None."""
    try:
        value = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _causes(body: Mapping[str, Any]) -> list[str]:
    """Messages of a Status object's ``details.causes``."""
    details = body.get("details")
    causes = details.get("causes") if isinstance(details, Mapping) else None
    if not isinstance(causes, list):
        return []
    return [str(cause.get("message")) for cause in causes if isinstance(cause, Mapping) and cause.get("message")]
