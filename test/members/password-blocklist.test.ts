import { describe, it, expect } from '@jest/globals';
import { blockedPasswordReason } from '../../src/members/password-blocklist.js';
import { checkNewPassword } from '../../src/members/password-policy.js';

const member = { userId: 'hanako.s', birthdate: '1980-12-01' };
const policy = { minLength: 8, maxLength: 64, allowedSymbols: '!#$%&()*+,-./:;<=>?@[]^_{|}~' };

describe('the password blocklist (NIST SP 800-63B-4 §3.1.1.2)', () => {
  it('refuses the common passwords, also with digits or symbols added around them, whatever the case', () => {
    for (const password of ['password', 'Password1!', '12345678', 'qwertyuiop', 'ILOVEYOU2026', 'Sunshine!', '!!baseball99']) {
      expect([password, blockedPasswordReason(password, member)]).toEqual([password, 'common']);
    }
  });

  it('refuses the user ID, the birth date in its usual forms and the service name inside a password', () => {
    for (const password of ['Hanako.S-2026', 'Pass19801201', 'x801201-Pass', 'Ab1980/12/01', 'Q01121980q', 'Kosmo-Web-2026', 'myKenpo#2026']) {
      expect([password, blockedPasswordReason(password, member)]).toEqual([password, 'personal']);
    }
  });

  it('accepts passwords that are neither', () => {
    for (const password of ['Hanako-2026!', 'Sakura-2026!', 'correct-horse-battery', 'New-pass-2026', 'Tq8#vLm2Rz']) {
      expect([password, blockedPasswordReason(password, member)]).toEqual([password, undefined]);
    }
  });

  it("is one of the policy's rules, reported with the others", () => {
    expect(checkNewPassword(policy, { password: 'Password1!', confirmation: 'Password1', userId: 'hanako.s', isCurrentPassword: false })).toEqual([
      'common',
      'mismatch',
    ]);
    expect(
      checkNewPassword(policy, {
        password: 'Hanako19801201',
        confirmation: 'Hanako19801201',
        userId: 'hanako.s',
        isCurrentPassword: false,
        birthdate: '1980-12-01',
      }),
    ).toEqual(['personal']);
  });
});
