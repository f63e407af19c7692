import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { seconds } from '../common/index.js';
import { int, parseEnv, url } from './env.js';

export const mailEnvSchema = z.object({
  SMTP_URL: url(['smtp:', 'smtps:'], 'an smtp:// or smtps:// URL, e.g. smtp://user:pass@host:587'),
  MAIL_FROM: z.string().default('Service <no-reply@example.com>'),
  MAIL_MAX_ATTEMPTS: int(1, 50, 8),
  MAIL_BACKOFF_BASE_MS: int(1, 3_600_000, 2000),
  /**
   * Welcome emails one client (API key name, else IP) may cause per WELCOME_EMAIL_TTL_SECONDS,
   * across instances; past it the user is created and the email is not sent. 0: no limit.
   */
  WELCOME_EMAIL_LIMIT: int(0, 1_000_000, 20),
  WELCOME_EMAIL_TTL_SECONDS: int(1, 86_400 * 7, 3600),
});

export const mailConfig = registerAs('mail', () => {
  const env = parseEnv(mailEnvSchema);
  return {
    smtpUrl: env.SMTP_URL,
    from: env.MAIL_FROM,
    /** Tries per email, the first included; waits grow like the webhooks' (capped at 10 minutes). */
    maxAttempts: env.MAIL_MAX_ATTEMPTS,
    backoffBaseMs: env.MAIL_BACKOFF_BASE_MS,
    /** Per client, sliding window, in the rate limiter's store; `limit` 0 is off. */
    welcomeLimit: { limit: env.WELCOME_EMAIL_LIMIT, windowMs: seconds(env.WELCOME_EMAIL_TTL_SECONDS) },
  };
});
