/**
 * Where a client connects: one server by its `redis://` URL, or a Redis Cluster by its seed
 * nodes (each a `redis://host:port` URL; the first one's credentials and TLS apply to every node).
 */
export type RedisTarget = { url: string } | { clusterNodes: readonly string[] };

export function isClusterTarget(target: RedisTarget): target is { clusterNodes: readonly string[] } {
  return 'clusterNodes' in target;
}
