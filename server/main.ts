/**
 * The server process: environment in, `Switchboard server listening on <url>` out once ready, then
 * the dashboard's URL (and, outside production, an access token for user `dev` to paste into the
 * extension's Options, so a new user is connected within a minute), and a graceful exit on
 * SIGTERM / SIGINT (every socket closed with 1001, simulator stopped, event log closed, exit 0).
 * Run with `node --import tsx server/main.ts` (`npm run server`).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { readEnv } from './env';
import { startServer } from './server';

async function main(): Promise<void> {
  const config = readEnv();
  if (!config.ok) {
    console.error(`Switchboard server: ${config.error.message}`);
    process.exit(2);
  }
  const { options, dataDir, generatedAdminToken, production } = config.value;
  // The token secret and every user's data live here: only the server's user may list it.
  mkdirSync(resolve(dataDir), { recursive: true, mode: 0o700 });

  const server = await startServer(options);
  // Minted before announcing, so the token line follows the listening line at once.
  const devAccess = production ? undefined : await server.mintToken('dev');
  console.log(`Switchboard server listening on ${server.url}`);
  console.log(
    server.dashboardBuilt()
      ? `Dashboard: ${server.dashboardUrl}`
      : `Dashboard: ${server.dashboardUrl} (not built yet: run \`npm run build:dashboard\`; it is served from ${server.dashboardDir})`,
  );
  if (devAccess) console.log(`Access token for user "dev" (paste into the extension's Options): ${devAccess.token}`);
  console.log(
    generatedAdminToken
      ? `Admin token (generated; set ADMIN_TOKEN to choose one): ${server.adminToken}`
      : 'Admin token: the ADMIN_TOKEN you set',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means "now": the operator gave up waiting for the graceful close.
      console.error(`Switchboard server: ${signal} again, exiting immediately`);
      process.exit(1);
    }
    stopping = true;
    console.log(`Switchboard server: ${signal} received, closing connections`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Switchboard server: shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error('Switchboard server failed to start:', error);
  process.exit(1);
});
