/**
 * The quick checks for `event`, `batch` and successful `ack` frames and for the common notification agree with the protocol's schema: whatever it
 * accepts, the schema accepts and returns as the same value; whatever it turns down goes to the
 * schema (so an invalid frame still fails, with the schema's message).
 */
import { encode } from '@msgpack/msgpack';
import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import { createCodec } from '../../lib/wire/codec';
import { quickServerFrame } from '../../lib/wire/fast-frames';
import { MAX_BODY_LENGTH, MAX_TITLE_LENGTH, NotificationSchema, parseNotification, quickNotification } from '../../lib/wire/notifications';
import { ServerFrameSchema } from '../../lib/wire/protocol';

const event = { t: 'event', topic: 'feed:dev', epoch: 'e1', seq: 7, data: { title: 'hi', body: '', level: 'info' }, at: 1_763_900_000_000 };
const state = { t: 'state', topic: 'prices:AAPL', data: { symbol: 'AAPL', price: 1, prev: 1, at: 1 } };

/** One change at a time to a valid event frame: each is valid or not by the schema. */
const variants: Record<string, unknown> = {
  valid: event,
  'data undefined': { ...event, data: undefined },
  'data a scalar': { ...event, data: 3 },
  'seq 0': { ...event, seq: 0 },
  'topic at the limit': { ...event, topic: 'x'.repeat(80) },
  'topic over the limit': { ...event, topic: 'x'.repeat(81) },
  'epoch over the limit': { ...event, epoch: 'x'.repeat(65) },
  'epoch a number': { ...event, epoch: 1 },
  'seq negative': { ...event, seq: -1 },
  'seq fractional': { ...event, seq: 1.5 },
  'seq unsafe': { ...event, seq: 2 ** 53 },
  'seq a string': { ...event, seq: '7' },
  'at NaN': { ...event, at: Number.NaN },
  'at infinite': { ...event, at: Number.POSITIVE_INFINITY },
  'at missing': (({ at: _, ...rest }) => rest)(event),
  'data missing': (({ data: _, ...rest }) => rest)(event),
  'an extra key': { ...event, extra: 1 },
  'a wrong tag': { ...event, t: 'events' },
  'an array': [event],
  'null prototype': Object.assign(Object.create(null) as object, event),
};

function schemaSays(value: unknown) {
  const result = v.safeParse(ServerFrameSchema, value);
  return result.success ? { ok: true, output: result.output } : { ok: false };
}

describe('quickServerFrame', () => {
  test.each(Object.entries(variants))('an event frame with %s: accepted only where the schema returns it unchanged', (_, value) => {
    for (const frame of [value, { t: 'batch', frames: [event, value] }]) {
      const quick = typeof frame === 'object' && frame !== null ? quickServerFrame(frame) : undefined;
      if (quick === undefined) continue;
      const schema = schemaSays(frame);
      expect(schema.ok).toBe(true);
      expect(quick).toStrictEqual(schema.output);
    }
  });

  test('takes the valid event frame, a batch of them and an empty batch', () => {
    expect(quickServerFrame(event)).toBe(event);
    const batch = { t: 'batch', frames: [event, { ...event, seq: 8 }] };
    expect(quickServerFrame(batch)).toBe(batch);
    expect(quickServerFrame({ t: 'batch', frames: [] })).toBeDefined();
  });

  test('leaves to the schema what it does not know: a state frame, a batch with one, a batch with an extra key', () => {
    expect(quickServerFrame(state)).toBeUndefined();
    expect(quickServerFrame({ t: 'batch', frames: [event, state] })).toBeUndefined();
    expect(quickServerFrame({ t: 'batch', frames: [event], extra: 1 })).toBeUndefined();
    expect(quickServerFrame({ t: 'batch', frames: 'no' })).toBeUndefined();
  });

  const ack = { t: 'ack', id: 'm-1', ok: true };
  const acks: Record<string, unknown> = {
    valid: ack,
    'a result': { ...ack, result: { id: 'a1' } },
    'a null result': { ...ack, result: null },
    'id at the limit': { ...ack, id: 'x'.repeat(64) },
    'id over the limit': { ...ack, id: 'x'.repeat(65) },
    'id a number': { ...ack, id: 1 },
    'id missing': { t: 'ack', ok: true },
    'ok false': { ...ack, ok: false },
    'ok the string true': { ...ack, ok: 'true' },
    'an extra key': { ...ack, extra: 1 },
    'an extra key beside a result': { ...ack, result: 1, extra: 1 },
    'a failed ack': { t: 'ack', id: 'm-1', ok: false, error: { code: 'invalid', message: 'no' } },
    'null prototype': Object.assign(Object.create(null) as object, ack),
  };

  test.each(Object.entries(acks))('an ack with %s: accepted only where the schema returns it unchanged', (_, value) => {
    const quick = quickServerFrame(value as object);
    if (quick === undefined) return;
    const schema = schemaSays(value);
    expect(schema.ok).toBe(true);
    expect(quick).toStrictEqual(schema.output);
  });

  test('takes the common successful acks, with and without a result', () => {
    expect(quickServerFrame(ack)).toBe(ack);
    expect(quickServerFrame(acks['a result'] as object)).toBe(acks['a result']);
    expect(quickServerFrame(acks['id over the limit'] as object)).toBeUndefined();
    expect(quickServerFrame(acks['a failed ack'] as object)).toBeUndefined();
  });

  test.each(Object.entries(variants).filter(([, value]) => !schemaSays(value).ok))(
    'the codec still refuses a batch with an event frame with %s, naming the batch',
    (_, value) => {
      const decoded = createCodec().decodeServerFrame(encode({ t: 'batch', frames: [event, value] }));
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) expect(decoded.message).toMatch(/^Invalid batch frame: /);
    },
  );
});

const note = { title: 'hi', body: 'there', level: 'warning' };
const notes: Record<string, unknown> = {
  valid: note,
  'no level': { title: 'hi', body: '' },
  'level undefined': { ...note, level: undefined },
  'a wrong level': { ...note, level: 'urgent' },
  'an empty title': { ...note, title: '' },
  'a title at the limit': { ...note, title: 'x'.repeat(MAX_TITLE_LENGTH) },
  'a title over the limit': { ...note, title: 'x'.repeat(MAX_TITLE_LENGTH + 1) },
  'a body over the limit': { ...note, body: 'x'.repeat(MAX_BODY_LENGTH + 1) },
  'no body': { title: 'hi' },
  'a numeric title': { ...note, title: 1 },
  'a url': { ...note, url: 'https://example.com/' },
  'a bad url': { ...note, url: 'javascript:alert(1)' },
  'an extra key': { ...note, extra: 1 },
  'an array': [note],
  'null prototype': Object.assign(Object.create(null) as object, note),
  'a string': 'hi',
};

describe('quickNotification', () => {
  test.each(Object.entries(notes))('a notification with %s: taken only as the schema takes it, else left to the schema', (_, value) => {
    const quick = quickNotification(value);
    const schema = v.safeParse(NotificationSchema, value);
    if (quick !== undefined) {
      expect(schema.success).toBe(true);
      if (schema.success) expect(quick).toStrictEqual(schema.output);
    }
    const parsed = parseNotification(value);
    expect(parsed.ok).toBe(schema.success);
  });

  test('takes the common notification', () => {
    expect(quickNotification(note)).toStrictEqual(note);
    expect(quickNotification({ title: 'hi', body: '' })).toStrictEqual({ title: 'hi', body: '', level: 'info' });
  });
});
