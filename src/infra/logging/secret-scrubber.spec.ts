import { describe, expect, it } from 'vitest';
import { passwordOf, secretScrubber } from './secret-scrubber.js';

describe('secretScrubber', () => {
  it('replaces raw, JSON-escaped and URL-encoded occurrences', () => {
    const scrub = secretScrubber(['p@ss"word/1']);
    expect(scrub('a p@ss"word/1 b')).toBe('a [Redacted] b');
    expect(scrub(JSON.stringify({ msg: 'p@ss"word/1' }))).toBe('{"msg":"[Redacted]"}');
    expect(scrub('smtp://u:p%40ss%22word%2F1@host')).toBe('smtp://u:[Redacted]@host');
  });

  it('replaces the longest secret first and ignores short or missing ones', () => {
    const scrub = secretScrubber(['abcdef', 'abcdefghij', 'abc', undefined, '']);
    expect(scrub('xx abcdefghij yy abcdef abc')).toBe('xx [Redacted] yy [Redacted] abc');
    expect(secretScrubber([undefined])('unchanged')).toBe('unchanged');
  });
});

describe('passwordOf', () => {
  it('returns the decoded password of a URL, if any', () => {
    expect(passwordOf('smtp://user:p%40ss@host:587')).toBe('p@ss');
    expect(passwordOf('redis://127.0.0.1:6379')).toBeUndefined();
    expect(passwordOf('not a url')).toBeUndefined();
    expect(passwordOf(undefined)).toBeUndefined();
  });
});
