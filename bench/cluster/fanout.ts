/**
 * Stream fan-out over one or several nodes of one service: CLIENTS signed-in clients hold `news`,
 * client i on node i mod n, while EVENTS events are published over HTTP at RATE a second, event k
 * on node k mod n (so on several nodes most events reach most clients through Redis). The clients
 * are `bench/peers/systems.ts`'s, as in the single-server stream bench.
 *
 * Measured by `../peers/fanout-measure.ts` after WARMUP events every client got: publish → receive
 * latency; delivered events a second; the CPU time of every process serving (the nodes and Redis)
 * per delivered event; events lost; events out of order or twice (the log's `seq` is one sequence
 * per topic across all nodes).
 */
import { measureFanout, NEWS_BODY, type FanoutOutcome } from '../peers/fanout-measure';
import { cpuMs } from '../peers/proc';
import type { BenchServer } from '../peers/systems';

export const CLIENTS = Number(process.env.CLUSTER_BENCH_CLIENTS ?? 300);
export const RATE = 100;
export const EVENTS = Number(process.env.CLUSTER_BENCH_EVENTS ?? 300);
const WARMUP = 20;

export type { FanoutOutcome } from '../peers/fanout-measure';

/** `nodes` serve the clients; `pids` are every process whose CPU time counts (the nodes, and Redis). */
export function measureNodesFanout(label: string, nodes: readonly BenchServer[], pids: readonly number[], tokens: readonly string[]): Promise<FanoutOutcome> {
  return measureFanout({
    label: `fan-out ${label}`,
    clients: CLIENTS,
    events: EVENTS,
    rate: RATE,
    warmup: WARMUP,
    connect: (i, on) => nodes[i % nodes.length]!.client(tokens[i]!, ['news'], on),
    publish: (k, title) => nodes[k % nodes.length]!.publishNews(title, NEWS_BODY),
    cpuMs: () => pids.reduce((sum, pid) => sum + cpuMs(pid), 0),
  });
}
