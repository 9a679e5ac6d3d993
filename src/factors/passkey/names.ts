/**
 * A default name for a new passkey, from the AAGUID its authenticator reports (the community list
 * at github.com/passkeydeveloper/passkey-authenticator-aaguids). The member can change it on the
 * 認証ラベルの登録 screen; an unknown authenticator gets the generic name the manual shows.
 */
const KNOWN_AUTHENTICATORS: Record<string, string> = {
  'fbfc3007-154e-4ecc-8c0b-6e020557d7bd': 'iCloud Keychain',
  'dd4ec289-e01d-41c9-bb89-70fa845d4bf2': 'iCloud Keychain',
  'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4': 'Google Password Manager',
  'adce0002-35bc-c60a-648b-0b25f1f05503': 'Chrome on Mac',
  'b5397666-4885-aa6b-cebf-e52262a439a2': 'Chromium',
  '771b48fd-d3d4-4f74-9232-fc157ab0507a': 'Edge on Mac',
  '08987058-cadc-4b81-b6e1-30de50dcbe96': 'Windows Hello',
  '9ddd1817-af5a-4672-a2b9-3e3dd95000a9': 'Windows Hello',
  '6028b017-b1d4-4c02-b4b3-afcdafc96bb2': 'Windows Hello',
  '53414d53-554e-4700-0000-000000000000': 'Samsung Pass',
  'bada5566-a7aa-401f-bd96-45619a55120d': '1Password',
  'd548826e-79b4-db40-a3d8-11116f7e8349': 'Bitwarden',
  '531126d6-e717-415c-9320-3d9aa6981239': 'Dashlane',
  'b84e4048-15dc-4dd0-8640-f4f60813c8af': 'NordPass',
  '0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6': 'Keeper',
  'f3809540-7f14-49c1-a8b3-8f813b225541': 'Enpass',
};

const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';

/** The authenticator's product name, or undefined when the AAGUID says nothing we know. */
export function authenticatorName(aaguid: string | null | undefined, multiDevice: boolean): string | undefined {
  const key = (aaguid ?? '').toLowerCase();
  const known = KNOWN_AUTHENTICATORS[key];
  if (known) return known;
  // Safari reports a zero AAGUID for the passkeys it keeps in iCloud Keychain (synced, so multi-device).
  if (key === ZERO_AAGUID && multiDevice) return 'iCloud Keychain';
  return undefined;
}

/**
 * The name proposed on 認証ラベルの登録: the authenticator's name, or `fallback` (「パスキー」),
 * numbered when the member already has a passkey of that name (labels are unique per member).
 */
export function defaultPasskeyLabel(aaguid: string | null | undefined, multiDevice: boolean, fallback: string, taken: string[]): string {
  const base = authenticatorName(aaguid, multiDevice) ?? fallback;
  const used = new Set(taken.map((l) => l.normalize('NFKC').toLowerCase()));
  if (!used.has(base.normalize('NFKC').toLowerCase())) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base} (${n})`;
    if (!used.has(candidate.normalize('NFKC').toLowerCase())) return candidate;
  }
}
