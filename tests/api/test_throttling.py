"""The API's rate limit: a sliding-window counter over the cache's atomic add/incr."""

import threading
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache

from outage_desk.api.throttling import PerTokenRateThrottle

WINDOW_START = 60 * 29_000_000.0  # a minute's first second


def limiter(rate, *, at, cache=default_cache, key=None):
    """A throttle for one made-up token at a fixed time (``at`` seconds into a
    window), over ``cache``."""
    key = key or f"throttle-test-{uuid.uuid4().hex}"

    class Limiter(PerTokenRateThrottle):
        def get_cache_key(self, request, view):
            return key

    Limiter.rate = rate
    Limiter.cache = cache
    Limiter.timer = staticmethod(lambda: WINDOW_START + at)
    return Limiter


def allowed(throttle_class, times=1):
    return [throttle_class().allow_request(None, None) for _ in range(times)]


def test_it_allows_the_rate_and_refuses_the_next_request():
    # given
    at_ten = limiter("3/minute", at=10)

    # when
    answers = allowed(at_ten, 5)

    # then
    assert answers == [True, True, True, False, False]


def test_a_refused_request_takes_no_place_in_the_window():
    # given
    key = f"throttle-test-{uuid.uuid4().hex}"
    allowed(limiter("3/minute", at=10, key=key), 10)

    # when
    count = default_cache.get(f"{key}:{int(WINDOW_START // 60)}")

    # then
    assert count == 3


def test_the_previous_window_counts_by_the_share_the_sliding_window_still_covers():
    # given: three requests at the end of one window
    key = f"throttle-test-{uuid.uuid4().hex}"
    assert allowed(limiter("3/minute", at=59, key=key), 3) == [True, True, True]

    # when: 1 s into the next window they weigh 59/60, 45 s in only 15/60
    early = allowed(limiter("3/minute", at=61, key=key))
    late = allowed(limiter("3/minute", at=105, key=key), 3)

    # then: 3 * 15/60 + 2 = 2.75 fits, 3 * 15/60 + 3 = 3.75 does not
    assert early == [False]
    assert late == [True, True, False]


@pytest.mark.parametrize(
    ("full_at", "refused_at", "wait"),
    [
        # 3 * (1 - f) + 1 <= 3 from f = 1/3 of the next window: 19 s after 61
        (59, 61, 19.0),
        # this window full 20 s in: 40 s to its end, then 20 s into the next
        (20, 20, 60.0),
    ],
    ids=["later-in-the-next-window", "into-the-next-window"],
)
def test_retry_after_is_when_the_next_request_fits(full_at, refused_at, wait):
    # given: three requests, then one refused
    key = f"throttle-test-{uuid.uuid4().hex}"
    allowed(limiter("3/minute", at=full_at, key=key), 3)
    refused = limiter("3/minute", at=refused_at, key=key)()
    assert refused.allow_request(None, None) is False

    # when
    told = refused.wait()

    # then: a second before is still refused, just after fits
    assert told == pytest.approx(wait)
    assert allowed(limiter("3/minute", at=refused_at + wait - 1, key=key)) == [False]
    assert allowed(limiter("3/minute", at=refused_at + wait + 0.01, key=key)) == [True]


@pytest.fixture
def redis_cache():
    """The rate limit's cache on the real Redis the app's workers use."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis (set CELERY_BROKER_URL)")
    redis = RedisCache(settings.CELERY_BROKER_URL, {"KEY_PREFIX": uuid.uuid4().hex})
    yield redis
    redis.clear()


def _hammer(throttle_class, *, threads, each):
    """``threads`` threads at once, each asking ``each`` times; the answers."""
    answers: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def ask():
        start.wait()
        mine = allowed(throttle_class, each)
        with lock:
            answers.extend(mine)

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers


@pytest.mark.parametrize(
    ("rate", "passed"),
    [("100000/minute", 200), ("50/minute", 50)],
    ids=["each-counts", "never-past-the-limit"],
)
def test_concurrent_requests_over_redis(redis_cache, rate, passed):
    # given
    key = f"throttle-test-{uuid.uuid4().hex}"
    throttle = limiter(rate, at=30, cache=redis_cache, key=key)

    # when: 8 threads at once, 25 requests each
    answers = _hammer(throttle, threads=8, each=25)

    # then: every request counted, a refused one taken back off the count
    assert answers.count(True) == passed
    assert redis_cache.get(f"{key}:{int(WINDOW_START // 60)}") == passed
