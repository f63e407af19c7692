import type { MailMessage } from './mail-transport.js';

/** The data of a `send-welcome-email` job. */
export interface WelcomeEmailJob {
  /** The `user.created` event id: the email's idempotency key. */
  eventId: string;
  email: string;
  name: string;
}

/** The welcome email itself. Plain text and a minimal HTML part; the name is escaped in HTML. */
export function welcomeEmail(from: string, job: WelcomeEmailJob): MailMessage {
  return {
    from,
    to: { name: job.name, address: job.email },
    subject: `Welcome, ${job.name}!`,
    text: `Hello ${job.name},\n\nWelcome aboard: your account (${job.email}) is ready.\n`,
    html: `<p>Hello ${escapeHtml(job.name)},</p><p>Welcome aboard: your account (${escapeHtml(job.email)}) is ready.</p>`,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
