/** A browser's User-Agent as a member recognises it: 「Chrome (Windows)」, 「Safari (iPhone)」. */
export function describeUserAgent(userAgent: string): { browser: string; device: string } | undefined {
  if (!userAgent) return undefined;
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /(CriOS|Chrome)\//.test(userAgent) && !/Chromium\//.test(userAgent)
      ? 'Chrome'
      : /Chromium\//.test(userAgent)
        ? 'Chromium'
        : /(FxiOS|Firefox)\//.test(userAgent)
          ? 'Firefox'
          : /Version\/[\d.]+.*Safari\//.test(userAgent)
            ? 'Safari'
            : undefined;
  const device = /iPhone/.test(userAgent)
    ? 'iPhone'
    : /iPad/.test(userAgent)
      ? 'iPad'
      : /Android/.test(userAgent)
        ? 'Android'
        : /Windows/.test(userAgent)
          ? 'Windows'
          : /Macintosh|Mac OS X/.test(userAgent)
            ? 'Mac'
            : /CrOS/.test(userAgent)
              ? 'ChromeOS'
              : /Linux/.test(userAgent)
                ? 'Linux'
                : undefined;
  if (!browser && !device) return undefined;
  return { browser: browser ?? '', device: device ?? '' };
}
