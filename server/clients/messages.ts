/**
 * Client messages (`send {id, kind, body}`): routes each kind to the part that owns it and turns
 * the outcome into the `ack` for the same id. A message that can never succeed gets `ok: false`
 * with code `invalid` and a reason (the hub marks it failed and moves on); a failure of ours gets
 * `internal` (the hub retries the same id later, and the dedupe makes that safe). The socket is
 * never closed over a message. Counted by kind and outcome.
 */
import type { Logger } from 'pino';
import { parseMessageId } from '../../lib/wire/ids';
import type { ClientFrame, FrameOf, ServerFrame } from '../../lib/wire/protocol';
import { ALERT_MESSAGE_KINDS, isAlertMessageKind } from '../alerts/messages';
import type { AlertService } from '../alerts/service';
import { clip } from '../common/untrusted';
import type { ClientMessageOutcome, Metrics } from '../metrics';

type Ack = FrameOf<ServerFrame, 'ack'>;

export interface ClientMessages {
  /** The ack for one `send`, counted on `metrics` (the connection's, labelled with its transport); never rejects. */
  handle(user: string, frame: FrameOf<ClientFrame, 'send'>, metrics: Pick<Metrics, 'clientMessage'>): Promise<Ack>;
}

export interface ClientMessagesDeps {
  readonly alerts: Pick<AlertService, 'handle'>;
  readonly metrics: Pick<Metrics, 'handlerError'>;
  readonly logger: Logger;
}

/** Longest error message an ack carries. */
const MAX_MESSAGE_CHARS = 500;

export function createClientMessages(deps: ClientMessagesDeps): ClientMessages {
  function refused(metrics: Pick<Metrics, 'clientMessage'>, id: string, kind: string, message: string): Ack {
    metrics.clientMessage(kind, 'refused');
    return { t: 'ack', id, ok: false, error: { code: 'invalid', message: clip(message, MAX_MESSAGE_CHARS) } };
  }

  return {
    async handle(user, { id, kind, body }, metrics) {
      if (!isAlertMessageKind(kind)) {
        return refused(metrics, id, 'other', `Unknown message kind ${JSON.stringify(kind.slice(0, 64))}: use ${ALERT_MESSAGE_KINDS.join(', ')}`);
      }
      const messageId = parseMessageId(id);
      if (messageId === null) return refused(metrics, id, kind, 'Message id must be a UUID: it is the idempotency id the server deduplicates on');
      try {
        const { ack, outcome } = await deps.alerts.handle(user, messageId, kind, body);
        metrics.clientMessage(kind, outcome);
        if (ack.ok) return { t: 'ack', id, ...ack };
        return { t: 'ack', id, ok: false, error: { code: ack.error.code, message: clip(ack.error.message, MAX_MESSAGE_CHARS) } };
      } catch (error) {
        metrics.clientMessage(kind, 'failed');
        deps.metrics.handlerError();
        deps.logger.error({ err: error, user, kind }, 'client message failed');
        return { t: 'ack', id, ok: false, error: { code: 'internal', message: 'The server could not apply this message: send it again later' } };
      }
    },
  };
}
