import { Logger, type Provider } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import nodemailer from 'nodemailer';
import { mailConfig } from '../../../config/index.js';
import { withSpan } from '../../../infra/tracing/index.js';

/** What we need of a mail transport: nodemailer's `sendMail`, and `close` at shutdown. */
export interface MailTransport {
  sendMail(message: MailMessage): Promise<{ messageId?: string }>;
  close(): void;
}
export const MailTransport = Symbol('MailTransport');

export interface MailMessage {
  from: string;
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
}

/**
 * SMTP to `SMTP_URL` (options such as `?ignoreTLS=true` ride in its query), or, when it is unset,
 * a transport that renders the message and logs it instead of sending it. The SMTP timeouts are
 * shorter than nodemailer's defaults (minutes) so a stuck server fails the attempt, and it is retried.
 */
export const mailTransportProvider: Provider = {
  provide: MailTransport,
  inject: [mailConfig.KEY],
  useFactory: (config: ConfigType<typeof mailConfig>): MailTransport => {
    if (config.smtpUrl !== undefined) {
      const smtp = nodemailer.createTransport({
        url: config.smtpUrl,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      });
      // nodemailer has no OpenTelemetry instrumentation: one client span per message (tracing on).
      return {
        sendMail: (message) => withSpan('smtp send', { kind: 'client' }, () => smtp.sendMail(message)),
        close: () => smtp.close(),
      };
    }
    const logger = new Logger('Mail');
    logger.log('SMTP_URL is unset: emails are logged, not sent');
    const json = nodemailer.createTransport({ jsonTransport: true });
    return {
      async sendMail(message) {
        const info = await json.sendMail(message);
        logger.log(`email (not sent, SMTP_URL unset): ${String(info.message)}`);
        return { messageId: info.messageId };
      },
      close: () => json.close(),
    };
  },
};
