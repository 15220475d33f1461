/**
 * The transport-independent contract (`support/transport-contract.ts`) over each of the server's
 * transports against a real server: WebSocket, HTTP streaming in the SSE format, long polling.
 */
import { connectHttp } from '../support/http-client';
import { describeTransportContract } from '../support/transport-contract';
import { connect } from '../support/ws-client';

describeTransportContract('WebSocket', (url) => connect(url));
describeTransportContract('HTTP streaming (SSE)', (url) => connectHttp(url, 'stream'));
describeTransportContract('long polling', (url) => connectHttp(url, 'poll'));
