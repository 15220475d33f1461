/**
 * Stream fan-out over one or several nodes of one service: CLIENTS signed-in clients hold `news`,
 * client i on node i mod n, while EVENTS events are published over HTTP at RATE a second, event k
 * on node k mod n (so on several nodes most events reach most clients through Redis). The clients
 * are `bench/peers/systems.ts`'s, as in the single-server stream bench.
 *
 * Measured after WARMUP events every client got: publish → receive latency (the publisher's clock
 * when it sends the request to the client's when the event arrives: one process, one clock);
 * delivered events a second from the first publish to the last delivery; the CPU time of every
 * process serving (the nodes and Redis) per delivered event; events lost; events out of order or
 * twice (by the log's `seq`, which is one sequence per topic across all nodes, and the publisher's
 * numbering).
 */
import { paced, settle } from '../pacing';
import { cpuMs } from '../peers/proc';
import { openClients, type BenchClient, type BenchServer } from '../peers/systems';
import { percentile } from '../stats';

export const CLIENTS = Number(process.env.CLUSTER_BENCH_CLIENTS ?? 300);
export const RATE = 100;
export const EVENTS = Number(process.env.CLUSTER_BENCH_EVENTS ?? 300);
const WARMUP = 20;
/** A news item of a typical size, the same as the single-server stream bench's. */
export const BODY = 'Markets moved on the news. '.repeat(7);

export interface FanoutOutcome {
  readonly delivered: number;
  /** Delivered events a second, from the first publish until the last delivery. */
  readonly perSecond: number;
  /** CPU time of the nodes and Redis together, user + system, ms. */
  readonly cpuMs: number;
  /** Events of accepted publishes that some client never got. */
  readonly lost: number;
  /** Publishes a node answered with an error (their events were never accepted). */
  readonly failed: number;
  readonly disorder: number;
  readonly p50: number;
  readonly p99: number;
}

/** `nodes` serve the clients; `pids` are every process whose CPU time counts (the nodes, and Redis). */
export async function measureFanout(label: string, nodes: readonly BenchServer[], pids: readonly number[], tokens: readonly string[]): Promise<FanoutOutcome> {
  const clients: BenchClient[] = [];
  try {
    const lastSeq = new Int32Array(CLIENTS);
    const warm = new Int32Array(CLIENTS);
    const latency = new Float64Array(CLIENTS * EVENTS).fill(Number.NaN);
    const sentAt = new Float64Array(EVENTS).fill(Number.NaN);
    let delivered = 0;
    let lastDeliveryAt = 0;
    let disorder = 0;
    let dropped = 0;
    let failed = 0;
    let firstFailure = '';
    const publishFailed = (error: unknown): void => {
      failed++;
      firstFailure ||= error instanceof Error ? error.message : String(error);
    };
    const publish = (k: number, title: string): void => void nodes[k % nodes.length]!.publishNews(title, BODY).catch(publishFailed);
    clients.push(
      ...(await openClients(CLIENTS, (i) =>
        nodes[i % nodes.length]!.client(tokens[i]!, ['news'], {
          event(seq, title) {
            const now = performance.now();
            if (lastSeq[i] !== 0 && seq !== lastSeq[i]! + 1) disorder++;
            lastSeq[i] = seq;
            if (title[0] === 'w') return void warm[i]!++;
            const slot = i * EVENTS + Number(title.slice(1));
            if (!Number.isNaN(latency[slot]!)) return void disorder++;
            latency[slot] = now - sentAt[slot % EVENTS]!;
            delivered++;
            lastDeliveryAt = now;
          },
          state() {},
          lost: () => void dropped++,
        }),
      )),
    );
    await paced(WARMUP, RATE, (k) => publish(k, `w${k}`));
    const warmed = await settle(() => warm.every((n) => n === WARMUP), () => warm.reduce((a, b) => a + b, 0), 5_000, 30_000);
    if (!warmed) throw new Error(`${label}: not every client got the warm-up events`);

    const cpu = () => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
    const cpuBefore = cpu();
    const started = performance.now();
    await paced(EVENTS, RATE, (k) => {
      sentAt[k] = performance.now();
      publish(k, `m${k}`);
    });
    await settle(() => delivered === CLIENTS * EVENTS, () => delivered, 3_000, 30_000);
    const cpuUsed = cpu() - cpuBefore;
    const elapsedMs = lastDeliveryAt - started;
    process.stderr.write(
      `  fan-out ${label}: ${delivered} delivered in ${Math.round(elapsedMs)} ms, ${cpuUsed} ms CPU, ${dropped} connections lost, ${failed} publishes failed${firstFailure ? ` (first: ${firstFailure})` : ''}\n`,
    );
    return {
      delivered,
      perSecond: elapsedMs > 0 ? (delivered * 1000) / elapsedMs : Number.NaN,
      cpuMs: cpuUsed,
      lost: (EVENTS - failed) * CLIENTS - delivered,
      failed,
      disorder,
      p50: percentile(latency, 50),
      p99: percentile(latency, 99),
    };
  } finally {
    for (const client of clients) client.close();
  }
}
