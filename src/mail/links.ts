const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/** The http(s) links in a plain-text mail body, in order, each once; trailing punctuation is not part of a link. */
export function extractLinks(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(URL_PATTERN)) {
    const link = match[0].replace(/[.,;:!?)\]}、。）」』]+$/u, '');
    if (URL.canParse(link)) found.add(link);
  }
  return [...found];
}
