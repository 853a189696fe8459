from app.llm.breaker import CircuitBreaker


def test_opens_after_threshold_and_probes_after_cooldown():
    b = CircuitBreaker(failure_threshold=2, cooldown_s=10)
    assert b.allow(0)
    b.record_failure(0)
    assert b.current(0) == "closed" and b.allow(0)
    b.record_failure(1)
    assert b.current(1) == "open" and not b.allow(5)
    assert b.current(11) == "half_open"
    assert b.allow(11)  # the single probe
    assert not b.allow(11)  # a second concurrent request waits
    b.record_success()
    assert b.current(12) == "closed" and b.failures == 0


def test_failed_probe_reopens():
    b = CircuitBreaker(failure_threshold=1, cooldown_s=5)
    b.record_failure(0)
    assert b.allow(6)
    b.record_failure(6)
    assert b.current(7) == "open" and not b.allow(10)
    assert b.allow(11.5)


def test_success_resets_consecutive_count():
    b = CircuitBreaker(failure_threshold=3)
    for t in range(5):
        b.record_failure(t)
        b.record_success()
    assert b.current(10) == "closed"


def test_would_allow_does_not_claim_probe():
    b = CircuitBreaker(failure_threshold=1, cooldown_s=1)
    b.trip(0)
    assert b.would_allow(2) and b.would_allow(2)
    assert b.allow(2) and not b.would_allow(2)


def test_released_probe_lets_the_next_request_probe():
    b = CircuitBreaker(failure_threshold=1, cooldown_s=1)
    b.trip(0)
    assert b.allow(2) and not b.allow(2)
    b.release()  # the probe's caller went away before any verdict
    assert b.current(2) == "half_open" and b.allow(2)


def test_end_cooldown_lets_an_open_circuit_probe_at_once():
    b = CircuitBreaker(failure_threshold=1, cooldown_s=15)
    b.record_failure(0)
    assert not b.allow(1)
    b.end_cooldown()  # the health check saw the engine come back
    assert b.current(1) == "half_open" and b.allow(1) and not b.allow(1)
    closed = CircuitBreaker()
    closed.end_cooldown()
    assert closed.current(0) == "closed"
