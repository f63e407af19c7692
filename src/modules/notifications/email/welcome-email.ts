import { defineJob } from '../../../infra/queue/index.js';
import { NOTIFICATIONS_QUEUE } from '../notifications.queue.js';
import type { MailMessage } from './mail-transport.js';

/**
 * The data of a `send-welcome-email` job: the `user.created` event's id only. The address and the
 * name are read from the outbox event, so a job written straight into Redis cannot make the
 * service mail an address, or a text, of its choosing. (Jobs of earlier releases also carry
 * `email` and `name`; they are ignored.)
 */
export interface WelcomeEmailJob {
  /** The `user.created` event id: the email's idempotency key. */
  eventId: string;
}

/**
 * The event the welcome email answers, by its published name (as a webhook consumer knows it)
 * rather than an import of the users module: removing users leaves notifications compiling, and
 * the email simply never fires.
 */
export const USER_CREATED = 'user.created';

/** The welcome email job; attempts and backoff from config (MAIL_*), given where it is added. */
export const SEND_WELCOME_EMAIL = defineJob<WelcomeEmailJob>({
  name: 'send-welcome-email',
  queue: NOTIFICATIONS_QUEUE,
});

/** Who gets the welcome email, as the committed `user.created` event says. */
export interface WelcomeEmailRecipient {
  eventId: string;
  email: string;
  name: string;
}

/**
 * The welcome email itself. Plain text and a minimal HTML part; the name is escaped in HTML, and
 * in the headers its control characters (CR, LF, tab, …) become spaces. nodemailer already
 * encodes a header's non-ASCII and line breaks (RFC 2047), so they cannot start a header of their
 * own, but a decoded display name would still carry a line break to whatever reads it next.
 */
export function welcomeEmail(from: string, job: WelcomeEmailRecipient): MailMessage {
  const name = headerText(job.name);
  return {
    from,
    to: { name, address: job.email },
    subject: `Welcome, ${name}!`,
    text: `Hello ${job.name},\n\nWelcome aboard: your account (${job.email}) is ready.\n`,
    html: `<p>Hello ${escapeHtml(job.name)},</p><p>Welcome aboard: your account (${escapeHtml(job.email)}) is ready.</p>`,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Text fit for a header: every run of control characters (C0, DEL, C1) becomes one space. */
function headerText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}
