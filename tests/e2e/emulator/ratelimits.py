"""Discord's per-route rate limits, as the emulator enforces them (on by default).

Each request falls in a bucket keyed by its route group and major parameter (the channel, guild or
webhook). A bucket allows `limit` requests per `window` seconds; every answer carries Discord's
X-RateLimit headers, and a request over the limit gets 429 with `Retry-After`, as real Discord does.
The figures are Discord's observed ones for the routes Agora uses; reactions are the tight one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from aiohttp import web

API = "/api/v10"


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window: float


REACTIONS = Limit("reactions", 1, 0.25)  # PUT/DELETE of one reaction: about four a second per channel
MESSAGE_CREATE = Limit("message-create", 5, 5.0)
MESSAGE_EDIT = Limit("message-edit", 5, 5.0)
DEFAULT = Limit("default", 50, 1.0)


def limit_for(method: str, template: str) -> Limit | None:
    """The bucket a request falls in; None for routes Discord does not limit per route (interaction replies)."""
    path = template.removeprefix(API)
    if path.startswith(("/interactions/", "/webhooks/")) or path.startswith("/gateway"):
        return None
    if "/reactions/" in path and method in ("PUT", "DELETE") and path.count("/") >= 6:
        return REACTIONS
    if path == "/channels/{channel_id}/messages" and method == "POST":
        return MESSAGE_CREATE
    if path == "/channels/{channel_id}/messages/{message_id}" and method in ("PATCH", "DELETE"):
        return MESSAGE_EDIT
    return DEFAULT


@dataclass
class _Bucket:
    remaining: int
    reset_at: float


class RateLimits:
    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.limited = 0  # requests answered 429

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
        route = request.match_info.route.resource
        template = route.canonical if route is not None else request.path
        limit = limit_for(request.method, template) if self.enabled and request.path.startswith(API) else None
        if limit is None:
            return await handler(request)
        info = request.match_info
        major = info.get("channel_id") or info.get("guild_id") or ""
        key = (limit.name if limit is not DEFAULT else f"{request.method} {template}", major)
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.reset_at:
            bucket = self._buckets[key] = _Bucket(limit.limit, now + limit.window)
        reset_after = bucket.reset_at - now
        if bucket.remaining <= 0:
            self.limited += 1
            body = {"message": "You are being rate limited.", "retry_after": round(reset_after, 3), "global": False}
            body["code"] = 0
            response = web.Response(body=json.dumps(body).encode(), status=429, content_type="application/json")
            response.headers["Retry-After"] = f"{reset_after:.3f}"
            response.headers["X-RateLimit-Scope"] = "user"
            # Discord's API answers through Google's front end; discord.py takes a 429 without Via for a
            # Cloudflare ban and raises instead of waiting and retrying, as it does against Discord.
            response.headers["Via"] = "1.1 google"
            self._headers(response, limit, bucket, reset_after, key)
            return response
        bucket.remaining -= 1
        response = await handler(request)
        self._headers(response, limit, bucket, reset_after, key)
        return response

    @staticmethod
    def _headers(
        response: web.StreamResponse, limit: Limit, bucket: _Bucket, reset_after: float, key: tuple[str, str]
    ) -> None:
        response.headers["X-RateLimit-Limit"] = str(limit.limit)
        response.headers["X-RateLimit-Remaining"] = str(max(bucket.remaining, 0))
        response.headers["X-RateLimit-Reset"] = f"{time.time() + reset_after:.3f}"
        response.headers["X-RateLimit-Reset-After"] = f"{reset_after:.3f}"
        response.headers["X-RateLimit-Bucket"] = f"{abs(hash(key[0])):x}"
