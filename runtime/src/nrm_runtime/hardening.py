"""HTTP hardening every service gets from ``create_service_app``.

- Security headers on every response: ``nosniff``, frames denied, no referrer, a
  Content-Security-Policy (``default-src 'none'`` for the API; for the documentation
  pages one that admits exactly what Swagger UI and ReDoc load: their CDN, and each
  inline script by its hash), and ``Cache-Control: no-store`` on everything but health,
  metrics and documentation: any other response may carry personal data.
- A request body limit (``max_request_body_bytes``): 413 before the app reads a byte more.
- Failed-authentication rate limiting, counted per client address and per presented
  credential (a hash of the bearer token, never the token): after ``auth_failure_limit``
  401 answers within ``auth_failure_window_seconds``, a credential is refused with 429
  and ``Retry-After`` until the window has slid past. An address over the limit refuses
  only what does not authenticate: a request without a bearer token gets 429 at once, one
  with a token is still verified, served if the token is valid and answered 429 (not 401)
  if not. So the NGOs behind one gateway never lock each other out, and a caller guessing
  tokens from one address still gets nowhere. The counts are kept in memory, where each
  request is checked, and shared by the service's replicas through its database every
  ``auth_failure_share_seconds`` (:mod:`nrm_runtime.failure_sharing`): a key over the
  limit across the replicas is refused by every one of them, within that period.

Every answer this module gives itself uses the error shape ``{"error": {...}}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNGUARDED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
DOCS_HTML_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
CACHEABLE_PATHS = UNGUARDED_PATHS | DOCS_HTML_PATHS | {"/openapi.json"}
DOCS_CDN = "https://cdn.jsdelivr.net"

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI and ReDoc come from the CDN; their inline scripts are admitted by hash (added
# per page); styles may be inline because both set them at run time (no script runs from
# a style). ReDoc's fonts come from Google Fonts and it renders in a blob: worker.
DOCS_POLICY = (
    "default-src 'none'; "
    f"script-src {DOCS_CDN}{{hashes}}; "
    f"style-src {DOCS_CDN} https://fonts.googleapis.com 'unsafe-inline'; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)

COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class AuthFailureLimiter:
    """Counts 401 answers per key (a client address, a credential's hash) in a sliding
    window (in memory).

    At most ``max_clients`` keys are tracked, least recently failed dropped first, so a
    flood of addresses or made-up tokens cannot exhaust memory. Addresses and credentials
    are counted in two limiters, so that a flood of made-up tokens cannot push the
    addresses out.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        # Failures not yet handed to the other replicas, and the keys they (with ours)
        # put over the limit: shared key -> when it may try again (this clock).
        self._unshared: Counter[str] = Counter()
        self._shared_until: dict[str, float] = {}

    def _recent(self, client: str) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it is not blocked."""
        shared = max(self._shared_until.get(shared_key(client), 0.0) - self._clock(), 0.0)
        failures = self._recent(client)
        if failures is None or len(failures) < self.limit:
            return shared
        return max(failures[-self.limit] + self.window - self._clock(), shared)

    def record_failure(self, client: str) -> None:
        self._unshared[shared_key(client)] += 1
        failures = self._recent(client) or deque()
        failures.append(self._clock())
        self._failures[client] = failures
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def take_unshared(self) -> Counter[str]:
        """The failures recorded since the last call, by shared key (handed over)."""
        taken, self._unshared = self._unshared, Counter()
        return taken

    def give_back(self, failures: Counter[str]) -> None:
        """Failures taken that could not be shared: kept for the next exchange."""
        self._unshared.update(failures)

    def share(self, blocked: dict[str, float]) -> None:
        """The keys all replicas together put over the limit, each with the seconds
        until it may try again; replaces the previous exchange's."""
        now = self._clock()
        self._shared_until = {key: now + wait for key, wait in blocked.items()}

    def like_this(self) -> AuthFailureLimiter:
        """An empty limiter with the same limit, window, capacity and clock."""
        return AuthFailureLimiter(
            self.limit, self.window, max_clients=self.max_clients, clock=self._clock
        )


def shared_key(key: str) -> str:
    """What a key is counted under where the replicas share counts: a hash, so that the
    database holds no address (and a credential key is hashed once more)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def credential_key(scope: Scope) -> str | None:
    """What the request's bearer token is counted under: a hash, so that no token is kept
    in memory (or could reach a log) once the request is over; None without one."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            if scheme.lower() != b"bearer" or not token:
                return None
            return hashlib.sha256(token).hexdigest()[:32]
    return None


class HardeningMiddleware:
    """The ASGI middleware applying the above; outermost, so every answer passes it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        limiter: AuthFailureLimiter,
        credential_limiter: AuthFailureLimiter | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.limiter = limiter
        self.credential_limiter = credential_limiter or limiter.like_this()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        client = (scope.get("client") or ("unknown", 0))[0]
        guarded = path not in UNGUARDED_PATHS
        credential = credential_key(scope) if guarded else None
        address_over_limit = False
        if guarded:
            # A credential that failed too often is refused whatever its address: these are
            # its own failures. An address over the limit refuses at once only what has no
            # token to verify; a token is verified below, and served if valid.
            wait = self.credential_limiter.retry_after(credential) if credential else 0.0
            address_wait = self.limiter.retry_after(client)
            address_over_limit = address_wait > 0
            if credential is None:
                wait = address_wait
            if wait > 0:
                await _too_many(send, wait)
                return
        if _declared_length(scope) > self.max_body_bytes:
            await answer(send, 413, self._too_large())
            return
        buffered = await _read_body(receive, self.max_body_bytes)
        if buffered is None:
            await answer(send, 413, self._too_large())
            return
        replay = _replaying(buffered, receive)
        if path in DOCS_HTML_PATHS:
            await self.app(scope, replay, _DocsPageSender(send).send)
            return

        refused = False

        async def send_with_headers(message: Message) -> None:
            nonlocal refused
            if refused:
                return  # the app's 401 body, replaced by the 429 already sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if status == 401 and guarded:
                    self.limiter.record_failure(client)
                    if credential is not None:
                        self.credential_limiter.record_failure(credential)
                    if address_over_limit:
                        refused = True
                        await _too_many(send, self._wait(client, credential))
                        return
                message["headers"] = _with_security_headers(
                    list(message.get("headers", [])), path, API_POLICY
                )
            await send(message)

        await self.app(scope, replay, send_with_headers)

    def _wait(self, client: str, credential: str | None) -> float:
        waits = [self.limiter.retry_after(client)]
        if credential is not None:
            waits.append(self.credential_limiter.retry_after(credential))
        return max(waits)

    def _too_large(self) -> bytes:
        return error_body(
            "payload_too_large", f"the request body exceeds {self.max_body_bytes} bytes"
        )


def _with_security_headers(
    headers: list[tuple[bytes, bytes]], path: str, policy: str
) -> list[tuple[bytes, bytes]]:
    ours = dict(COMMON_HEADERS)
    ours[b"content-security-policy"] = policy.encode()
    if path not in CACHEABLE_PATHS:
        ours[b"cache-control"] = b"no-store"
    kept = [(name, value) for name, value in headers if name.lower() not in ours]
    return [*kept, *ours.items()]


class _DocsPageSender:
    """Holds a documentation page until its body is complete, to hash its inline scripts
    into the page's policy (the page is a few KiB)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self._body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body" or self._start is None:
            await self._send(message)
            return
        self._body += message.get("body", b"")
        if message.get("more_body", False):
            return
        body = bytes(self._body)
        hashes = "".join(
            " 'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
            for script in _INLINE_SCRIPT.findall(body)
        )
        headers = [
            (name, value)
            for name, value in self._start.get("headers", [])
            if name.lower() != b"content-length"
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        self._start["headers"] = _with_security_headers(
            headers, "/docs", DOCS_POLICY.format(hashes=hashes)
        )
        await self._send(self._start)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _read_body(receive: Receive, limit: int) -> list[Message] | None:
    """The request's body messages, or None as soon as they exceed ``limit`` bytes."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages  # a disconnect: the app sees it
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()  # e.g. http.disconnect while the app streams its answer

    return replay


async def _too_many(send: Send, wait: float) -> None:
    await answer(
        send,
        429,
        error_body("too_many_failed_authentications", "too many failed attempts"),
        [(b"retry-after", str(int(wait) + 1).encode())],
    )


async def answer(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _with_security_headers(headers, "", API_POLICY),
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def install_hardening(
    app: Any,
    *,
    max_body_bytes: int,
    limiter: AuthFailureLimiter,
    credential_limiter: AuthFailureLimiter | None = None,
    inner: Callable[[ASGIApp], ASGIApp] | None = None,
) -> None:
    """Wrap ``app``'s whole middleware stack (error handling included) in the hardening,
    so that even the 500 answers of the outermost error handler carry the headers.
    ``limiter`` counts per address, ``credential_limiter`` per credential; ``inner``
    wraps the stack just inside the hardening (the load shedding)."""
    build = app.build_middleware_stack
    # Made here, not per build of the stack: the counts outlive a rebuild.
    credential_limiter = credential_limiter or limiter.like_this()

    def build_hardened() -> ASGIApp:
        stack = build()
        return HardeningMiddleware(
            inner(stack) if inner is not None else stack,
            max_body_bytes=max_body_bytes,
            limiter=limiter,
            credential_limiter=credential_limiter,
        )

    app.build_middleware_stack = build_hardened
    app.state.auth_failure_limiter = limiter
    app.state.credential_failure_limiter = credential_limiter
