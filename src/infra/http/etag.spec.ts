import { describe, expect, it } from 'vitest';
import {
  etagOf,
  ifNoneMatchHits,
  ifNoneMatchHitsTag,
  versionsFromIfMatch,
  weakEtagOf,
  writePreconditions,
} from './etag.js';

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

  it('gives equal bodies equal weak tags, matched weakly', () => {
    const tag = weakEtagOf('{"items":[]}');
    expect(tag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    expect(weakEtagOf(Buffer.from('{"items":[]}'))).toBe(tag);
    expect(weakEtagOf('{"items":[1]}')).not.toBe(tag);
    expect(ifNoneMatchHitsTag(tag, tag)).toBe(true);
    expect(ifNoneMatchHitsTag(tag.slice(2), tag)).toBe(true);
    expect(ifNoneMatchHitsTag('"other"', tag)).toBe(false);
  });

  it('turns If-None-Match: * on a write into "no version allows it"', () => {
    expect(writePreconditions(undefined, '*')).toEqual([]);
    expect(writePreconditions('"3"', '*')).toEqual([]);
    expect(writePreconditions('"3"', undefined)).toEqual([3]);
    expect(writePreconditions(undefined, undefined)).toBeUndefined();
  });
});
