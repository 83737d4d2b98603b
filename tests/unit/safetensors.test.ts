// safetensors: reading the fixtures, F16/BF16 upcasts checked against hand-computed values, the
// writer's exact byte layout (as the Python library writes it), and the validation of hostile headers.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  SafetensorsError,
  parseSafetensors,
  readSafetensorsIndex,
  readSafetensorsMetadata,
  writeSafetensors,
  type HostTensor,
} from '../../src/core/model/safetensors';

const fixture = (path: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/hf/${path}`, import.meta.url))));

/** Builds a file from a raw header object and data bytes, for dtypes and layouts the writer does not make. */
function rawFile(header: unknown, data: number[] | Uint8Array = [], headerText?: string): Uint8Array {
  let json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const padded = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  padded.set(json);
  json = padded;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian bytes of 16-bit words. */
const words = (...values: number[]) => values.flatMap((w) => [w & 0xff, w >> 8]);

function errorOf(fn: () => unknown): SafetensorsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError');
}

describe('reading the fixtures', () => {
  it('reads tiny-gpt2 with the names, shapes and values Python sees', () => {
    const tensors = parseSafetensors(fixture('tiny-gpt2/model.safetensors'), 'model.safetensors');
    expect(tensors.size).toBe(28);
    expect(tensors.get('transformer.wte.weight')!.shape).toEqual([512, 32]);
    expect(tensors.get('transformer.h.0.attn.c_attn.weight')!.shape).toEqual([32, 96]);
    const wte = tensors.get('transformer.wte.weight')!.data;
    expect(wte.length).toBe(512 * 32);
    expect([wte[0], wte[1], wte[2], wte[wte.length - 1]]).toEqual([
      -0.00011866311251651496, 0.008068440482020378, -0.0011880532838404179, -0.010547775775194168,
    ]);
    expect(wte.reduce((a, b) => a + b, 0)).toBeCloseTo(1.0027699085268864, 9);
  });

  it('reads tiny-llama (GQA k_proj [16, 32], untied lm_head)', () => {
    const bytes = fixture('tiny-llama/model.safetensors');
    const tensors = parseSafetensors(bytes, 'model.safetensors');
    expect(tensors.size).toBe(21);
    const k = tensors.get('model.layers.0.self_attn.k_proj.weight')!;
    expect(k.shape).toEqual([16, 32]);
    expect([k.data[0], k.data[1], k.data[2], k.data[511]]).toEqual([
      -0.008151658810675144, 0.014864777214825153, -0.014457478187978268, 0.007158839609473944,
    ]);
    expect(tensors.get('lm_head.weight')!.data[0]).toBe(0.012479612603783607);
    expect(readSafetensorsMetadata(bytes, 'model.safetensors')).toEqual({ format: 'pt' });
    expect(readSafetensorsIndex(bytes, 'model.safetensors').get('model.norm.weight')).toEqual({ dtype: 'F32', shape: [32] });
  });

  it('rewriting a fixture reproduces the Python-written file byte for byte', () => {
    const bytes = fixture('tiny-gpt2/model.safetensors');
    const rewritten = writeSafetensors(parseSafetensors(bytes, 'model.safetensors'), { format: 'pt' });
    expect(rewritten.length).toBe(bytes.length);
    expect(Buffer.from(rewritten).equals(Buffer.from(bytes))).toBe(true);
  });

  it('reads from a Uint8Array that is a view at an odd offset, and never aliases it', () => {
    const bytes = fixture('tiny-llama/model.safetensors');
    const bigger = new Uint8Array(bytes.length + 3);
    bigger.set(bytes, 3);
    const view = bigger.subarray(3);
    const norm = parseSafetensors(view, 'model.safetensors').get('model.norm.weight')!;
    const expected = parseSafetensors(bytes, 'model.safetensors').get('model.norm.weight')!;
    expect(Array.from(norm.data)).toEqual(Array.from(expected.data));
    bigger.fill(0);
    expect(Array.from(norm.data)).toEqual(Array.from(expected.data));
  });
});

describe('F16 and BF16 become float32 exactly', () => {
  it('F16: normals, subnormals, zeros, infinities and NaN', () => {
    const halves = [0x3c00, 0xc000, 0x7bff, 0x3555, 0x0400, 0x0001, 0x03ff, 0x8001, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00];
    const file = rawFile({ h: { dtype: 'F16', shape: [halves.length], data_offsets: [0, 2 * halves.length] } }, words(...halves));
    const data = Array.from(parseSafetensors(file, 'half.safetensors').get('h')!.data);
    expect(data.slice(0, 10)).toEqual([
      1,
      -2,
      65504,
      0.333251953125,
      2 ** -14,
      2 ** -24,
      1023 * 2 ** -24,
      -(2 ** -24),
      0,
      -0,
    ]);
    expect(Object.is(data[9], -0)).toBe(true);
    expect(Object.is(data[8], 0)).toBe(true);
    expect(data[10]).toBe(Infinity);
    expect(data[11]).toBe(-Infinity);
    expect(Number.isNaN(data[12])).toBe(true);
  });

  it('BF16: the top half of a float32, subnormals and specials included', () => {
    const halves = [0x3f80, 0xc040, 0x3eab, 0x0001, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x7f7f];
    const file = rawFile({ b: { dtype: 'BF16', shape: [3, 3], data_offsets: [0, 18] } }, words(...halves));
    const tensor = parseSafetensors(file, 'bf16.safetensors').get('b')!;
    expect(tensor.shape).toEqual([3, 3]);
    const data = Array.from(tensor.data);
    expect(data.slice(0, 7)).toEqual([1, -3, 0.333984375, 2 ** -133, -0, Infinity, -Infinity]);
    expect(Object.is(data[4], -0)).toBe(true);
    expect(Number.isNaN(data[7])).toBe(true);
    expect(data[8]).toBe(255 * 2 ** 120); // 0x7f7f: largest finite bf16, (1 + 127/128) · 2^127
  });

  it('reads an F32 tensor at a data offset that is not 4-aligned', () => {
    // the data section starts 8-aligned and the F16 scalar takes 2 bytes, so the F32 tensor starts at 8k + 2
    const header = {
      a: { dtype: 'F16', shape: [], data_offsets: [0, 2] },
      b: { dtype: 'F32', shape: [2], data_offsets: [2, 10] },
    };
    const f32 = new Uint8Array(new Float32Array([1.5, -0.1]).buffer);
    const file = rawFile(header, [...words(0x4200), ...f32]);
    const tensors = parseSafetensors(file, 'mixed.safetensors');
    expect(tensors.get('a')).toEqual({ shape: [], data: new Float32Array([3]) });
    expect(Array.from(tensors.get('b')!.data)).toEqual([1.5, Math.fround(-0.1)]);
  });
});

describe('writing', () => {
  it('sorts names, writes compact JSON padded with spaces to 8 bytes, and round-trips', () => {
    const tensors: Record<string, HostTensor> = {
      'z.weight': { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      '10': { shape: [1], data: new Float32Array([-0.5]) },
      'a.bias': { shape: [3], data: new Float32Array([0.1, NaN, -Infinity]) },
    };
    const bytes = writeSafetensors(tensors, { step: '3', format: 'pt' });
    const json =
      '{"__metadata__":{"format":"pt","step":"3"},' +
      '"10":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
      '"a.bias":{"dtype":"F32","shape":[3],"data_offsets":[4,16]},' +
      '"z.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}';
    const headerLength = Math.ceil(json.length / 8) * 8;
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(headerLength);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))).toBe(json.padEnd(headerLength, ' '));
    expect(bytes.length).toBe(8 + headerLength + 32);

    const back = parseSafetensors(bytes, 'out.safetensors');
    expect([...back.keys()].sort()).toEqual(['10', 'a.bias', 'z.weight']);
    expect(back.get('z.weight')).toEqual({ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    expect(Array.from(back.get('a.bias')!.data)).toEqual([Math.fround(0.1), NaN, -Infinity]);
    expect(readSafetensorsMetadata(bytes, 'out.safetensors')).toEqual({ format: 'pt', step: '3' });
  });

  it('writes an empty file and no __metadata__ when none is given', () => {
    const bytes = writeSafetensors(new Map());
    expect(new TextDecoder().decode(bytes.subarray(8))).toBe('{}      ');
    expect(parseSafetensors(bytes, 'empty.safetensors').size).toBe(0);
    expect(readSafetensorsMetadata(bytes, 'empty.safetensors')).toEqual({});
  });

  it('refuses data that does not fill the shape', () => {
    const error = errorOf(() => writeSafetensors({ w: { shape: [2, 3], data: new Float32Array(5) } }));
    expect(error.tensor).toBe('w');
    expect(error.message).toContain('tensor "w": shape [2,3] holds 6 values but the data has 5');
  });
});

describe('validating before trusting the header', () => {
  const good = () => writeSafetensors({ 'transformer.h.0.attn.c_attn.weight': { shape: [2, 3], data: new Float32Array(6) } });

  it('a file shorter than 8 bytes', () => {
    const error = errorOf(() => parseSafetensors(new Uint8Array(5), 'model.safetensors'));
    expect(error.file).toBe('model.safetensors');
    expect(error.message).toBe(
      'model.safetensors: is 5 bytes long, too short to be a safetensors file (it needs at least the 8-byte header length); the file is empty or truncated',
    );
  });

  it('a header length past the end of the file', () => {
    const bytes = good().subarray(0, 40);
    expect(errorOf(() => parseSafetensors(bytes, 'model.safetensors')).message).toMatch(
      /^model\.safetensors: header length \d+ runs past the end of the file \(40 bytes\)/,
    );
  });

  it('a header length over 100 MB', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setUint32(4, 1, true); // 2^32
    expect(errorOf(() => parseSafetensors(bytes, 'x.safetensors')).message).toContain('header length 4294967296 is over the 100 MB limit');
  });

  it('a header that is not UTF-8, not JSON, or not an object', () => {
    const notUtf8 = rawFile(null, [], '\u0000');
    notUtf8[8] = 0xff;
    expect(errorOf(() => parseSafetensors(notUtf8, 'a.safetensors')).message).toContain('a.safetensors: header is not valid UTF-8');
    expect(errorOf(() => parseSafetensors(rawFile(null, [], '{"a": '), 'a.safetensors')).message).toContain('header is not valid JSON');
    expect(errorOf(() => parseSafetensors(rawFile([1, 2]), 'a.safetensors')).message).toContain('header is not a JSON object');
  });

  it('tensor data past the end of the file (truncated download)', () => {
    const full = good();
    const error = errorOf(() => parseSafetensors(full.subarray(0, full.length - 4), 'model.safetensors'));
    expect(error.tensor).toBe('transformer.h.0.attn.c_attn.weight');
    expect(error.message).toBe(
      'model.safetensors: tensor "transformer.h.0.attn.c_attn.weight": data_offsets [0, 24] run past the end of the file (20 bytes of tensor data follow the header); the file is truncated',
    );
  });

  it('an unsupported dtype', () => {
    const file = rawFile({ q: { dtype: 'I8', shape: [4], data_offsets: [0, 4] } }, [1, 2, 3, 4]);
    const error = errorOf(() => parseSafetensors(file, 'model.safetensors'));
    expect(error.tensor).toBe('q');
    expect(error.message).toContain('model.safetensors: tensor "q": unsupported dtype "I8" (Hone reads F32, F16 and BF16)');
    const f64 = rawFile({ d: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
    expect(errorOf(() => parseSafetensors(f64, 'm.safetensors')).message).toContain('unsupported dtype "F64"');
  });

  it('malformed entries: shapes, offsets, sizes, overlaps, metadata', () => {
    const bytes = new Uint8Array(16);
    const parse = (header: unknown) => errorOf(() => parseSafetensors(rawFile(header, bytes), 'm.safetensors')).message;
    expect(parse({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } })).toContain(
      'tensor "w": "shape" must be a list of non-negative integers, got [-1]',
    );
    expect(parse({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } })).toContain('"shape" must be a list of non-negative integers');
    expect(parse({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } })).toContain('"data_offsets" must be two non-negative integers');
    expect(parse({ w: { dtype: 'F32', shape: [1] } })).toContain('"data_offsets" must be two non-negative integers');
    expect(parse({ w: { shape: [1], data_offsets: [0, 4] } })).toContain('tensor "w": header entry has no "dtype" string');
    expect(parse({ w: 7 })).toContain('tensor "w": header entry is not an object');
    expect(parse({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 8] } })).toContain(
      'tensor "w": shape [2,2] of F32 needs 16 bytes but data_offsets [0, 8] span 8',
    );
    expect(
      parse({
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      }),
    ).toContain('tensor "b": data_offsets [4, 12] overlap those of tensor "a" [0, 8]');
    expect(parse({ __metadata__: { format: 1 } })).toContain('header field "__metadata__" must be an object of string values');
  });
});
