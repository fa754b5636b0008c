"""JetStream's account info during a meta-leader election: retried, not reported as down."""

import asyncio

import pytest

from stacks.verify.nats import account_info_within


class FlakyJetStream:
    def __init__(self, timeouts: int, error: Exception | None = None) -> None:
        self.timeouts, self.error, self.calls = timeouts, error, 0

    async def account_info(self) -> dict[str, int]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        if self.calls <= self.timeouts:
            raise TimeoutError
        return {"streams": 1}


def test_timeouts_during_an_election_are_retried() -> None:
    js = FlakyJetStream(timeouts=2)
    waited = asyncio.run(account_info_within(js, window=5, pause=0.01))
    assert js.calls == 3
    assert waited < 5


def test_a_timeout_past_the_window_is_raised() -> None:
    js = FlakyJetStream(timeouts=1000)
    with pytest.raises(TimeoutError):
        asyncio.run(account_info_within(js, window=0.05, pause=0.01))
    assert 2 <= js.calls <= 6


def test_other_errors_are_not_retried() -> None:
    js = FlakyJetStream(timeouts=0, error=RuntimeError("jetstream not enabled"))
    with pytest.raises(RuntimeError):
        asyncio.run(account_info_within(js, window=5, pause=0.01))
    assert js.calls == 1
