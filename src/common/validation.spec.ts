import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { IsTimestamp } from './validation.js';

class Probe {
  @IsTimestamp()
  at!: Date;
}

const parse = (at: unknown): { value: unknown; valid: boolean } => {
  const probe = plainToInstance(Probe, { at });
  return { value: probe.at, valid: validateSync(probe).length === 0 };
};

describe('IsTimestamp', () => {
  it('turns an RFC 3339 date-time with an offset into the instant it names', () => {
    for (const [text, iso] of [
      ['2026-01-31T12:00:00Z', '2026-01-31T12:00:00.000Z'],
      ['2026-01-31T12:00:00.5Z', '2026-01-31T12:00:00.500Z'],
      ['2026-01-31T13:00:00+01:00', '2026-01-31T12:00:00.000Z'],
      ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ]) {
      const { value, valid } = parse(text);
      expect(valid, text).toBe(true);
      expect((value as Date).toISOString(), text).toBe(iso);
    }
  });

  it('refuses dates alone, local times, impossible dates and non-strings', () => {
    // 2026-02-30 is what Date would silently roll over to 2026-03-02.
    for (const value of [
      '2026-01-31',
      '2026-01-31T12:00:00',
      '2026-02-30T00:00:00Z',
      '2025-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T25:00:00Z',
      '31/01/2026',
      1_769_860_800_000,
      null,
      '',
    ]) {
      expect(parse(value).valid, String(value)).toBe(false);
    }
  });
});
