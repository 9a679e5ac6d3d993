import type { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { memberInputSchema, type ValidMemberInput } from '../members/provision.js';

export const MEMBER_CSV_HEADER = ['user_id', 'symbol', 'number', 'birthdate', 'name', 'email'] as const;

const COLUMN_OF_FIELD: Record<string, string> = { userId: 'user_id', symbol: 'symbol', number: 'number', birthdate: 'birthdate', name: 'name', email: 'email' };

export interface CsvProblem {
  /** The line of the file where the row starts; the header is line 1. */
  line: number;
  message: string;
}

export interface MemberCsvContents {
  rows: { line: number; member: ValidMemberInput }[];
  problems: CsvProblem[];
  /** Data rows read, valid or not. */
  rowCount: number;
}

const LINE_BREAK = /\r\n|\r|\n/g;

function countLineBreaks(text: string): number {
  return text.match(LINE_BREAK)?.length ?? 0;
}

function leadingLineBreaks(text: string): number {
  return /^(?:\r\n|\r|\n)*/.exec(text)![0].match(LINE_BREAK)?.length ?? 0;
}

/** Thrown from inside the parser to stop reading a file whose header is wrong. */
class WrongHeader extends Error {}

/**
 * Reads and validates a member CSV as a stream: every row is checked with memberInputSchema and
 * against the rows before it (duplicate user IDs and addresses), and every problem is kept with the
 * file line it starts on, so that an administrator can fix them all in one pass.
 */
export async function readMemberCsv(input: Readable): Promise<MemberCsvContents> {
  const rows: MemberCsvContents['rows'] = [];
  const problems: CsvProblem[] = [];
  const lineOfUserId = new Map<string, number>();
  const lineOfEmail = new Map<string, number>();
  // csv-parse's own line counter drifts after CRLF inside quotes; the raw text of each record
  // (which includes the empty lines skipped before it) gives exact start lines.
  let nextLine = 1;
  let headerSeen = false;
  let rowCount = 0;

  function checkRow(record: string[], line: number): void {
    if (record.length !== MEMBER_CSV_HEADER.length) {
      problems.push({ line, message: `expected ${MEMBER_CSV_HEADER.length} fields, found ${record.length}` });
      return;
    }
    if (record.some((field) => field.includes('\uFFFD'))) {
      problems.push({ line, message: 'not valid UTF-8 text (save the file as "CSV UTF-8")' });
      return;
    }
    const [userId, symbol, number, birthdate, name, email] = record;
    const parsed = memberInputSchema.safeParse({ userId, symbol, number, birthdate, name, email });
    if (!parsed.success) {
      const byField = parsed.error.issues.map((i) => `${COLUMN_OF_FIELD[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
      problems.push({ line, message: byField.join('; ') });
      return;
    }
    const member = parsed.data;
    const firstWithId = lineOfUserId.get(member.userId);
    if (firstWithId !== undefined) {
      problems.push({ line, message: `user ID "${member.userId}" already appears on line ${firstWithId}` });
      return;
    }
    lineOfUserId.set(member.userId, line);
    if (member.email) {
      const firstWithEmail = lineOfEmail.get(member.email);
      if (firstWithEmail !== undefined) {
        problems.push({ line, message: `email address already appears on line ${firstWithEmail}` });
        return;
      }
      lineOfEmail.set(member.email, line);
    }
    rows.push({ line, member });
  }

  // Rows are checked as the parser produces them (on_record), so that a syntax error further down
  // still leaves every row before it checked.
  const parser = input.pipe(
    parse({
      bom: true,
      encoding: 'utf8',
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
      max_record_size: 64 * 1024,
      on_record: (extended: unknown) => {
        const { record, raw } = extended as { record: string[]; raw: string };
        const line = nextLine + leadingLineBreaks(raw);
        nextLine += countLineBreaks(raw);
        if (headerSeen) {
          rowCount++;
          checkRow(record, line);
          return null;
        }
        headerSeen = true;
        if (record.length !== MEMBER_CSV_HEADER.length || record.some((name, i) => name !== MEMBER_CSV_HEADER[i])) {
          problems.push({ line, message: `the header must be exactly "${MEMBER_CSV_HEADER.join(',')}", found "${record.join(',').slice(0, 200)}"` });
          throw new WrongHeader();
        }
        return null;
      },
    }),
  );
  try {
    for await (const _ of parser) {
      /* every record is handled in on_record */
    }
  } catch (err) {
    if (err instanceof WrongHeader) {
      input.destroy();
      return { rows: [], problems, rowCount: 0 };
    }
    if (!(err instanceof CsvError)) throw err;
    // A syntax error (an unclosed quote …) leaves the rest of the file unreadable.
    const at = (err as CsvError & { lines?: number }).lines;
    problems.push({ line: at ?? nextLine, message: `cannot read the CSV from here on: ${err.message.replace(/ at line \d+/, '')}` });
    return { rows, problems, rowCount };
  }
  if (!headerSeen) problems.push({ line: 1, message: `the file is empty; the first line must be "${MEMBER_CSV_HEADER.join(',')}"` });
  else if (rowCount === 0) problems.push({ line: 2, message: 'the file has no member rows' });
  return { rows, problems, rowCount };
}
