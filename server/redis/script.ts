/**
 * Lua scripts run by their SHA1 (`EVALSHA`), sent whole (`EVAL`) only when Redis does not know
 * them yet: after a restart, a `SCRIPT FLUSH` or on a fresh server. A script runs atomically:
 * no other command runs between its first and its last call.
 */
import { createHash } from 'node:crypto';
import { ErrorReply } from '@redis/client';
import type { RedisClient } from './connection';

export interface LuaScript {
  /** For error messages. */
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** Runs `script` with its keys (declared, as Redis requires) and arguments; resolves with its raw reply. */
export async function evalScript(client: RedisClient, script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
  const options = { keys: [...keys], arguments: [...args] };
  try {
    return await client.evalSha(script.sha1, options);
  } catch (error) {
    if (!(error instanceof ErrorReply && error.message.startsWith('NOSCRIPT'))) throw error;
    return client.eval(script.source, options);
  }
}
