"""The shared spend ledger's statements (see shared_ledger.py), each one round trip that commits alone."""

from __future__ import annotations

from sqlalchemy import text

READ = text(
    """
    WITH wanted AS (SELECT unnest(CAST(:keys AS text[])) AS scope),
    live AS (
        SELECT s.scope, sum(r.tokens) AS tokens, sum(r.usd) AS usd, count(*) AS n
        FROM executor.spend_reservations r, unnest(r.scopes) AS s(scope)
        WHERE r.scopes && CAST(:keys AS text[]) AND r.lease_until > clock_timestamp()
        GROUP BY s.scope
    )
    SELECT w.scope, c.version, coalesce(c.spent_tokens, 0), coalesce(c.spent_usd, 0),
           coalesce(l.tokens, 0), coalesce(l.usd, 0), coalesce(l.n, 0)
    FROM wanted w
    LEFT JOIN executor.spend_counters c ON c.scope = w.scope
    LEFT JOIN live l ON l.scope = w.scope
    """
)
CREATE_COUNTERS = text(
    "INSERT INTO executor.spend_counters (scope) SELECT unnest(CAST(:keys AS text[])) "
    "ON CONFLICT (scope) DO NOTHING"
)
# Reads, decides and reserves in one statement, so a reservation is one round trip. It reserves
# nothing while the call's provider is paused (see backoff.py) and answers the seconds left; else it
# starts the call on the rule of budgets.decide (room for the estimate on top of spent and reserved,
# or some room and no reservation); when it does not, it answers the state it read and the caller
# decides why.
# Run by asyncpg itself (positional parameters, prepared once per connection), the hot path's one
# statement: $1 keys, $2 token caps, $3 USD caps, $4 how many keys, $5 the reservation's id, $6 run id,
# $7 holder, $8 and $9 the estimate in tokens and USD, $10 the lease in seconds, $11 the provider.
# The compare-and-set holds within the statement: its UPDATE waits for a concurrent writer's row
# lock, then checks the version it read against the row as committed, and bumps nothing if it moved.
RESERVE = """
    WITH estimate AS (
        SELECT CAST($8 AS bigint) AS tokens, CAST($9 AS float8) AS usd
    ),
    paused AS (
        SELECT EXTRACT(EPOCH FROM until - clock_timestamp()) AS seconds FROM executor.provider_backoffs
        WHERE provider = CAST($11 AS text) AND until > clock_timestamp()
    ),
    wanted AS (
        SELECT * FROM unnest(
            CAST($1 AS text[]), CAST($2 AS bigint[]), CAST($3 AS float8[])
        ) AS w(scope, cap_tokens, cap_usd)
    ),
    live AS (
        SELECT s.scope, sum(r.tokens) AS tokens, sum(r.usd) AS usd, count(*) AS n
        FROM executor.spend_reservations r, unnest(r.scopes) AS s(scope)
        WHERE r.scopes && CAST($1 AS text[]) AND r.lease_until > clock_timestamp()
        GROUP BY s.scope
    ),
    state AS (
        SELECT w.scope, w.cap_tokens, w.cap_usd, c.version,
               coalesce(c.spent_tokens, 0) AS spent_tokens, coalesce(c.spent_usd, 0) AS spent_usd,
               coalesce(l.tokens, 0) AS reserved_tokens, coalesce(l.usd, 0) AS reserved_usd,
               coalesce(l.n, 0) AS n
        FROM wanted w
        LEFT JOIN executor.spend_counters c ON c.scope = w.scope
        LEFT JOIN live l ON l.scope = w.scope
    ),
    fits AS (
        SELECT NOT EXISTS (SELECT FROM paused) AND bool_and(
            version IS NOT NULL
            AND (cap_tokens IS NULL OR (spent_tokens < cap_tokens
                 AND (n = 0 OR spent_tokens + reserved_tokens + e.tokens <= cap_tokens)))
            AND (cap_usd IS NULL OR (spent_usd < cap_usd
                 AND (n = 0 OR spent_usd + reserved_usd + e.usd <= cap_usd)))
        ) AS ok
        FROM state, estimate e
    ),
    bumped AS (
        UPDATE executor.spend_counters c SET version = c.version + 1
        FROM state s
        WHERE c.scope = s.scope AND c.version = s.version AND (SELECT ok FROM fits)
        RETURNING c.scope
    ),
    reserved AS (
        INSERT INTO executor.spend_reservations (id, run_id, holder, scopes, tokens, usd, lease_until)
        SELECT $5, $6, $7, CAST($1 AS text[]), e.tokens, e.usd,
               clock_timestamp() + make_interval(secs => $10)
        FROM estimate e
        WHERE (SELECT count(*) FROM bumped) = $4
        RETURNING id
    )
    SELECT scope, version, spent_tokens, spent_usd, reserved_tokens, reserved_usd, n,
           (SELECT count(*) FROM reserved), (SELECT seconds FROM paused)
    FROM state
"""
SETTLE = text(
    """
    WITH released AS (DELETE FROM executor.spend_reservations WHERE id = :id)
    UPDATE executor.spend_counters
    SET spent_tokens = spent_tokens + :tokens, spent_usd = spent_usd + :usd, version = version + 1
    WHERE scope = ANY(CAST(:keys AS text[]))
    RETURNING scope, spent_tokens, spent_usd
    """
)
RENEW = text(
    "UPDATE executor.spend_reservations SET lease_until = clock_timestamp() + make_interval(secs => :lease) "
    "WHERE id = ANY(CAST(:ids AS text[]))"
)
FORGET_EXPIRED = text(
    "DELETE FROM executor.spend_reservations WHERE lease_until < clock_timestamp() - interval '1 hour'"
)
