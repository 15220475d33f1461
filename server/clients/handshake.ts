/**
 * The handshake rule as a decision: given the first frame a client sent, either the user to welcome
 * or the refusal (error frame, close code, metric reason). `client.ts` only carries it out. The
 * version is checked before the token, so an old client learns it must upgrade.
 */
import { CloseCode } from '../../lib/wire/close-codes';
import { PROTOCOL_VERSION, type ClientFrame, type FrameOf, type ServerFrame } from '../../lib/wire/protocol';
import type { TokenVerifier } from '../auth/checks';
import type { RefusalReason } from '../metrics';

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
