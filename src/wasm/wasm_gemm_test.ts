import assert from "node:assert/strict";
import { type MatrixView, rowMajor } from "../ops/cpu_gemm.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose, relativeL2, TOLERANCES } from "../testing/tolerance.ts";
import { relaxedSimdSupported, wasmSimdSupported } from "./simd_support.ts";
import { DEFAULT_KERNEL, WasmGemm } from "./wasm_gemm.ts";

const SIZES = [1, 3, 7, 17, 64, 100];
const SENTINEL = 1234.5;

/** Element (i, j) of a view. */
const at = (v: MatrixView, i: number, j: number) =>
  v.data[v.offset + i * v.rowStride + j * v.colStride];

/** A random rows x cols matrix in a larger array: row-major or transposed, at an offset. */
function randomView(rand: () => number, rows: number, cols: number, transposed: boolean) {
  const offset = 1 + Math.floor(rand() * 9);
  const data = new Float32Array(offset + rows * cols + 5);
  for (let i = 0; i < data.length; i++) data[i] = rand() * 2 - 1;
  return transposed
    ? { data, offset, rowStride: 1, colStride: rows }
    : { data, offset, rowStride: cols, colStride: 1 };
}

/** C as the callers pass it: a column slice of a wider row-major matrix, or transposed. */
function outputView(m: number, n: number, transposed: boolean): MatrixView {
  const data = new Float32Array(3 + m * (n + 2)).fill(SENTINEL);
  return transposed
    ? { data, offset: 3, rowStride: 1, colStride: m + 1 }
    : { data, offset: 3, rowStride: n + 2, colStride: 1 };
}

/** The expected contents of c's array after C = A B: float64 sums, sentinels elsewhere. */
function expectedOutput(
  m: number,
  n: number,
  k: number,
  a: MatrixView,
  b: MatrixView,
  c: MatrixView,
) {
  const out = new Float64Array(c.data.length).fill(SENTINEL);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += at(a, i, p) * at(b, p, j);
      out[c.offset + i * c.rowStride + j * c.colStride] = sum;
    }
  }
  return out;
}

/**
 * Operand layouts of the callers: Conv (constant row-major weights at a group offset, patches
 * row-major), Gemm (transA / transB, constant B), MatMul (row-major at batch offsets), each
 * with C row-major or transposed.
 */
const LAYOUTS = [
  { ta: false, tb: false, constA: true, constB: false, tc: false },
  { ta: true, tb: true, constA: false, constB: true, tc: false },
  { ta: false, tb: true, constA: false, constB: false, tc: true },
  { ta: true, tb: false, constA: false, constB: false, tc: false },
];

/**
 * Kernel instances under test: the default tile, odd tiles and blocks to hit the edges, and
 * 3 threads (each product split into up to 3 column ranges) with its workers started.
 */
async function instances(): Promise<[string, WasmGemm][]> {
  const arithmetic = relaxedSimdSupported() ? "f32-fma" : "f32";
  const threaded = new WasmGemm(
    { mr: 8, nr: 4, chunk: 7, arithmetic },
    { blocking: { mc: 16, kc: 9 }, threads: 3 },
  );
  assert.ok(await threaded.started(30_000), "3 threads started");
  return [
    ["8x4 3 threads mc 16 kc 9", threaded],
    ["8x6 default", new WasmGemm({ ...DEFAULT_KERNEL, arithmetic })],
    [
      "8x6 no fma mc 8 kc 16",
      new WasmGemm({ mr: 8, nr: 6, chunk: 5, arithmetic: "f32" }, { blocking: { mc: 8, kc: 16 } }),
    ],
    [
      "12x5 chunk 3 mc 24 kc 7",
      new WasmGemm({ mr: 12, nr: 5, chunk: 3, arithmetic }, { blocking: { mc: 24, kc: 7 } }),
    ],
  ];
}

Deno.test({
  name: "WasmGemm matches float64 sums for M, N, K in {1,3,7,17,64,100} and the callers' layouts",
  ignore: !wasmSimdSupported(),
}, async () => {
  for (const [name, gemm] of await instances()) {
    const rand = seededRandom(name.length);
    let combo = 0;
    for (const m of SIZES) {
      for (const n of SIZES) {
        for (const k of SIZES) {
          const layout = LAYOUTS[combo++ % LAYOUTS.length];
          const a = { ...randomView(rand, m, k, layout.ta), constant: layout.constA };
          const b = { ...randomView(rand, k, n, layout.tb), constant: layout.constB };
          const c = outputView(m, n, layout.tc);
          const expected = expectedOutput(m, n, k, a, b, c);
          gemm.gemm(m, n, k, a, b, c);
          const label = `${name}: [${m}, ${n}, ${k}] ${JSON.stringify(layout)}`;
          assertClose(c.data, expected, TOLERANCES.f32Kernel, label);
          assert.equal(gemm.heap.usedBytes, gemm.cache.bytes, `${label}: scratch freed`);
        }
      }
    }
    gemm.dispose();
  }
});

