/**
 * The handshake. The rule is a decision (`decideHandshake`): given the first frame a client sent,
 * either the user to welcome or the refusal (error frame, close code, metric reason). The version
 * is checked before the token, so an old client learns it must upgrade. The step
 * (`createHandshake`) carries it out for one client: the timeout for `hello`, the refusal, or
 * handing the user over to open a session, which then sends `welcomeFrame`.
 */
import { CloseCode } from '../../lib/wire/close-codes';
import type { DecodeResult } from '../../lib/wire/codec';
import { PROTOCOL_VERSION, type ClientFrame, type FrameOf, type ServerFrame } from '../../lib/wire/protocol';
import type { TokenVerifier } from '../auth/checks';
import type { Metrics, RefusalReason } from '../metrics';
import type { ServerOptions } from '../options';
import { errorFrame, type Outbound } from './outbound';

export interface Refusal {
  readonly error: FrameOf<ServerFrame, 'error'>;
  readonly closeCode: number;
  /** Close reason sent in the close frame (at most 123 bytes by RFC 6455 §5.5). */
  readonly closeReason: string;
  readonly metric: RefusalReason;
}

export type HandshakeOutcome =
  | { readonly ok: true; readonly user: string; readonly expiresAt?: number }
  | ({ readonly ok: false } & Refusal);

/** Decides the fate of a client from its first valid frame. */
export async function decideHandshake(frame: ClientFrame, verifyToken: TokenVerifier): Promise<HandshakeOutcome> {
  if (frame.t !== 'hello') {
    return {
      ok: false,
      error: { t: 'error', code: 'not-ready', message: `Expected hello as the first frame, got ${frame.t}` },
      closeCode: CloseCode.badFrame,
      closeReason: 'hello expected',
      metric: 'not-ready',
    };
  }
  if (frame.v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      error: {
        t: 'error',
        code: 'unsupported-version',
        message: `Protocol version ${frame.v} is not supported: this server speaks version ${PROTOCOL_VERSION}`,
      },
      closeCode: CloseCode.unsupportedVersion,
      closeReason: 'unsupported protocol version',
      metric: 'version',
    };
  }
  const check = await verifyToken(frame.token);
  if (!check.ok) {
    return {
      ok: false,
      error: { t: 'error', code: 'unauthorized', message: check.reason },
      ...(check.expired
        ? { closeCode: CloseCode.tokenExpired, closeReason: 'access token expired', metric: 'expired' as const }
        : { closeCode: CloseCode.unauthorized, closeReason: 'access token refused', metric: 'unauthorized' as const }),
    };
  }
  return check.expiresAt === undefined ? { ok: true, user: check.user } : { ok: true, user: check.user, expiresAt: check.expiresAt };
}

/** The `welcome` that opens a session: what the client needs to know about this server and its token. */
export function welcomeFrame(
  session: { readonly id: string; readonly user: string },
  expiresAt: number | undefined,
  options: Pick<ServerOptions, 'heartbeatMs' | 'maxFrameBytes' | 'now'>,
): FrameOf<ServerFrame, 'welcome'> {
  return {
    t: 'welcome',
    v: PROTOCOL_VERSION,
    session: session.id,
    user: session.user,
    heartbeatMs: options.heartbeatMs,
    serverTime: options.now(),
    maxFrameBytes: options.maxFrameBytes,
    ...(expiresAt === undefined ? {} : { tokenExpiresAt: expiresAt }),
  };
}

export interface Handshake {
  /** Handles a frame that arrived before the welcome; a promise while the token is checked. */
  onFrame(decoded: DecodeResult<ClientFrame>): void | Promise<void>;
  /** Stops waiting (the user was let in, or the client is closing); a check still running is then ignored. */
  stop(): void;
}

/** The client being greeted; called as methods, so a connection can be its own handshake's host. */
export interface HandshakeHost {
  readonly out: Pick<Outbound, 'send'>;
  /** Closes the client (guarded: a failure closes it with 1011). */
  drop(code: number, reason: string, refusal?: RefusalReason): void;
  /** Lets `user` in: the client opens its session. */
  accept(user: string, expiresAt: number | undefined): void;
}

export interface HandshakeDeps {
  readonly verifyToken: TokenVerifier;
  /** Time allowed between the upgrade and `hello`. */
  readonly timeoutMs: number;
  readonly metrics: Pick<Metrics, 'frameRejected' | 'framesReceived'>;
}

function timedOut(host: HandshakeHost): void {
  host.drop(CloseCode.handshakeTimeout, 'handshake timeout', 'handshake-timeout');
}

/** One per connection until its welcome, so a class (the timeout calls a shared function). */
class Greeting implements Handshake {
  private waiting = true;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly deps: HandshakeDeps,
    private readonly host: HandshakeHost,
  ) {
    this.timer = setTimeout(timedOut, deps.timeoutMs, host);
  }

  onFrame(decoded: DecodeResult<ClientFrame>): void | Promise<void> {
    const { metrics } = this.deps;
    if (!decoded.ok) {
      metrics.frameRejected(decoded.code);
      this.host.out.send(errorFrame(decoded.code, decoded.message));
      return this.host.drop(CloseCode.badFrame, 'bad frame before hello', 'bad-frames');
    }
    metrics.framesReceived(decoded.frame.t);
    return this.greet(decoded.frame);
  }

  stop(): void {
    this.waiting = false;
    clearTimeout(this.timer);
  }

  private async greet(frame: ClientFrame): Promise<void> {
    const outcome = await decideHandshake(frame, this.deps.verifyToken);
    if (!this.waiting) return; // timed out or closed while the token was checked
    if (!outcome.ok) {
      if (outcome.metric === 'not-ready') this.deps.metrics.frameRejected('protocol');
      this.host.out.send(outcome.error);
      return this.host.drop(outcome.closeCode, outcome.closeReason, outcome.metric);
    }
    this.host.accept(outcome.user, outcome.expiresAt);
  }
}

export function createHandshake(deps: HandshakeDeps, host: HandshakeHost): Handshake {
  return new Greeting(deps, host);
}
