import { describe, expect, it } from 'vitest';
import { decodeBase64, instantiateSimdModule } from '../../src/image/wasm/instantiate.js';

// Ground truth: the bytes of a known text and base64 strings of every padding length (RFC 4648 test vectors).
const VECTORS: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  ['f', 'Zg=='],
  ['fo', 'Zm8='],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg=='],
  ['fooba', 'Zm9vYmE='],
  ['foobar', 'Zm9vYmFy'],
];

describe('WebAssembly module loading', () => {
  it('decodes base64 as RFC 4648 defines it', () => {
    for (const [text, b64] of VECTORS) expect(Array.from(decodeBase64(b64))).toEqual(Array.from(text, (c) => c.charCodeAt(0)));
    // All 256 byte values through the whole alphabet (+ and / included).
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    let bin = '';
    for (const b of all) bin += String.fromCharCode(b);
    expect(Array.from(decodeBase64(btoa(bin)))).toEqual(Array.from(all));
  });

  it('rejects a character outside the alphabet', () => {
    expect(() => decodeBase64('Zm9v*')).toThrow(RangeError);
  });

  it('gives null for bytes that are not a module, and the exports of a valid one', () => {
    expect(instantiateSimdModule('Zm9vYmFy')).toBeNull();
    // The smallest valid module: magic "\0asm" and version 1, no sections (no exports).
    expect(instantiateSimdModule(btoa('\0asm\x01\0\0\0'))).toEqual({});
  });
});
