/**
 * Reading what the Redis log's scripts return and what its change channel carries. Entries and
 * replies were written by this log's own scripts from validated data, but Redis is shared: a reply
 * of the wrong shape fails its call with an error naming what was wrong, and a message on the
 * channel that is not a change this log publishes is ignored (`parseChange` gives `undefined`),
 * never a crash.
 */
import type { NotificationData } from '../../lib/wire/notifications';
import type { LogChange, StoredEvent } from './types';

/** A script's reply, which is always an array. */
export function replyTuple(reply: unknown): readonly unknown[] {
  if (!Array.isArray(reply)) throw new Error(`Unexpected reply from a Redis log script: ${String(reply).slice(0, 100)}`);
  return reply;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Stream entries `[id "<seq>-0", [field, value, …]]` with fields `at` and `data`, as events of `topic` in `epoch`. */
export function decodeEntries(topic: string, epoch: string, entries: unknown): StoredEvent[] {
  return replyTuple(entries).map((entry): StoredEvent => {
    const [id, fields] = replyTuple(entry);
    const seq = Number.parseInt(String(id), 10);
    const values = replyTuple(fields);
    let at: number | undefined;
    let data: unknown;
    for (let i = 0; i + 1 < values.length; i += 2) {
      if (values[i] === 'at') at = Number(values[i + 1]);
      else if (values[i] === 'data') data = JSON.parse(String(values[i + 1]));
    }
    if (!isSeq(seq) || at === undefined || !Number.isFinite(at) || !isPlainObject(data)) {
      throw new Error(`Malformed entry ${String(id)} in the Redis log of ${topic}`);
    }
    return { topic, epoch, seq, at, data: data as NotificationData };
  });
}

/** A message of the change channel: `{"type":"event",topic,epoch,seq,at,data}` or `{"type":"reset",topic,epoch}`. */
export function parseChange(message: string): LogChange | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!isPlainObject(value) || typeof value.topic !== 'string' || typeof value.epoch !== 'string') return undefined;
  const { topic, epoch } = value;
  if (value.type === 'reset') return { type: 'reset', topic, epoch };
  if (value.type !== 'event' || !isSeq(value.seq) || value.seq < 1 || typeof value.at !== 'number' || !isPlainObject(value.data)) return undefined;
  return { type: 'event', event: { topic, epoch, seq: value.seq, at: value.at, data: value.data as NotificationData } };
}
