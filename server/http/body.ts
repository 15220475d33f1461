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

/** `tooLarge`: refused for its size (HTTP 413), not its content. */
export type BodyResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string; readonly tooLarge?: true };

/**
 * Keeps the connection for another request only if this request's body is read to its end. Node
 * otherwise reads an unread body to the end after answering, to reuse the connection: any peer
 * could make the server take in megabytes for a 401 or a 404. Closing instead bounds what it reads
 * to what arrived before the answer.
 */
export function closeUnlessBodyRead(req: IncomingMessage, res: ServerResponse): void {
  const declared = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (declared === undefined || Number(declared) === 0)) return;
  const keepAlive = res.shouldKeepAlive;
  res.shouldKeepAlive = false;
  req.once('end', () => {
    if (!res.headersSent) res.shouldKeepAlive = keepAlive;
  });
}

/** Reads and parses a JSON body of at most `maxBytes`; over that, stops reading (see `closeUnlessBodyRead`). */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      resolve({ ok: false, error: `Body of ${declared} bytes exceeds the limit of ${maxBytes}`, tooLarge: true });
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
        req.pause();
        resolve({ ok: false, error: `Body exceeds the limit of ${maxBytes} bytes`, tooLarge: true });
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