Deno.test({
  name: "WasmGemm packs constant weights once per array and view, and re-packs other operands",
  ignore: !wasmSimdSupported(),
}, () => {
  const gemm = new WasmGemm({ ...DEFAULT_KERNEL, arithmetic: "f32" });
  const rand = seededRandom(21);
  // Two groups of a grouped conv: one weight array, two row offsets.
  const [m, n, k] = [17, 30, 9];
  const weights = randomView(rand, 2 * m, k, false);
  const group = (g: number) => ({ ...weights, offset: weights.offset + g * m * k, constant: true });
  const run = (g: number, b: MatrixView) => {
    const c = outputView(m, n, false);
    gemm.gemm(m, n, k, group(g), b, c);
    assertClose(
      c.data,
      expectedOutput(m, n, k, group(g), b, c),
      TOLERANCES.f32Kernel,
      `group ${g}`,
    );
  };
  const patches = randomView(rand, k, n, false);
  run(0, patches);
  const oneGroup = gemm.cache.bytes;
  assert.ok(oneGroup > 0, "the weights were cached");
  run(1, patches);
  assert.equal(gemm.cache.bytes, 2 * oneGroup, "each group's view has its own entry");
  // New patch values in the same array: the non-constant operand is packed again.
  patches.data.forEach((_, i) => (patches.data[i] = rand() * 2 - 1));
  run(0, patches);
  run(1, patches);
  assert.equal(gemm.cache.bytes, 2 * oneGroup, "cache hits add nothing");
  assert.equal(gemm.heap.usedBytes, gemm.cache.bytes);
});

Deno.test({
  name: "WasmGemm evicts cached weights beyond its capacity and stays correct",
  ignore: !wasmSimdSupported(),
}, () => {
  const rand = seededRandom(4);
  const [m, n, k] = [8, 12, 100];
  const gemm = new WasmGemm({ ...DEFAULT_KERNEL, arithmetic: "f32" }, {
    cacheBytes: m * k * 4 * 2,
  });
  for (let step = 0; step < 6; step++) {
    const a = { ...randomView(rand, m, k, false), constant: true };
    const b = randomView(rand, k, n, false);
    const c = outputView(m, n, false);
    gemm.gemm(m, n, k, a, b, c);
    assertClose(c.data, expectedOutput(m, n, k, a, b, c), TOLERANCES.f32Kernel, `step ${step}`);
    assert.ok(gemm.cache.bytes <= m * k * 4 * 3, `step ${step}: at most one entry over`);
  }
});

Deno.test({
  name: "WasmGemm keeps NaN and Inf to the rows and columns they belong to",
  ignore: !wasmSimdSupported(),
}, () => {
  const gemm = new WasmGemm({ ...DEFAULT_KERNEL, arithmetic: "f32" });
  const rand = seededRandom(8);
  // [5, 7] runs transposed (7 pads to 8 lanes better than 5), [9, 7] as is.
  for (const [m, n, k] of [[5, 7, 6], [9, 7, 6]]) {
    const a = randomView(rand, m, k, false), b = randomView(rand, k, n, false);
    const [badRow, badCol] = [m - 1, 2];
    a.data[a.offset + badRow * k + 1] = NaN;
    b.data[b.offset + 3 * n + badCol] = Infinity;
    const c = outputView(m, n, false);
    gemm.gemm(m, n, k, a, b, c);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const v = c.data[c.offset + i * c.rowStride + j];
        const bad = i === badRow || j === badCol;
        assert.equal(Number.isFinite(v), !bad, `[${m}, ${n}] (${i}, ${j}) = ${v}`);
      }
    }
  }
});

Deno.test({
  name: "WasmGemm writes zeros for K = 0 and nothing for an empty C",
  ignore: !wasmSimdSupported(),
}, () => {
  const gemm = new WasmGemm({ ...DEFAULT_KERNEL, arithmetic: "f32" });
  const empty = { data: new Float32Array(0), offset: 0, rowStride: 0, colStride: 1 };
  const c = outputView(3, 4, false);
  gemm.gemm(3, 4, 0, empty, empty, c);
  assert.deepEqual(c.data, Float32Array.from(expectedOutput(3, 4, 0, empty, empty, c)));
  const untouched = outputView(3, 4, false);
  gemm.gemm(0, 4, 5, empty, randomView(seededRandom(1), 5, 4, false), untouched);
  assert.ok(untouched.data.every((v) => v === SENTINEL));
});

Deno.test({
  name: "WasmGemm's two-level summation keeps long positive sums several times closer",
  ignore: !wasmSimdSupported(),
}, () => {
  // Positive terms make the rounding errors of one running f32 sum pile up with the depth.
  const [m, n, k] = [8, 6, 16384];
  const rand = seededRandom(12);
  const a = rowMajor(Float32Array.from({ length: m * k }, rand), k);
  const b = rowMajor(Float32Array.from({ length: k * n }, rand), n);
  const error = (chunk: number) => {
    const c = outputView(m, n, false);
    const blocking = { mc: 128, kc: k }; // one block: only `chunk` splits the sums
    new WasmGemm({ ...DEFAULT_KERNEL, chunk, arithmetic: "f32" }, { blocking }).gemm(
      m,
      n,
      k,
      a,
      b,
      c,
    );
    return relativeL2(c.data, expectedOutput(m, n, k, a, b, c));
  };
  const [flat, twoLevel] = [error(k), error(DEFAULT_KERNEL.chunk)];
  assert.ok(twoLevel * 4 < flat, `two-level error ${twoLevel}, one running sum ${flat}`);
});
