/**
 * The one measurement of a stream fan-out, shared by the benches that print one
 * (`../server-streams.ts`, `../cluster/fanout.ts`, `../transports.ts`): `clients` clients hold
 * `news`; `warmup` events go out first and every client must get them all; then `events` events are
 * published at `rate` a second, and the run ends once every client has every event (or deliveries
 * stop for a while).
 *
 * Measured from the first measured publish: publish → receive latency (the publisher's clock when
 * it sends the request to the client's when the event arrives: one process, one clock) as p50 and
 * p99; delivered events a second until the last delivery; the CPU time of every serving process;
 * events lost (of the publishes the server accepted); events out of order or twice (by the
 * server's `seq` and the publisher's numbering); and any extra counter the caller reads before and
 * after (bytes on the wire).
 */
import { paced, settle } from '../pacing';
import { percentile } from '../stats';
import { openClients, type BenchClient, type ClientHandlers } from './systems';

/** A news item of a typical size, the body of every event the stream benches publish. */
export const NEWS_BODY = 'Markets moved on the news. '.repeat(7);

export interface FanoutSpec {
  /** Names the run in the progress line and in errors. */
  readonly label: string;
  readonly clients: number;
  readonly events: number;
  /** Publishes a second. */
  readonly rate: number;
  readonly warmup: number;
  /** Opens client `i`, handing it `on` for what arrives. */
  connect(i: number, on: ClientHandlers): Promise<BenchClient>;
  /** Publishes event `k` (of its phase) titled `title`; rejects when the server refused it. */
  publish(k: number, title: string): Promise<unknown>;
  /** CPU ms used so far by every process that serves (user + system). */
  cpuMs(): number;
  /** Further figures read before and after the measured window; the outcome has after − before. */
  readonly counters?: Readonly<Record<string, () => number>>;
}

export interface FanoutOutcome {
  readonly delivered: number;
  /** Delivered events a second, from the first measured publish until the last delivery. */
  readonly perSecond: number;
  readonly cpuMs: number;
  /** Events of accepted publishes that some client never got. */
  readonly lost: number;
  /** Measured publishes the server answered with an error (their events were never accepted). */
  readonly failed: number;
  readonly disorder: number;
  readonly p50: number;
  readonly p99: number;
  /** `counters`, after − before. */
  readonly counted: Readonly<Record<string, number>>;
}

export async function measureFanout(spec: FanoutSpec): Promise<FanoutOutcome> {
  const { clients: count, events } = spec;
  const clients: BenchClient[] = [];
  try {
    const lastSeq = new Int32Array(count);
    const warm = new Int32Array(count);
    const latency = new Float64Array(count * events).fill(Number.NaN);
    const sentAt = new Float64Array(events).fill(Number.NaN);
    let delivered = 0;
    let lastDeliveryAt = 0;
    let disorder = 0;
    let dropped = 0;
    let failed = 0;
    let firstFailure = '';
    const failure = (measured: boolean) => (error: unknown): void => {
      if (measured) failed++;
      firstFailure ||= error instanceof Error ? error.message : String(error);
    };
    clients.push(
      ...(await openClients(count, (i) =>
        spec.connect(i, {
          event(seq, title) {
            const now = performance.now();
            if (lastSeq[i] !== 0 && seq !== lastSeq[i]! + 1) disorder++;
            lastSeq[i] = seq;
            if (title[0] === 'w') return void warm[i]!++;
            const slot = i * events + Number(title.slice(1));
            if (!Number.isNaN(latency[slot]!)) return void disorder++;
            latency[slot] = now - sentAt[slot % events]!;
            delivered++;
            lastDeliveryAt = now;
          },
          state() {},
          lost: () => void dropped++,
        }),
      )),
    );
    await paced(spec.warmup, spec.rate, (k) => void spec.publish(k, `w${k}`).catch(failure(false)));
    const warmed = await settle(() => warm.every((n) => n === spec.warmup), () => warm.reduce((a, b) => a + b, 0), 5_000, 30_000);
    if (!warmed) throw new Error(`${spec.label}: not every client got the warm-up events${firstFailure ? ` (a publish failed: ${firstFailure})` : ''}`);

    const counters = Object.entries(spec.counters ?? {});
    const before = counters.map(([, read]) => read());
    const cpuBefore = spec.cpuMs();
    const started = performance.now();
    await paced(events, spec.rate, (k) => {
      sentAt[k] = performance.now();
      void spec.publish(k, `m${k}`).catch(failure(true));
    });
    await settle(() => delivered === count * events, () => delivered, 3_000, 30_000);
    const cpuUsed = spec.cpuMs() - cpuBefore;
    const counted = Object.fromEntries(counters.map(([name, read], j) => [name, read() - before[j]!]));
    const elapsedMs = lastDeliveryAt - started;
    const extra = counters.map(([name]) => `, ${counted[name]} ${name}`).join('');
    process.stderr.write(
      `  ${spec.label}: ${delivered} delivered in ${Math.round(elapsedMs)} ms, ${cpuUsed} ms CPU${extra}, ${dropped} connections lost, ${failed} publishes failed${firstFailure ? ` (first: ${firstFailure})` : ''}\n`,
    );
    return {
      delivered,
      perSecond: elapsedMs > 0 ? (delivered * 1000) / elapsedMs : Number.NaN,
      cpuMs: cpuUsed,
      lost: (events - failed) * count - delivered,
      failed,
      disorder,
      p50: percentile(latency, 50),
      p99: percentile(latency, 99),
      counted,
    };
  } finally {
    for (const client of clients) client.close();
  }
}
