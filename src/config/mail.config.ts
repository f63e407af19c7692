import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { parseEnv, url } from './env.js';

export const mailEnvSchema = z.object({
  SMTP_URL: url(['smtp:', 'smtps:'], 'an smtp:// or smtps:// URL, e.g. smtp://user:pass@host:587'),
  MAIL_FROM: z.string().default('Service <no-reply@example.com>'),
});

export const mailConfig = registerAs('mail', () => {
  const env = parseEnv(mailEnvSchema);
  return { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM };
});
