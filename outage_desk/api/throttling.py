"""The API's rate limit: a sliding-window counter kept with the cache's atomic add
and incr.

DRF's ``SimpleRateThrottle`` keeps a list of every request's time in the window:
it reads the list, appends and writes it back. Over a shared cache (``CACHE_URL`` on
Redis) two requests of one token at once both read the list without the other's
entry, so the limit under-counts; and each request pickles the whole list (600
entries at 600/minute). Here each request costs three cache operations whatever the
rate, and no request is ever left uncounted.

The count is the one Cloudflare's limiter uses: the requests of the current fixed
window, plus those of the previous window weighted by the share of it the sliding
window still covers (the previous window's requests taken as evenly spread).
"""

from typing import TYPE_CHECKING, Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.views import APIView

from .authentication import token_of


class PerTokenRateThrottle(SimpleRateThrottle):
    """A rate limit per API token; session users are limited per user."""

    scope = "token"
    num_requests: int  # set from the rate in __init__
    duration: int

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        token = token_of(request)
        if token is not None:
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: "APIView") -> bool:
        """Count the request in its window; refuse (and uncount) it when the
        sliding count is over the rate."""
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        limit, duration = self.num_requests, self.duration
        now = self.timer()
        window, elapsed = divmod(now / duration, 1)
        current = f"{key}:{int(window)}"
        count = self._increment(current)
        previous = self.cache.get(f"{key}:{int(window) - 1}", 0)
        if previous * (1 - elapsed) + count <= limit:
            return True
        # A refused request takes no place in the window.
        self.cache.decr(current)
        self.retry_after = duration * _retry_after(
            limit=limit, counted=count - 1, previous=previous, elapsed=elapsed
        )
        return False

    def _increment(self, key: str) -> int:
        """The window's count after this request; the key lives for two windows,
        so the next window still reads it as its previous one."""
        try:
            return int(self.cache.incr(key))
        except ValueError:  # the window's first request (or its key was evicted)
            if self.cache.add(key, 1, 2 * self.duration):
                return 1
            return int(self.cache.incr(key))

    def wait(self) -> Any:
        """Seconds until a request would be allowed (the Retry-After header)."""
        return getattr(self, "retry_after", None)


def _retry_after(*, limit: int, counted: int, previous: int, elapsed: float) -> float:
    """In windows: how long until one more request fits under ``limit``, with
    ``counted`` requests in the current window (``elapsed`` of it gone) and
    ``previous`` in the one before."""
    room = limit - counted - 1
    if room >= 0 and previous:
        # Within this window, once the previous window's weight has decayed enough.
        return max(0.0, 1 - room / previous - elapsed)
    # In the next window, where this window's requests weigh as the previous ones.
    weight = 1 - (limit - 1) / counted if counted else 0.0
    return 1 - elapsed + max(0.0, weight)
