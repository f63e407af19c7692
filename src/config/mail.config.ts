import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { int, parseEnv, url } from './env.js';

export const mailEnvSchema = z.object({
  SMTP_URL: url(['smtp:', 'smtps:'], 'an smtp:// or smtps:// URL, e.g. smtp://user:pass@host:587'),
  MAIL_FROM: z.string().default('Service <no-reply@example.com>'),
  MAIL_MAX_ATTEMPTS: int(1, 50, 8),
  MAIL_BACKOFF_BASE_MS: int(1, 3_600_000, 2000),
});

export const mailConfig = registerAs('mail', () => {
  const env = parseEnv(mailEnvSchema);
  return {
    smtpUrl: env.SMTP_URL,
    from: env.MAIL_FROM,
    /** Tries per email, the first included; waits grow like the webhooks' (capped at 10 minutes). */
    maxAttempts: env.MAIL_MAX_ATTEMPTS,
    backoffBaseMs: env.MAIL_BACKOFF_BASE_MS,
  };
});
