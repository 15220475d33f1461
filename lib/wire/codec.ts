/**
 * The msgpack codec for protocol frames. Decoding never throws: every failure comes back as a
 * `DecodeFailure` that names the evidence, so the server and the hub can answer a bad frame with an
 * error and carry on. Limits on untrusted input are ordinary options.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import * as v from 'valibot';
import { describeIssue } from '../parse';
import { quickServerFrame } from './fast-frames';
import {
  CLIENT_FRAME_TYPES,
  ClientFrameSchema,
  SERVER_FRAME_TYPES,
  ServerFrameSchema,
  type ClientFrame,
  type ErrorCode,
  type ServerFrame,
} from './protocol';

export interface CodecLimits {
  /** Largest frame accepted, in bytes. Default 64 KiB. */
  maxFrameBytes: number;
  /** Longest string (UTF-8 bytes) inside a frame. Default 16 KiB. */
  maxStrLength: number;
  /** Longest array inside a frame (a batch counts). Default 4096. */
  maxArrayLength: number;
  /** Most keys in one map. Default 256. */
  maxMapLength: number;
  /** Deepest nesting of arrays and maps. Default 16. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: Readonly<CodecLimits> = {
  maxFrameBytes: 64 * 1024,
  maxStrLength: 16 * 1024,
  maxArrayLength: 4096,
  maxMapLength: 256,
  maxDepth: 16,
};

export interface DecodeFailure {
  readonly ok: false;
  readonly code: Extract<ErrorCode, 'bad-frame' | 'unknown-frame' | 'too-large'>;
  readonly message: string;
}
export type DecodeResult<F> = { readonly ok: true; readonly frame: F } | DecodeFailure;

/** Raw WebSocket payloads as browsers (`ArrayBuffer`, `Blob` is not used) and `ws` (`Buffer[]`) give them. */
export type RawFrame = ArrayBuffer | ArrayBufferView | readonly Uint8Array[] | string;

export interface Codec {
  encode(frame: ClientFrame | ServerFrame): Uint8Array;
  decodeClientFrame(raw: RawFrame): DecodeResult<ClientFrame>;
  decodeServerFrame(raw: RawFrame): DecodeResult<ServerFrame>;
}

const fail = (code: DecodeFailure['code'], message: string): DecodeFailure => ({ ok: false, code, message });

function toBytes(raw: RawFrame): Uint8Array | DecodeFailure {
  if (typeof raw === 'string') return fail('bad-frame', 'Text frames are not accepted: send binary msgpack');
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (Array.isArray(raw)) {
    const parts = raw as readonly Uint8Array[];
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    const joined = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.byteLength;
    }
    return joined;
  }
  return fail('bad-frame', 'Unsupported payload type');
}

/**
 * Depth of nested arrays and maps, measured without recursion (the input is hostile). Only arrays
 * and maps are stacked: a replay batch is thousands of maps of scalars, and stacking every scalar
 * cost the hub more than the msgpack decode.
 */
function depthExceeds(value: unknown, maxDepth: number): boolean {
  const nodes: object[] = [];
  const depths: number[] = [];
  const visit = (child: unknown, depth: number): void => {
    if (child !== null && typeof child === 'object' && !(child instanceof Uint8Array)) {
      nodes.push(child);
      depths.push(depth);
    }
  };
  visit(value, 1);
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    if (Array.isArray(node)) {
      for (const child of node as unknown[]) visit(child, depth + 1);
    } else {
      for (const key in node) if (Object.hasOwn(node, key)) visit((node as Record<string, unknown>)[key], depth + 1);
    }
  }
  return false;
}

/** Creates a codec with the given limits (defaults in `DEFAULT_LIMITS`). */
export function createCodec(options: Readonly<Partial<CodecLimits>> = {}): Codec {
  const limits: CodecLimits = { ...DEFAULT_LIMITS, ...options };
  const encoder = new Encoder({ ignoreUndefined: true });
  const decoder = new Decoder({
    maxStrLength: limits.maxStrLength,
    maxBinLength: limits.maxFrameBytes,
    maxArrayLength: limits.maxArrayLength,
    maxMapLength: limits.maxMapLength,
    maxExtLength: 0,
  });

  function decodeWith<F>(
    raw: RawFrame,
    schema: v.GenericSchema<unknown, F>,
    known: ReadonlySet<string>,
    quick?: (value: object) => F | undefined,
  ): DecodeResult<F> {
    const bytes = toBytes(raw);
    if (!(bytes instanceof Uint8Array)) return bytes;
    if (bytes.byteLength > limits.maxFrameBytes) {
      return fail('too-large', `Frame of ${bytes.byteLength} bytes exceeds the limit of ${limits.maxFrameBytes}`);
    }
    let value: unknown;
    try {
      value = decoder.decode(bytes);
    } catch (error) {
      return fail('bad-frame', `Malformed msgpack: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return fail('bad-frame', 'A frame must be a map');
    }
    const tag = (value as { t?: unknown }).t;
    if (typeof tag !== 'string') return fail('bad-frame', 'A frame needs a string tag "t"');
    if (!known.has(tag)) return fail('unknown-frame', `Unknown frame type: ${JSON.stringify(tag.slice(0, 32))}`);
    if (depthExceeds(value, limits.maxDepth)) return fail('bad-frame', `Frame nests deeper than ${limits.maxDepth}`);
    const quickly = quick?.(value);
    if (quickly !== undefined) return { ok: true, frame: quickly };
    const result = v.safeParse(schema, value);
    if (!result.success) return fail('bad-frame', `Invalid ${tag} frame: ${describeIssue(result.issues)}`);
    return { ok: true, frame: result.output };
  }

  return {
    encode: (frame) => encoder.encode(frame),
    decodeClientFrame: (raw) => decodeWith(raw, ClientFrameSchema, CLIENT_FRAME_TYPES),
    decodeServerFrame: (raw) => decodeWith(raw, ServerFrameSchema, SERVER_FRAME_TYPES, quickServerFrame),
  };
}
