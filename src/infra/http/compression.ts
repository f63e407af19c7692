import fastifyCompress from '@fastify/compress';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * Response compression by `Accept-Encoding` (br preferred, then gzip) for answers of at least
 * `thresholdBytes`: list pages, `/metrics`, `/docs-json`, the Swagger UI bundle. Register it before
 * any route (it attaches itself to routes as they are added), i.e. before the OpenAPI setup.
 *
 * Entities with a strong ETag (`"3"`: one product, one user, and the answers to their writes) are
 * never compressed: a strong ETag promises the same bytes (RFC 9110 §8.8.1), and the gzip and br
 * bytes of one version are not. Giving each encoding its own tag would make `If-Match` parse
 * suffixes, and weakening the tag would make every `If-Match` fail (strong comparison); an entity
 * is a few hundred bytes, so leaving it as it is costs little. Weak tags (list pages) promise only
 * the same JSON, so compressed lists keep theirs.
 *
 * Request bodies are not decompressed here (`globalDecompression: false`): how a
 * `Content-Encoding` request body is answered belongs to request parsing.
 */
export async function installCompression(app: NestFastifyApplication, thresholdBytes: number): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  // A global hook runs before the plugin's route-level one; `x-no-compression` is its documented off switch.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const etag = reply.getHeader('etag');
    if (typeof etag === 'string' && etag.startsWith('"')) request.headers['x-no-compression'] = 'strong-etag';
    done(null, payload);
  });
  await app.register(fastifyCompress, {
    encodings: ['br', 'gzip'],
    threshold: thresholdBytes,
    globalDecompression: false,
  });
}
