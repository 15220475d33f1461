/**
 * A Switchboard server process for the durable-publish benchmark: the real server with its SQLite
 * event log opened in `DATA_DIR` with the commit mode `COMMIT` names (`group` or `each`), the
 * simulator off and a silent logger. It prints `listening <url>` once ready; SIGTERM closes it.
 */
import { join } from 'node:path';
import pino from 'pino';
import { openSqliteEventLog } from '../../server/event-log/sqlite';
import { startServer } from '../../server/server';

const commit = process.env.COMMIT === 'each' ? 'each' : 'group';
const dataDir = process.env.DATA_DIR!;
const eventLog = await openSqliteEventLog({ path: join(dataDir, 'switchboard.sqlite'), commit });
const server = await startServer({
  port: 0,
  host: '127.0.0.1',
  simulator: 'off',
  dataDir,
  eventLog,
  adminToken: process.env.ADMIN_TOKEN!,
  tokenSecret: 'durable-publish-bench-token-secret-0123456789',
  logger: pino({ level: 'silent' }),
});
console.log(`listening ${server.url}`);
process.on('SIGTERM', () => {
  void server
    .close()
    .then(() => eventLog.close())
    .then(() => process.exit(0));
});
