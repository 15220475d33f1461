/**
 * Bytes on the wire per price tick: Switchboard's msgpack frames against the same frames as JSON
 * text (what Socket.IO and most hand-rolled WebSocket feeds send), alone and batched per flush.
 */
import { createCodec } from '../lib/wire/codec';
import type { ServerFrame, StateFrame } from '../lib/wire/protocol';
import { topics } from '../lib/wire/topics';
import type { Row } from './table';

const symbols = ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'META', 'NVDA', 'TSLA', 'NFLX', 'AMD', 'INTC', 'IBM', 'ORCL', 'JPM', 'V', 'KO', 'DIS', 'BRK.B', 'BTC-USD', 'ETH-USD', 'SOL-USD'];

function tick(i: number): StateFrame {
  const symbol = symbols[i % symbols.length]!;
  const price = Math.round((100 + Math.sin(i) * 20) * 100) / 100;
  return { t: 'state', topic: topics.prices(symbol), value: { symbol, price, prev: price - 0.13, at: 1_763_900_000_000 + i * 37 }, at: 1_763_900_000_000 + i * 37 };
}

export function wireSizeRows(): Row[] {
  const codec = createCodec();
  const rows: Row[] = [];
  for (const perFrame of [1, 5, 20]) {
    const frames = Array.from({ length: perFrame }, (_, i) => tick(i));
    const frame: ServerFrame = perFrame === 1 ? frames[0]! : { t: 'batch', frames };
    const msgpack = codec.encode(frame).byteLength;
    const json = new TextEncoder().encode(JSON.stringify(frame)).byteLength;
    rows.push({
      'ticks per frame': perFrame,
      'msgpack B/tick': msgpack / perFrame,
      'JSON B/tick': json / perFrame,
      'msgpack / JSON': `${Math.round((msgpack / json) * 100)}%`,
    });
  }
  return rows;
}
