/** 19790822, 1979/08/22 or full-width digits -> 1979-08-22, if it is a real calendar date. */
export function parseTypedBirthdate(typed: string): { ok: true; iso: string } | { ok: false; problem: 'required' | 'format' } {
  const digits = typed.normalize('NFKC').replace(/[\s/-]/g, '');
  if (!digits) return { ok: false, problem: 'required' };
  if (!/^\d{8}$/.test(digits)) return { ok: false, problem: 'format' };
  const iso = `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;
  const d = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(iso) ? { ok: true, iso } : { ok: false, problem: 'format' };
}
