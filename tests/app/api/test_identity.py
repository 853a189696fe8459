import time

from app.api.identity import sign, verify

SECRET = "s3cret"


def test_valid_token_round_trips():
    tok = sign({"sub": "u123", "name": "Li Wei", "exp": int(time.time()) + 60}, SECRET)
    assert verify(tok, SECRET, max_age_s=600)["sub"] == "u123"


def test_tampered_expired_far_future_and_wrong_secret_are_refused():
    now = time.time()
    tok = sign({"sub": "u123", "exp": int(now) + 60}, SECRET)
    body, sig = tok.split(".")
    forged = sign({"sub": "admin", "exp": int(now) + 60}, "other").split(".")[0] + "." + sig
    assert verify(forged, SECRET, max_age_s=600) is None
    assert verify(tok, "wrong", max_age_s=600) is None
    assert verify(sign({"sub": "u", "exp": int(now) - 1}, SECRET), SECRET, max_age_s=600) is None
    assert verify(sign({"sub": "u", "exp": int(now) + 10_000}, SECRET), SECRET, max_age_s=600) is None
    assert verify("garbage", SECRET, max_age_s=600) is None
    assert verify(sign({"exp": int(now) + 60}, SECRET), SECRET, max_age_s=600) is None
