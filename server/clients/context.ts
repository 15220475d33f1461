/**
 * What every client shares, built once by the server's composition root and handed to each
 * client and its session.
 */
import type { Logger } from 'pino';
import type { Codec } from '../../lib/wire/codec';
import type { AlertsTopic } from '../alerts/topic';
import type { TokenVerifier } from '../auth/checks';
import type { EventLog } from '../event-log/types';
import type { Metrics } from '../metrics';
import type { ServerFrames } from './frames';
import type { ServerOptions } from '../options';
import type { PriceFanout } from '../prices/fanout';
import type { StreamFanout } from '../streams/fanout';
import type { ClientMessages } from './messages';

export interface ClientContext {
  readonly codec: Codec;
  /** Frames encoded once for every connection. */
  readonly frames: ServerFrames;
  readonly options: Pick<
    ServerOptions,
    | 'heartbeatMs'
    | 'handshakeTimeoutMs'
    | 'maxFrameBytes'
    | 'maxBadFrames'
    | 'maxTopicsPerConnection'
    | 'shutdownGraceMs'
    | 'maxBufferedBytes'
    | 'maxBacklogBytes'
    | 'drainTimeoutMs'
    | 'now'
  >;
  readonly verifyToken: TokenVerifier;
  readonly fanout: PriceFanout;
  readonly log: EventLog;
  readonly streamFanout: StreamFanout;
  readonly alertsTopic: Pick<AlertsTopic, 'subscribe' | 'unsubscribe'>;
  readonly clientMessages: ClientMessages;
  readonly metrics: Metrics;
  readonly logger: Logger;
}
