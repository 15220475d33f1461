/**
 * The embedded alert store: its own SQLite file next to the event log's (`alerts.sqlite`), with
 * the same durability (WAL, `synchronous=FULL`: a commit is fsynced before its promise resolves).
 * A message's id, its ack and its effect are written in one IMMEDIATE transaction, which is what
 * makes a client message apply at most once across crashes and restarts.
 *
 * A separate file rather than tables in the event log's: the event log stays one interface that a
 * Redis Streams log can replace, and each file's `user_version` describes one schema.
 */
import type { AlertRule, AlertStatus, ServerAlert } from '../../lib/wire/alerts';
import { num, openSqliteFile, str, transaction, type Row } from '../common/sqlite';
import { DuplicateMessageError } from './store-errors';
import type { AckOutcome, AlertStore, SymbolPrice } from './store-types';
import type { HeldAlert } from './types';

/** Bumped when the schema changes; a file from a newer server is refused rather than misread. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (
  id          TEXT PRIMARY KEY,
  user        TEXT NOT NULL,
  rule        TEXT NOT NULL,
  status      TEXT NOT NULL,
  created_at  REAL NOT NULL,
  since       REAL NOT NULL,
  fired_at    REAL,
  fired_price REAL,
  fire_count  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS alerts_by_user ON alerts (user);
CREATE TABLE IF NOT EXISTS applied_messages (
  user TEXT NOT NULL,
  id   TEXT NOT NULL,
  at   REAL NOT NULL,
  ack  TEXT NOT NULL,
  PRIMARY KEY (user, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS applied_by_age ON applied_messages (at);
CREATE INDEX IF NOT EXISTS applied_by_user_age ON applied_messages (user, at);
CREATE TABLE IF NOT EXISTS symbol_prices (
  symbol TEXT PRIMARY KEY,
  price  REAL NOT NULL,
  at     REAL NOT NULL
) STRICT;
`;

const optionalNum = (row: Row, column: string): number | undefined => (row[column] === null ? undefined : num(row, column));

/** Written by this store from validated values; the file is not an input boundary. */
function toHeld(row: Row): HeldAlert {
  const firedAt = optionalNum(row, 'fired_at');
  const firedPrice = optionalNum(row, 'fired_price');
  const alert: ServerAlert = {
    id: str(row, 'id'),
    rule: JSON.parse(str(row, 'rule')) as AlertRule,
    status: str(row, 'status') as AlertStatus,
    createdAt: num(row, 'created_at'),
    ...(firedAt === undefined ? {} : { firedAt }),
    ...(firedPrice === undefined ? {} : { firedPrice }),
    fireCount: num(row, 'fire_count'),
  };
  return { user: str(row, 'user'), alert, since: num(row, 'since') };
}

/** Opens (creating if needed) the store in `path`. */
export async function openSqliteAlertStore(options: { readonly path: string }): Promise<AlertStore> {
  const db = openSqliteFile(options.path, SCHEMA, SCHEMA_VERSION);

  const q = {
    alerts: db.prepare('SELECT * FROM alerts'),
    prices: db.prepare('SELECT symbol, price, at FROM symbol_prices'),
    findAck: db.prepare('SELECT ack FROM applied_messages WHERE user = ? AND id = ?'),
    record: db.prepare('INSERT INTO applied_messages (user, id, at, ack) VALUES (?, ?, ?, ?)'),
    // Keeps the message just recorded and the newest `perUser - 1` others of its user.
    evict: db.prepare(
      'DELETE FROM applied_messages WHERE user = ?1 AND id IN ' +
        '(SELECT id FROM applied_messages WHERE user = ?1 AND id <> ?2 ORDER BY at DESC LIMIT -1 OFFSET ?3)',
    ),
    upsert: db.prepare(
      'INSERT INTO alerts (id, user, rule, status, created_at, since, fired_at, fired_price, fire_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (id) DO UPDATE SET user = excluded.user, rule = excluded.rule, status = excluded.status, created_at = excluded.created_at, ' +
        'since = excluded.since, fired_at = excluded.fired_at, fired_price = excluded.fired_price, fire_count = excluded.fire_count',
    ),
    delete: db.prepare('DELETE FROM alerts WHERE id = ?'),
    saveState: db.prepare('UPDATE alerts SET status = ?, fired_at = ?, fired_price = ?, fire_count = ? WHERE id = ?'),
    savePrice: db.prepare(
      'INSERT INTO symbol_prices (symbol, price, at) VALUES (?, ?, ?) ON CONFLICT (symbol) DO UPDATE SET price = excluded.price, at = excluded.at',
    ),
    trim: db.prepare('DELETE FROM applied_messages WHERE at < ?'),
  };
  let closed = false;

  function open(): void {
    if (closed) throw new Error('The alert store is closed');
  }

  return {
    kind: 'sqlite',
    async load() {
      open();
      return {
        alerts: q.alerts.all().map(toHeld),
        prices: q.prices.all().map((row): SymbolPrice => ({ symbol: str(row, 'symbol'), price: num(row, 'price'), at: num(row, 'at') })),
      };
    },
    async findAck(user, messageId) {
      open();
      const row = q.findAck.get(user, messageId);
      return row ? (JSON.parse(str(row, 'ack')) as AckOutcome) : undefined;
    },
    async apply({ user, messageId, at, ack, effect }, limits) {
      open();
      transaction(db, () => {
        // Inside the IMMEDIATE transaction, so no other writer can record the id between the two.
        if (q.findAck.get(user, messageId)) throw new DuplicateMessageError(user, messageId);
        q.record.run(user, messageId, at, JSON.stringify(ack));
        q.evict.run(user, messageId, Math.max(1, limits.perUser) - 1);
        if (effect?.type === 'delete') q.delete.run(effect.alertId);
        if (effect?.type === 'put') {
          const { user: owner, alert, since } = effect.held;
          q.upsert.run(
            alert.id,
            owner,
            JSON.stringify(alert.rule),
            alert.status,
            alert.createdAt,
            since,
            alert.firedAt ?? null,
            alert.firedPrice ?? null,
            alert.fireCount,
          );
        }
      });
    },
    async saveStates(alerts) {
      open();
      if (alerts.length === 0) return;
      transaction(db, () => {
        for (const a of alerts) q.saveState.run(a.status, a.firedAt ?? null, a.firedPrice ?? null, a.fireCount, a.id);
      });
    },
    async savePrices(prices) {
      open();
      if (prices.length === 0) return;
      transaction(db, () => {
        for (const p of prices) q.savePrice.run(p.symbol, p.price, p.at);
      });
    },
    async trimApplied(before) {
      open();
      return Number(q.trim.run(before).changes);
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
