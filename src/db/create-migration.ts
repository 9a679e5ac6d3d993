/**
 * `npm run migration:create -- <name>`: a new, empty migration in migrations/ (named after the
 * current UTC time, so it sorts after every landed one) and its line in migrations/index.ts.
 * Landed migrations are never edited: a change to the schema is always a new one.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function main(argv: string[]): number {
  const name = argv[0] ?? '';
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) {
    process.stderr.write('usage: npm run migration:create -- <name>   (lowercase letters, digits and _, such as add_member_note)\n');
    return 64;
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const className = `Migration${stamp}_${name}`;
  const dir = path.resolve('migrations');
  const file = path.join(dir, `${className}.ts`);
  const index = path.join(dir, 'index.ts');
  if (existsSync(file)) {
    process.stderr.write(`${file} exists already\n`);
    return 1;
  }
  writeFileSync(
    file,
    `import { Migration } from '@mikro-orm/migrations';

export class ${className} extends Migration {
  override name = '${className}';

  override up(): void {
    // this.addSql(\`alter table member add column ...\`);
  }
}
`,
  );
  const source = readFileSync(index, 'utf8');
  const withImport = source.replace(/((?:^import .*\n)+)/m, `$1import { ${className} } from './${className}.js';\n`);
  const withEntry = withImport.replace(/\n\];\s*$/, `\n  { name: '${className}', class: ${className} },\n];\n`);
  if (withEntry === withImport || withImport === source) {
    process.stderr.write(`${file} written; add it to ${index} by hand\n`);
    return 1;
  }
  writeFileSync(index, withEntry);
  process.stdout.write(`created ${path.relative(process.cwd(), file)} and listed it in ${path.relative(process.cwd(), index)}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
