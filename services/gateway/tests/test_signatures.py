from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from paid_gateway.signatures import sign, verify

# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_matches_githubs_published_test_vector() -> None:
    assert sign(GITHUB_SECRET, GITHUB_BODY) == GITHUB_SIGNATURE
    assert verify([GITHUB_SECRET], GITHUB_BODY, GITHUB_SIGNATURE)


def test_any_configured_secret_verifies() -> None:
    assert verify(["retired-secret", GITHUB_SECRET], GITHUB_BODY, GITHUB_SIGNATURE)
    assert verify([GITHUB_SECRET, "next-secret"], GITHUB_BODY, GITHUB_SIGNATURE)


def test_refuses_missing_malformed_and_wrong_signatures() -> None:
    assert not verify([GITHUB_SECRET], GITHUB_BODY, None)
    assert not verify([GITHUB_SECRET], GITHUB_BODY, "")
    assert not verify([GITHUB_SECRET], GITHUB_BODY, GITHUB_SIGNATURE.removeprefix("sha256="))
    assert not verify([GITHUB_SECRET], GITHUB_BODY, GITHUB_SIGNATURE.replace("sha256", "sha1"))
    assert not verify([GITHUB_SECRET], GITHUB_BODY, GITHUB_SIGNATURE.upper())
    assert not verify(["another secret"], GITHUB_BODY, GITHUB_SIGNATURE)
    assert not verify([], GITHUB_BODY, GITHUB_SIGNATURE)


@given(secret=st.text(min_size=1), body=st.binary(), tampered=st.binary(min_size=1))
def test_a_signature_covers_exactly_its_body(secret: str, body: bytes, tampered: bytes) -> None:
    signature = sign(secret, body)
    assert verify([secret], body, signature)
    assert not verify([secret], body + tampered, signature)
