/**
 * Reading small JSON request bodies safely: a byte cap enforced while streaming (a lying or missing
 * Content-Length cannot get past it) and parse failures returned as readable reasons. Any
 * Content-Type is read as JSON, so a plain `curl -d '{...}'` works.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A route's handler; a rejection is answered 500 by the router. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
/** Path → method → handler. */
export type Routes = Readonly<Record<string, Readonly<Record<string, Handler>>>>;

export type BodyResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** Reads and parses a JSON body of at most `maxBytes`. */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      resolve({ ok: false, error: `Body of ${declared} bytes exceeds the limit of ${maxBytes}` });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        done = true;
        resolve({ ok: false, error: `Body exceeds the limit of ${maxBytes} bytes` });
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      if (!done) resolve({ ok: false, error: 'Request body could not be read' });
      done = true;
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      try {
        resolve({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch (error) {
        resolve({ ok: false, error: `Body is not valid JSON: ${error instanceof Error ? error.message : String(error)}` });
      }
    });
  });
}

/** Sends a JSON response; `no-store` because admin answers must never be cached. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
