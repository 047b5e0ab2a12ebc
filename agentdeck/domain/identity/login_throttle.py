"""Sign-in throttling that slows a password guesser without locking the account's owner out.

Three gates, passed before the password is checked (so a refusal says nothing about it):

- **per account and client** (email + client address): the `login_backoff_free_failures`-th
  consecutive failure of a client for an account makes that client wait
  `login_backoff_base_seconds` before its next attempt, each further failure twice as long as
  the one before, at most `login_backoff_max_seconds`. The owner signing in from another client
  is not affected, and a success clears the client's count. (The wait opens as an attempt is
  admitted and is lifted if it succeeds, so concurrent attempts cannot share one turn.)
- **per client address, across accounts**: `login_ip_max_attempts` failures per
  `login_ip_window_seconds` (one address spraying many accounts).
- **per account, across clients**: `login_account_max_failures` per
  `login_account_window_seconds`, generous so that only a distributed guesser reaches it; it
  slows (429 until the window ends), it never locks.

A refusal is `RateLimited`: 429 with `Retry-After` and the X-RateLimit-* numbers. An unknown
email is throttled exactly like a known one, so the answers do not reveal which accounts exist.
Attempts are counted as they start, not when they fail, so a burst of concurrent requests
cannot slip past a gate before the first failure is recorded. The counters live in the shared
limiter (Redis when configured) and, like every limit, fail open with it.
"""

from __future__ import annotations

import hashlib

from agentdeck.context import Context
from agentdeck.errors import RateLimited
from agentdeck.providers.ratelimit import RateLimiter
from agentdeck.settings import Settings

MESSAGE = "Too many failed sign-in attempts. Retry after {}s."


def backoff_seconds(failures: int, settings: Settings) -> int:
    """The wait after the `failures`-th consecutive failure of a client for an account."""
    over = failures - settings.login_backoff_free_failures
    if over < 0:
        return 0
    # Capped exponent: the count can grow large under a burst, 2**n must not.
    return min(settings.login_backoff_max_seconds, settings.login_backoff_base_seconds * 2 ** min(over, 40))


class LoginThrottle:
    """The gates for one sign-in attempt: `admit` before the password check, then `succeeded`."""

    def __init__(self, ctx: Context, email: str, ip: str | None, account_limit: tuple[int, int] | None = None) -> None:
        """`account_limit` = (failures, window seconds) replaces the settings' ceiling per account
        (a second factor's is lower: only someone who knew the password reaches it)."""
        self.limiter: RateLimiter = ctx.services.limiter
        self.cfg = ctx.settings
        account_max, account_window = account_limit or (
            self.cfg.login_account_max_failures,
            self.cfg.login_account_window_seconds,
        )
        # Hashed: keys of bounded length that hold no address book.
        account = hashlib.sha256(email.encode()).hexdigest()[:32]
        client = ip or "-"
        self.streak = f"login:streak:{account}:{client}"
        self.wait = f"login:wait:{account}:{client}"
        self.gates = (
            (f"login:ip:{client}", self.cfg.login_ip_max_attempts, self.cfg.login_ip_window_seconds),
            (f"login:account:{account}", account_max, account_window),
        )
        self.opened_wait = False

    async def admit(self) -> None:
        """Count this attempt as a failure until it succeeds, or raise `RateLimited`."""
        cfg = self.cfg
        waiting = await self.limiter.locked_for(self.wait)
        if waiting:
            raise self._refused(waiting, cfg.login_backoff_free_failures)
        for key, limit, window in self.gates:
            retry_after = await _spend(self.limiter, key, limit, window)
            if retry_after:
                raise self._refused(retry_after, limit)
        failures = (
            await self.limiter.hit(self.streak, cfg.login_backoff_free_failures, cfg.login_backoff_window_seconds)
        ).count
        wait = backoff_seconds(failures, cfg)
        # The wait opens as the attempt is admitted; a concurrent attempt that finds it taken is refused.
        if wait and not await self.limiter.try_lock(self.wait, wait):
            raise self._refused(max(1, await self.limiter.locked_for(self.wait)), cfg.login_backoff_free_failures)
        self.opened_wait = bool(wait)

    async def succeeded(self) -> None:
        """The password was right: this client starts afresh, and the attempt was no failure."""
        await self.limiter.reset(self.streak)
        if self.opened_wait:
            await self.limiter.unlock(self.wait)
        for key, limit, window in self.gates:
            await self.limiter.hit(f"{key}:ok", limit, window)

    @staticmethod
    def _refused(retry_after: int, limit: int) -> RateLimited:
        return RateLimited(MESSAGE.format(retry_after), retry_after=retry_after, limit=limit, remaining=0)


async def _spend(limiter: RateLimiter, key: str, limit: int, window: int) -> int:
    """A fixed-window limit on failures that concurrent attempts cannot overrun: every attempt
    counts as it starts (`:tried`) and a success is taken back (`:ok`). Returns the seconds to
    wait when more than `limit` failures were seen in the window, else 0."""
    tried = await limiter.hit(f"{key}:tried", limit, window)
    if tried.allowed:  # no more attempts than failures allowed: successes need not be read
        return 0
    ok = await limiter.peek(f"{key}:ok", limit, window)
    return tried.retry_after if tried.count - ok.count > limit else 0
