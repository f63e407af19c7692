import { describe, expect, it } from 'vitest';
import { mailTransportProvider, type MailTransport } from './mail-transport.js';
import { welcomeEmail } from './welcome-email.js';

describe('welcomeEmail', () => {
  it('addresses the user by name and escapes the name in HTML', () => {
    const message = welcomeEmail('Service <no-reply@example.com>', {
      eventId: 'e',
      email: 'a@example.com',
      name: '<b>Ada</b> & co',
    });
    expect(message.to).toEqual({ name: '<b>Ada</b> & co', address: 'a@example.com' });
    expect(message.subject).toBe('Welcome, <b>Ada</b> & co!');
    expect(message.text).toContain('Hello <b>Ada</b> & co');
    expect(message.html).toContain('Hello &#60;b&#62;Ada&#60;/b&#62; &#38; co');
    expect(message.html).not.toContain('<b>');
  });
});

describe('mailTransportProvider without SMTP_URL', () => {
  it('renders the message and resolves without a server', async () => {
    const factory = (
      mailTransportProvider as { useFactory: (config: { smtpUrl?: string; from: string }) => MailTransport }
    ).useFactory;
    const transport = factory({ smtpUrl: undefined, from: 'x@example.com' });
    const info = await transport.sendMail(
      welcomeEmail('x@example.com', { eventId: 'e', email: 'a@example.com', name: 'Ada' }),
    );
    expect(info.messageId).toMatch(/@/);
    transport.close();
  });
});
