import { describe, expect, test } from 'vitest';
import { botEvent } from '../../test/bot-event.ts';
import { WebhookVerificationError } from './errors.ts';
import { bodyCandidates, parseJsonObject } from './raw-body.ts';
import { readOptionalSecret, readRequiredSecret, readSigningSecrets } from './secrets.ts';
import { checkTimestamp, computeHmac, findMatchingSignature, parseSignatureHeader, safeEqual } from './signature.ts';

describe('computeHmac', () => {
  // Known-answer vectors: RFC 4231 test case 2 (SHA-256) and RFC 2202 test case 2 (SHA-1).
  const message = 'what do ya want for nothing?';

  test('matches RFC 4231 for HMAC-SHA256, in hex and base64', () => {
    const hex = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
    expect(computeHmac({ algorithm: 'sha256', key: 'Jefe', message, encoding: 'hex' })).toBe(hex);
    expect(computeHmac({ algorithm: 'sha256', key: 'Jefe', message, encoding: 'base64' })).toBe(
      Buffer.from(hex, 'hex').toString('base64')
    );
  });

  test('matches RFC 2202 for HMAC-SHA1', () => {
    expect(computeHmac({ algorithm: 'sha1', key: 'Jefe', message, encoding: 'hex' })).toBe(
      'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79'
    );
  });

  test('signs the UTF-8 bytes of non-ASCII text', () => {
    const signature = computeHmac({ algorithm: 'sha256', key: 'k', message: 'Zoë', encoding: 'hex' });
    const bytes = computeHmac({
      algorithm: 'sha256',
      key: 'k',
      message: Buffer.from('Zoë').toString('latin1'),
      encoding: 'hex',
    });
    expect(signature).not.toBe(bytes);
    expect(signature).toHaveLength(64);
  });
});

describe('safeEqual', () => {
  test('is true only for identical strings, whatever their lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
  });
});

describe('parseSignatureHeader', () => {
  test('keeps every value of a repeated key', () => {
    const values = parseSignatureHeader('t=1700000000, v1=aaa,v1=bbb ,v0=ccc', 'Test-Signature');
    expect(Object.fromEntries(values)).toEqual({ t: ['1700000000'], v1: ['aaa', 'bbb'], v0: ['ccc'] });
  });

  test('keeps an = inside a value, as base64 signatures have', () => {
    expect(parseSignatureHeader('v1=ab+c/d==', 'H').get('v1')).toEqual(['ab+c/d==']);
  });

  test.each(['', 'garbage', ',,,', '=novalue'])('refuses %j', (header) => {
    expect(() => parseSignatureHeader(header, 'Test-Signature')).toThrow(/The Test-Signature header is malformed/);
  });
});

describe('checkTimestamp', () => {
  const check = (timestamp: string | undefined, nowSeconds = 1_700_000_000) =>
    checkTimestamp({ timestamp, toleranceSeconds: 300, nowSeconds, headerName: 'H' });

  test('accepts a timestamp at either edge of the tolerance', () => {
    expect(check('1699999700')).toBe(1_699_999_700);
    expect(check('1700000300')).toBe(1_700_000_300);
  });

  test('refuses one second past either edge', () => {
    expect(() => check('1699999699')).toThrow(/301 s old, beyond the 300 s tolerance/);
    expect(() => check('1700000301')).toThrow(/301 s in the future, beyond the 300 s tolerance/);
  });

  test.each([undefined, '', 'soon', '1.5', '-1', '99999999999999'])('refuses the timestamp %j', (timestamp) => {
    expect(() => check(timestamp)).toThrow(WebhookVerificationError);
  });
});

describe('findMatchingSignature', () => {
  const sign = (secret: string, body: string) =>
    computeHmac({ algorithm: 'sha256', key: secret, message: body, encoding: 'hex' });

  test('finds the body and secret that match any provided signature', () => {
    const bodies = bodyCandidates({ a: 1 });
    const provided = ['nope', sign('old', '{\n  "a": 1\n}')];

    const match = findMatchingSignature({ secrets: ['new', 'old'], bodies, provided, sign, secretName: 'S' });

    expect(match).toEqual({ body: bodies[1], secretIndex: 1 });
  });

  test('names the bodies it tried and the secret to check, never a signature', () => {
    const expected = sign('s', '{"a":1}');
    const attempt = () =>
      findMatchingSignature({
        secrets: ['s'],
        bodies: bodyCandidates('{"a":2}'),
        provided: ['x'],
        sign,
        secretName: 'S',
      });

    expect(attempt).toThrow('No signature matched (checked against: the raw request body). Check S');
    expect(attempt).not.toThrow(expected);
  });
});

describe('bodyCandidates', () => {
  test('uses a string body verbatim and nothing else', () => {
    expect(bodyCandidates(' {"a": 1}\n')).toEqual([{ label: 'the raw request body', text: ' {"a": 1}\n' }]);
  });

  test('re-serialises a parsed object compactly and indented', () => {
    expect(bodyCandidates({ a: [1] }).map((c) => c.text)).toEqual(['{"a":[1]}', '{\n  "a": [\n    1\n  ]\n}']);
  });

  test('adds \\u-escaped variants when the object holds non-ASCII text', () => {
    const texts = bodyCandidates({ name: 'Zoë 😀' }).map((c) => c.text);
    expect(texts).toContain('{"name":"Zo\\u00eb \\ud83d\\ude00"}');
    expect(texts).toHaveLength(4);
  });

  test("tries the vendor's layout first", () => {
    expect(bodyCandidates({ a: 1 }, { layout: 'indented' }).map((c) => c.label)).toEqual([
      'JSON re-serialised with 2-space indentation',
      'JSON re-serialised compactly',
    ]);
  });

  test('refuses a parsed body nested too deeply to re-serialise, with a PayloadError', () => {
    const depth = 200_000;
    const nested = JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown[];
    expect(() => bodyCandidates(nested)).toThrow(/nested too deeply to verify/);
  });

  test('has nothing to verify for a body Medplum could not parse', () => {
    expect(bodyCandidates(undefined)).toEqual([]);
    expect(bodyCandidates(42)).toEqual([]);
  });
});

describe('parseJsonObject', () => {
  test('parses an object', () => {
    expect(parseJsonObject('{"a":1}')).toEqual({ a: 1 });
  });

  test.each([
    ['not JSON', /not valid JSON/],
    ['[1,2]', /JSON but not an object/],
    ['null', /JSON but not an object/],
  ])('refuses %j', (body, message) => {
    expect(() => parseJsonObject(body)).toThrow(message);
  });
});

describe('secrets', () => {
  const event = botEvent({ input: '', secrets: { A: ' a-value ', A_PREVIOUS: 'old', EMPTY: '  ', B: 'b' } });

  test('reads a trimmed value and treats blank as unset', () => {
    expect(readRequiredSecret(event, 'A')).toBe('a-value');
    expect(readOptionalSecret(event, 'EMPTY')).toBeUndefined();
  });

  test('names a missing secret and how to set it', () => {
    expect(() => readRequiredSecret(event, 'MISSING')).toThrow(
      'Bot secret MISSING is not set; set it in the Medplum app under Project > Secrets'
    );
  });

  test('returns the current secret, then the previous one during a rotation', () => {
    expect(readSigningSecrets(event, 'A')).toEqual(['a-value', 'old']);
    expect(readSigningSecrets(event, 'B')).toEqual(['b']);
  });
});
