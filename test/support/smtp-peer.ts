import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** One message the peer accepted. */
export interface ReceivedMail {
  from: string | undefined;
  to: string[];
  raw: string;
}

/**
 * A real SMTP server (the `smtp-server` package) on a spare local port, without TLS, accepting
 * every message; `failNext(n)` makes it refuse the next n messages with a 451 (a temporary failure),
 * `stallNext(n)` makes it never answer the next n (as a client crashing mid-send would leave them).
 * `stop()` in afterAll.
 */
export class SmtpPeer {
  readonly received: ReceivedMail[] = [];
  /** Messages refused because of `failNext`. */
  refused = 0;
  /** Messages received in full but never answered, because of `stallNext`. */
  stalled = 0;
  private failures = 0;
  private stalls = 0;

  private readonly server: SMTPServer;
  port = 0;

  private constructor() {
    this.server = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      onData: (stream, session: SMTPServerSession, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if (this.stalls > 0) {
            this.stalls -= 1;
            this.stalled += 1;
            return; // no answer: the message is never accepted
          }
          if (this.failures > 0) {
            this.failures -= 1;
            this.refused += 1;
            callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
            return;
          }
          this.received.push({
            from: session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
  }

  /** The SMTP_URL for nodemailer: plain SMTP, no STARTTLS. */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}?ignoreTLS=true`;
  }

  static async start(): Promise<SmtpPeer> {
    const peer = new SmtpPeer();
    await new Promise<void>((resolve) => peer.server.listen(0, '127.0.0.1', resolve));
    peer.port = (peer.server.server.address() as AddressInfo).port;
    return peer;
  }

  failNext(count: number): void {
    this.failures = count;
  }

  stallNext(count: number): void {
    this.stalls = count;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
