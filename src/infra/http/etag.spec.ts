import { describe, expect, it } from 'vitest';
import { etagOf, ifNoneMatchHits, versionsFromIfMatch } from './etag.js';

describe('ETag preconditions', () => {
  it('derives a strong ETag from the version', () => {
    expect(etagOf(3)).toBe('"3"');
  });

  it('parses If-Match with strong comparison', () => {
    expect(versionsFromIfMatch(undefined)).toBeUndefined();
    expect(versionsFromIfMatch('*')).toBeUndefined();
    expect(versionsFromIfMatch('"4"')).toEqual([4]);
    expect(versionsFromIfMatch('"4", "5"')).toEqual([4, 5]);
    expect(versionsFromIfMatch('W/"4"')).toEqual([]);
    expect(versionsFromIfMatch('garbage')).toEqual([]);
    expect(versionsFromIfMatch('"99999999999"')).toEqual([]);
  });

  it('matches If-None-Match weakly', () => {
    expect(ifNoneMatchHits(undefined, 1)).toBe(false);
    expect(ifNoneMatchHits('"1"', 1)).toBe(true);
    expect(ifNoneMatchHits('W/"1"', 1)).toBe(true);
    expect(ifNoneMatchHits('"2", "1"', 1)).toBe(true);
    expect(ifNoneMatchHits('"2"', 1)).toBe(false);
    expect(ifNoneMatchHits('*', 1)).toBe(true);
  });
});
