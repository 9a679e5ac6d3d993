export default async function globalTeardown() {
  await globalThis.__kosmoPostgres?.stop();
}
