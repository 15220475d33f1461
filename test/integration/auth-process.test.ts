/**
 * Tokens of the server as a real process: outside production it prints a ready-to-paste access
 * token for user `dev` after the listening line; without TOKEN_SECRET it makes its signing secret
 * once, keeps it in DATA_DIR/token-secret readable by its user only, and so accepts the tokens it
 * minted after a restart; tokens signed by another secret are refused.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { spawnServerProcess, TEST_DEV_TOKEN, type ServerProcess } from '../support/server';
import { connect, connectAndGreet } from '../support/ws-client';

let proc: ServerProcess | undefined;
afterEach(async () => {
  await proc?.dispose();
  proc = undefined;
});

const ACCESS_LINE = /^Access token for user "dev" \(paste into the extension's Options\): (\S+)$/m;

test('prints an access token for dev after the listening line; the generated secret is 0600 and outlives a restart', async () => {
  proc = await spawnServerProcess({ env: { TOKEN_SECRET: '' } });
  const printed = (await proc.waitForOutput(ACCESS_LINE))[1];
  expect(printed).toMatch(/^eyJ/);
  const output = proc.output();
  const listening = output.indexOf(`Switchboard server listening on http://127.0.0.1:${proc.port}`);
  expect(listening).toBeGreaterThanOrEqual(0);
  expect(output.indexOf('Access token for user')).toBeGreaterThan(listening);

  const secretFile = join(proc.dataDir, 'token-secret');
  expect(statSync(secretFile).mode & 0o777).toBe(0o600);
  const secret = readFileSync(secretFile, 'utf8');
  const alice = await proc.mintToken('alice');

  await proc.restart();
  expect(readFileSync(secretFile, 'utf8')).toBe(secret);
  for (const [token, user] of [[printed!, 'dev'], [alice, 'alice']] as const) {
    const { client, welcome } = await connectAndGreet(proc.url, { token });
    expect(welcome.user).toBe(user);
    await client.close();
  }

  // A token from another server (the test secret) is forged as far as this one knows.
  const stranger = await connect(proc.url);
  stranger.send({ t: 'hello', v: PROTOCOL_VERSION, token: TEST_DEV_TOKEN });
  expect(await stranger.nextOf('error')).toMatchObject({ code: 'unauthorized' });
  expect((await stranger.closed).code).toBe(CloseCode.unauthorized);
});

test('in production no access token is printed', async () => {
  proc = await spawnServerProcess({ env: { NODE_ENV: 'production' } });
  // The admin-token line is printed right after the listening line; the access token would precede it.
  await proc.waitForOutput(/^Admin token: /m);
  expect(proc.output()).not.toMatch(/Access token for user/);
});
