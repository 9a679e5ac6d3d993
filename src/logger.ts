import pino, { type Logger } from 'pino';

/** Structured JSON logs. Fields that could carry secrets or personal data are redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'password', '*.password', 'req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]',
        'email', '*.email', 'birthdate', '*.birthdate', 'code', '*.code', 'token', '*.token',
      ],
      censor: '[redacted]',
    },
  });
}
export type { Logger };
