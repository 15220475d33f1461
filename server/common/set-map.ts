/**
 * A map of sets, the way the fan-outs index their subscribers by topic or symbol: a key stays only
 * while its set has members, so the map never grows with keys nobody watches any more.
 */

export function addToSet<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

export function deleteFromSet<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  set?.delete(value);
  if (set?.size === 0) map.delete(key);
}
