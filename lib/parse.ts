/**
 * Checking untrusted values against a valibot schema, with the first problem as text (the form the
 * codec, the feed and the alert list report it in).
 */
import * as v from 'valibot';

type Issues = readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]];

/** The first issue as `path: message`, or the bare message when it is about the value itself. */
export function describeIssue(issues: Issues): string {
  const issue = issues[0];
  const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** `input` as `schema` outputs it, or the first problem with it as text. */
export function parseWith<T>(schema: v.GenericSchema<unknown, T>, input: unknown): { ok: true; value: T } | { ok: false; error: string } {
  const result = v.safeParse(schema, input);
  return result.success ? { ok: true, value: result.output } : { ok: false, error: describeIssue(result.issues) };
}

/**
 * Whether `value` is a plain object, the kind msgpack and JSON decode a map to: not `null`, not an
 * array, no class instance, no null prototype. The quick checks beside the schemas take only these.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}
