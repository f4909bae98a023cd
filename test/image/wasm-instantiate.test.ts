import { describe, expect, it } from 'vitest';
import { alignUp, decodeBase64, growMemoryTo, instantiateSimdModule, lazySimdModule, SIMD_ALIGN, WASM_PAGE_BYTES, type WasmMemory } from '../../src/image/wasm/instantiate.js';
import { BLUR5_WASM_BASE64 } from '../../src/image/wasm/blur5-module.js';

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

  it('rounds region sizes up to whole vectors', () => {
    expect(SIMD_ALIGN).toBe(16);
    for (const [n, want] of [
      [0, 0],
      [1, 16],
      [16, 16],
      [17, 32],
      [1000, 1008],
    ] as const) expect(alignUp(n)).toBe(want);
  });

  it('grows a memory by whole pages to the size asked, and reports a refused growth without changing anything', () => {
    // The project's lib settings carry no WebAssembly types: the constructor is typed here.
    const api = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => WasmMemory } }).WebAssembly;
    const memory = new api.Memory({ initial: 1, maximum: 3 });
    expect(growMemoryTo(memory, 100)).toBe(true);
    expect(memory.buffer.byteLength).toBe(WASM_PAGE_BYTES);
    expect(growMemoryTo(memory, WASM_PAGE_BYTES + 1)).toBe(true);
    expect(memory.buffer.byteLength).toBe(2 * WASM_PAGE_BYTES);
    // Past the maximum the engine refuses: false, and the memory keeps its size.
    expect(growMemoryTo(memory, 3 * WASM_PAGE_BYTES + 1)).toBe(false);
    expect(memory.buffer.byteLength).toBe(2 * WASM_PAGE_BYTES);
  });

  it('loads a module once on first use, and answers null when a function it needs is missing', () => {
    const blur = lazySimdModule<{ blur5_binomial: unknown }>(BLUR5_WASM_BASE64, ['blur5_binomial']);
    const first = blur();
    expect(typeof first?.blur5_binomial).toBe('function');
    expect(blur()).toBe(first);
    const missing = lazySimdModule(BLUR5_WASM_BASE64, ['blur5_binomial', 'no_such_kernel']);
    expect(missing()).toBeNull();
    expect(lazySimdModule('Zm9vYmFy', [])()).toBeNull();
  });
});
