/**
 * Which peer a socket counts against for the per-address limits. An IPv4 address (also written
 * IPv4-mapped, `::ffff:1.2.3.4`) is itself; an IPv6 address counts as its /64, because one host
 * is usually handed a whole /64 and could otherwise take a fresh address for every socket.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The key of `address` for per-address counts; `unknown` when the socket no longer has one. */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address) || !isIPv6(address)) return address;
  return `${ipv6Groups(address.split('%', 1)[0]!).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, `::` expanded, as lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::', 2);
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  // An embedded IPv4 tail (`::1.2.3.4`) fills the last two groups; only the first four matter here.
  const fill = Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...fill, ...right].map((group) => (group.includes('.') ? group : Number.parseInt(group, 16).toString(16)));
}
