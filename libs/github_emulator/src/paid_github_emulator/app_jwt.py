"""Verifying a GitHub App's JWT (RS256) as GitHub does, against the emulator's clock."""

from __future__ import annotations

from typing import Any

import jwt

from paid_github_emulator.apps import JWT_CLOCK_SKEW_SECONDS, JWT_MAX_LIFETIME_SECONDS, App, AppRegistry
from paid_github_emulator.errors import ApiError


def jwt_error(message: str) -> ApiError:
    return ApiError(401, message)


def verify_app_jwt(registry: AppRegistry, token: str, now: int) -> App:
    """The App whose key signed `token`, or a 401 with GitHub's reason.

    The signature is checked with the issuing App's public key; `iat` may be up to 60 s ahead of
    the clock, `exp` must be in the future and at most 10 minutes after `iat` (plus the skew).
    """
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise jwt_error("A JSON web token could not be decoded") from exc
    if header.get("alg") != "RS256":
        raise jwt_error("A JSON web token could not be decoded")
    app = registry.app_by_issuer(claims.get("iss"))
    if app is None:
        raise jwt_error("'Issuer' claim ('iss') must be an Integer")
    try:
        jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            # Time claims are checked below against the emulator's (advanceable) clock.
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise jwt_error("A JSON web token could not be decoded") from exc
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int) or issued > now + JWT_CLOCK_SKEW_SECONDS:
        raise jwt_error(
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
        )
    if not isinstance(expires, int) or expires <= now:
        raise jwt_error(
            "'Expiration time' claim ('exp') must be a numeric value representing the future time"
            " at which the assertion expires"
        )
    if (
        expires - issued > JWT_MAX_LIFETIME_SECONDS + JWT_CLOCK_SKEW_SECONDS
        or expires > now + JWT_MAX_LIFETIME_SECONDS + JWT_CLOCK_SKEW_SECONDS
    ):
        raise jwt_error("'Expiration time' claim ('exp') is too far in the future")
    return app
