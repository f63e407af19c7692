/**
 * Where a client connects: one server, by its `redis://` URL. Both factories take this rather than
 * a bare URL so a Redis Cluster target (a list of nodes) can join as a second variant.
 */
export interface RedisTarget {
  url: string;
}
