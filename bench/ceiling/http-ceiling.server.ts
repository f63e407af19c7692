import { createServer } from 'node:http';

/**
 * The HTTP ceiling: a bare node:http server answering every request with the same JSON body the
 * service returns for a product (given in CEILING_BODY). Whatever the service does on top of
 * this costs throughput; this is the most a Node process can answer on this machine.
 */
const body = Buffer.from(process.env.CEILING_BODY ?? '{}');
const port = Number(process.env.PORT ?? 3999);

const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  response.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
