import PostgresNIO

/// The fleet database's schema, as numbered migrations applied under an advisory
/// lock (several sidecars starting at once migrate exactly once). Never edit a
/// shipped migration: add one.
///
/// Accounting is done by SQL functions so that each ledger operation is ONE
/// statement from the client (one round trip, atomic): `sb_reserve` locks every
/// account the request touches in one global order (scope, window, period) —
/// so two sidecars can never deadlock and no interleaving can see a half-applied
/// reservation — checks `spent + reserved + amount <= hard` on every locked row,
/// and only then adds the amount to all of them and records the reservation.
/// `sb_settle`, `sb_release` and `sb_reap` take the reservation row first, then
/// the accounts in the same order.
enum FleetSchema {
  /// The advisory lock key migrations run under ("sb-fleet").
  static let migrationLock: Int64 = 0x7362_2d66_6c65_6574

  /// Migrations, in order; index + 1 is the version.
  static let migrations: [[PostgresQuery]] = [
    [
      """
      CREATE TABLE sb_budget_account (
        scope text NOT NULL,
        win text NOT NULL,
        period text NOT NULL,
        spent bigint NOT NULL DEFAULT 0,
        reserved bigint NOT NULL DEFAULT 0,
        hard_cap bigint,
        soft_cap bigint,
        updated_ms bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (scope, win, period)
      )
      """,
      """
      CREATE TABLE sb_budget_reservation (
        id bigserial PRIMARY KEY,
        request_id text NOT NULL,
        sidecar_id text NOT NULL,
        amount bigint NOT NULL,
        scopes text[] NOT NULL,
        wins text[] NOT NULL,
        periods text[] NOT NULL,
        status text NOT NULL DEFAULT 'open',
        charged bigint,
        created_ms bigint NOT NULL,
        lease_expires_ms bigint NOT NULL,
        closed_ms bigint
      )
      """,
      "CREATE INDEX sb_budget_reservation_open ON sb_budget_reservation (lease_expires_ms) WHERE status = 'open'",
      "CREATE INDEX sb_budget_reservation_sidecar ON sb_budget_reservation (sidecar_id) WHERE status = 'open'",
      """
      CREATE TABLE sb_budget_charge (
        charge_key text PRIMARY KEY,
        sidecar_id text NOT NULL,
        request_id text NOT NULL,
        amount bigint NOT NULL,
        scopes text[] NOT NULL,
        wins text[] NOT NULL,
        periods text[] NOT NULL,
        ts_ms bigint NOT NULL
      )
      """,
      """
      CREATE FUNCTION sb_lock_accounts(p_scopes text[], p_wins text[], p_periods text[]) RETURNS void
      LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO sb_budget_account (scope, win, period)
          SELECT * FROM unnest(p_scopes, p_wins, p_periods) ON CONFLICT DO NOTHING;
        -- One global lock order: no deadlock between sidecars touching overlapping caps.
        PERFORM 1 FROM sb_budget_account b
          WHERE (b.scope, b.win, b.period) IN (SELECT * FROM unnest(p_scopes, p_wins, p_periods))
          ORDER BY b.scope, b.win, b.period FOR UPDATE;
      END $$
      """,
      """
      CREATE FUNCTION sb_reserve(p_request text, p_sidecar text, p_amount bigint,
          p_scopes text[], p_wins text[], p_periods text[], p_hard bigint[], p_soft bigint[],
          p_now bigint, p_lease bigint,
          OUT reservation_id bigint, OUT denied integer, OUT remaining bigint, OUT soft_exceeded text[])
      LANGUAGE plpgsql AS $$
      DECLARE
        i integer;
        a record;
        n integer := coalesce(array_length(p_scopes, 1), 0);
      BEGIN
        reservation_id := NULL; denied := 0; remaining := 0; soft_exceeded := '{}';
        PERFORM sb_lock_accounts(p_scopes, p_wins, p_periods);
        -- Every row is locked: these reads are the latest committed values and stay so.
        FOR i IN 1..n LOOP
          SELECT spent, reserved INTO a FROM sb_budget_account
            WHERE scope = p_scopes[i] AND win = p_wins[i] AND period = p_periods[i];
          IF p_hard[i] >= 0 AND a.spent + a.reserved + p_amount > p_hard[i] THEN
            denied := i; remaining := greatest(0, p_hard[i] - a.spent - a.reserved);
            RETURN;
          END IF;
        END LOOP;
        UPDATE sb_budget_account b SET reserved = b.reserved + p_amount,
            hard_cap = CASE WHEN u.h >= 0 THEN u.h END, soft_cap = CASE WHEN u.s >= 0 THEN u.s END, updated_ms = p_now
          FROM unnest(p_scopes, p_wins, p_periods, p_hard, p_soft) AS u(sc, w, p, h, s)
          WHERE b.scope = u.sc AND b.win = u.w AND b.period = u.p;
        SELECT coalesce(array_agg(b.scope), '{}') INTO soft_exceeded FROM sb_budget_account b
          JOIN unnest(p_scopes, p_wins, p_periods, p_soft) AS u(sc, w, p, s)
            ON b.scope = u.sc AND b.win = u.w AND b.period = u.p
          WHERE u.s >= 0 AND b.spent + b.reserved > u.s;
        INSERT INTO sb_budget_reservation (request_id, sidecar_id, amount, scopes, wins, periods, created_ms, lease_expires_ms)
          VALUES (p_request, p_sidecar, p_amount, p_scopes, p_wins, p_periods, p_now, p_now + p_lease)
          RETURNING id INTO reservation_id;
      END $$
      """,
      """
      CREATE FUNCTION sb_settle(p_id bigint, p_actual bigint, p_periods text[], p_now bigint,
          OUT applied boolean, OUT over_cap text[])
      LANGUAGE plpgsql AS $$
      DECLARE
        r record;
      BEGIN
        applied := false; over_cap := '{}';
        SELECT * INTO r FROM sb_budget_reservation WHERE id = p_id FOR UPDATE;
        -- Settled or released already (a retried settle): nothing twice.
        IF NOT FOUND OR r.status IN ('settled', 'released') THEN RETURN; END IF;
        applied := true;
        PERFORM sb_lock_accounts(r.scopes || r.scopes, r.wins || r.wins, r.periods || p_periods);
        -- An expired lease already gave the reservation back; the spend still counts.
        IF r.status = 'open' THEN
          UPDATE sb_budget_account b SET reserved = greatest(0, b.reserved - r.amount)
            FROM unnest(r.scopes, r.wins, r.periods) AS u(sc, w, p)
            WHERE b.scope = u.sc AND b.win = u.w AND b.period = u.p;
        END IF;
        IF p_actual > 0 THEN
          UPDATE sb_budget_account b SET spent = b.spent + p_actual, updated_ms = p_now
            FROM unnest(r.scopes, r.wins, p_periods) AS u(sc, w, p)
            WHERE b.scope = u.sc AND b.win = u.w AND b.period = u.p;
          IF p_actual > r.amount THEN
            SELECT coalesce(array_agg(b.scope || '@' || b.win), '{}') INTO over_cap FROM sb_budget_account b
              JOIN unnest(r.scopes, r.wins, p_periods) AS u(sc, w, p) ON b.scope = u.sc AND b.win = u.w AND b.period = u.p
              WHERE b.hard_cap IS NOT NULL AND b.spent > b.hard_cap;
          END IF;
        END IF;
        UPDATE sb_budget_reservation SET status = 'settled', charged = p_actual, closed_ms = p_now WHERE id = p_id;
      END $$
      """,
      """
      CREATE FUNCTION sb_release(p_id bigint, p_now bigint) RETURNS boolean
      LANGUAGE plpgsql AS $$
      DECLARE
        r record;
      BEGIN
        SELECT * INTO r FROM sb_budget_reservation WHERE id = p_id FOR UPDATE;
        IF NOT FOUND OR r.status <> 'open' THEN RETURN false; END IF;
        PERFORM sb_lock_accounts(r.scopes, r.wins, r.periods);
        UPDATE sb_budget_account b SET reserved = greatest(0, b.reserved - r.amount)
          FROM unnest(r.scopes, r.wins, r.periods) AS u(sc, w, p)
          WHERE b.scope = u.sc AND b.win = u.w AND b.period = u.p;
        UPDATE sb_budget_reservation SET status = 'released', charged = 0, closed_ms = p_now WHERE id = p_id;
        RETURN true;
      END $$
      """,
      """
      CREATE FUNCTION sb_reap(p_now bigint, p_limit integer, OUT released integer, OUT amount bigint)
      LANGUAGE plpgsql AS $$
      DECLARE
        ids bigint[];
        r record;
      BEGIN
        released := 0; amount := 0;
        -- Expired leases, skipping rows another sidecar is settling or reaping right now.
        SELECT coalesce(array_agg(id), '{}') INTO ids FROM (
          SELECT id FROM sb_budget_reservation WHERE status = 'open' AND lease_expires_ms < p_now
            ORDER BY id LIMIT p_limit FOR UPDATE SKIP LOCKED) s;
        IF array_length(ids, 1) IS NULL THEN RETURN; END IF;
        -- All their accounts at once, in the global order.
        PERFORM 1 FROM sb_budget_account b WHERE (b.scope, b.win, b.period) IN (
            SELECT u.sc, u.w, u.p FROM sb_budget_reservation x, unnest(x.scopes, x.wins, x.periods) AS u(sc, w, p)
            WHERE x.id = ANY(ids))
          ORDER BY b.scope, b.win, b.period FOR UPDATE;
        FOR r IN SELECT * FROM sb_budget_reservation WHERE id = ANY(ids) LOOP
          UPDATE sb_budget_account b SET reserved = greatest(0, b.reserved - r.amount)
            FROM unnest(r.scopes, r.wins, r.periods) AS u(sc, w, p)
            WHERE b.scope = u.sc AND b.win = u.w AND b.period = u.p;
          released := released + 1; amount := amount + r.amount;
        END LOOP;
        UPDATE sb_budget_reservation SET status = 'expired', closed_ms = p_now WHERE id = ANY(ids);
      END $$
      """,
      """
      CREATE FUNCTION sb_charge(p_key text, p_sidecar text, p_request text, p_amount bigint,
          p_scopes text[], p_wins text[], p_periods text[], p_now bigint) RETURNS boolean
      LANGUAGE plpgsql AS $$
      BEGIN
        -- Spend made without the shared ledger (local fallback), pushed once: the key makes a retry a no-op.
        INSERT INTO sb_budget_charge (charge_key, sidecar_id, request_id, amount, scopes, wins, periods, ts_ms)
          VALUES (p_key, p_sidecar, p_request, p_amount, p_scopes, p_wins, p_periods, p_now)
          ON CONFLICT (charge_key) DO NOTHING;
        IF NOT FOUND THEN RETURN false; END IF;
        PERFORM sb_lock_accounts(p_scopes, p_wins, p_periods);
        UPDATE sb_budget_account b SET spent = b.spent + p_amount, updated_ms = p_now
          FROM unnest(p_scopes, p_wins, p_periods) AS u(sc, w, p)
          WHERE b.scope = u.sc AND b.win = u.w AND b.period = u.p;
        RETURN true;
      END $$
      """,
    ],
    // v2: shared health — one row per circuit (provider, model, key fingerprint).
    [
      """
      CREATE TABLE sb_circuit (
        provider text NOT NULL,
        model text NOT NULL,
        key_fp text NOT NULL,
        state text NOT NULL DEFAULT 'closed',
        open_until_ms bigint NOT NULL DEFAULT 0,
        cooldown_ms bigint NOT NULL DEFAULT 0,
        openings integer NOT NULL DEFAULT 0,
        not_before_ms bigint,
        probe_holder text,
        probe_expires_ms bigint,
        updated_ms bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (provider, model, key_fp)
      )
      """,
    ],
  ]
}
