/**
 * A scripted `fetch` for the hub's HTTP transports: every request waits, recorded, until the test
 * answers it (`respond`, `fail`), or is rejected when its signal aborts, as a real fetch is. SSE
 * bodies are streams the test writes to. Waits poll for the request, never sleep.
 */
import type { FetchLike } from '../../worker/core/transports/http-wire';
import { waitUntil } from './fake-socket';

export interface FakeRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  /** Set once the test answered or failed it, or its signal aborted. */
  settled: boolean;
  aborted: boolean;
  respond(response: Response): void;
  fail(error?: Error): void;
}

export interface FakeFetch {
  readonly fetch: FetchLike;
  readonly requests: FakeRequest[];
  /** The first unsettled request of `method` whose URL ends with `suffix`, once there is one. */
  next(method: string, suffix: string): Promise<FakeRequest>;
  /** Unsettled requests of `method` whose URL ends with `suffix`. */
  pending(method: string, suffix: string): FakeRequest[];
}

export function createFakeFetch(): FakeFetch {
  const requests: FakeRequest[] = [];
  const pending = (method: string, suffix: string) => requests.filter((r) => !r.settled && r.method === method && r.url.endsWith(suffix));
  const fetch: FetchLike = (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const request: FakeRequest = {
        url,
        method: init.method ?? 'GET',
        headers: { ...(init.headers as Record<string, string> | undefined) },
        body: typeof init.body === 'string' ? init.body : undefined,
        settled: false,
        aborted: false,
        respond(response) {
          if (request.settled) return;
          request.settled = true;
          resolve(response);
        },
        fail(error = new TypeError('fetch failed')) {
          if (request.settled) return;
          request.settled = true;
          reject(error);
        },
      };
      init.signal?.addEventListener('abort', () => {
        request.aborted = true;
        request.fail(new DOMException('aborted', 'AbortError'));
      });
      requests.push(request);
    });
  return {
    fetch,
    requests,
    pending,
    next: (method, suffix) => waitUntil(`a ${method} …${suffix}`, () => pending(method, suffix)[0]),
  };
}

export const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** An SSE response body the test writes to, chunk by chunk. */
export function sseResponse(): { readonly response: Response; write(text: string): void; end(): void; error(): void } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const encoder = new TextEncoder();
  return {
    response: new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
    write: (text) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
    /** The connection breaks mid-stream. */
    error: () => controller.error(new TypeError('terminated')),
  };
}
