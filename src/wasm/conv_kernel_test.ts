import assert from "node:assert/strict";
import { seededRandom } from "../testing/random.ts";
import { convKernelModule } from "./conv_kernel.ts";
import { wasmSimdSupported } from "./simd_support.ts";

const SENTINEL = -1234.5;

/** Instantiates the helpers for `widths` over a fresh one-page memory. */
function helpers(widths: number[]) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = convKernelModule(widths);
  assert.ok(WebAssembly.validate(bytes), `helpers for widths ${widths} validate`);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return {
    f32: new Float32Array(memory.buffer),
    i32: new Int32Array(memory.buffer),
    // deno-lint-ignore no-explicit-any
    fn: instance.exports as Record<string, (...args: number[]) => any>,
  };
}

/**
 * Asserts equal floats: the same value bit for bit (so -0 differs from +0), or NaN on both
 * sides (WebAssembly leaves the sign and payload of a computed NaN open).
 */
function assertSameFloats(actual: Float32Array, expected: Float32Array, label: string) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const [a, e] = [actual[i], expected[i]];
    assert.ok(
      Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)),
      `${label}: [${i}] ${a}, expected ${e}`,
    );
  }
}

/** `n` random floats in [-2, 2) rounded to f32. */
function randoms(rand: () => number, n: number): number[] {
  return Array.from({ length: n }, () => Math.fround(rand() * 4 - 2));
}

Deno.test({
  name: "convKernelModule validates for panel widths 1..9 and rejects bad widths",
  ignore: !wasmSimdSupported(),
}, () => {
  for (let w = 1; w <= 9; w++) helpers([w, 6]);
  assert.throws(() => convKernelModule([8, 0]), /Conv kernel panel width 0 must be an integer/);
  assert.throws(() => convKernelModule([2.5]), RangeError);
});

Deno.test({
  name: "stage copies or pre-activates each row into the padded layout, bit for bit",
  ignore: !wasmSimdSupported(),
}, () => {
  const rand = seededRandom(3);
  const { f32, fn } = helpers([8, 6]);
  // Column counts around the 4-float vectors: tails of 0..3 floats, runs shorter than one.
  for (const [channels, rows, cols] of [[3, 2, 1], [2, 3, 4], [3, 2, 7], [1, 1, 13]]) {
    for (const mode of ["copy", "bn", "bn_relu"] as const) {
      const [top, left, dstRows, dstCols] = [1, 2, rows + 3, cols + 3];
      const [src, scale, shift, dst] = [16, 4096, 4224, 8192];
      const x = randoms(rand, channels * rows * cols);
      x[0] = NaN;
      const s = randoms(rand, channels), t = randoms(rand, channels);
      f32.set(x, src / 4);
      f32.set(s, scale / 4);
      f32.set(t, shift / 4);
      const dstFloats = channels * dstRows * dstCols;
      f32.fill(SENTINEL, dst / 4, dst / 4 + dstFloats);
      const lo = mode === "bn_relu" ? 0 : -Infinity;
      const pre = mode !== "copy";
      fn.stage(
        src,
        dst,
        channels,
        rows,
        cols,
        dstRows,
        dstCols,
        top,
        left,
        pre ? scale : 0,
        pre ? shift : 0,
        lo,
      );
      const expected = new Float32Array(dstFloats).fill(SENTINEL);
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < rows; y++) {
          for (let xi = 0; xi < cols; xi++) {
            const v = x[(c * rows + y) * cols + xi];
            const out = pre ? Math.max(Math.fround(Math.fround(v * s[c]) + t[c]), lo) : v;
            expected[(c * dstRows + top + y) * dstCols + left + xi] = out;
          }
        }
      }
      const label = `${mode} [${channels}, ${rows}, ${cols}]`;
      assertSameFloats(f32.slice(dst / 4, dst / 4 + dstFloats), expected, label);
      // In place: same shape, no padding.
      fn.stage(
        src,
        src,
        channels,
        rows,
        cols,
        rows,
        cols,
        0,
        0,
        pre ? scale : 0,
        pre ? shift : 0,
        lo,
      );
      const inPlace = x.map((v, i) => {
        const c = Math.floor(i / (rows * cols));
        return pre ? Math.max(Math.fround(Math.fround(v * s[c]) + t[c]), lo) : v;
      });
      assertSameFloats(f32.slice(src / 4, src / 4 + x.length), Float32Array.from(inPlace), label);
    }
  }
});

Deno.test({
  name: "gather_W packs contiguous, stride-2 and scattered lanes into the panel layout",
  ignore: !wasmSimdSupported(),
}, () => {
  const rand = seededRandom(9);
  for (const width of [1, 3, 4, 6, 8, 12]) {
    const { f32, i32, fn } = helpers([width, 6]);
    const [base, offsets, deltas, dst] = [64, 8192, 9216, 10240];
    f32.set(randoms(rand, 2000), base / 4);
    const depth = 5;
    // Panel 0 steps by 4 bytes, panel 1 by 8, panel 2 wraps once, panel 3 is scattered.
    const lanes: number[] = [];
    for (let l = 0; l < width; l++) lanes.push(40 + 4 * l);
    for (let l = 0; l < width; l++) lanes.push(600 + 8 * l);
    for (let l = 0; l < width; l++) lanes.push(l < width / 2 ? 1000 + 4 * l : 1400 + 4 * l);
    for (let l = 0; l < width; l++) lanes.push(4 * Math.floor(rand() * 300));
    const panels = lanes.length / width;
    const taps = Array.from({ length: depth }, () => 4 * Math.floor(rand() * 150));
    i32.set(lanes, offsets / 4);
    i32.set(taps, deltas / 4);
    const floats = panels * width * depth;
    f32.fill(SENTINEL, dst / 4, dst / 4 + floats + 8);
    fn[`gather_${width}`](base, offsets, deltas, depth, dst, panels);
    const expected = new Float32Array(floats + 8).fill(SENTINEL);
    for (let t = 0; t < panels; t++) {
      for (let p = 0; p < depth; p++) {
        for (let l = 0; l < width; l++) {
          expected[(t * depth + p) * width + l] = f32[(base + lanes[t * width + l] + taps[p]) / 4];
        }
      }
    }
    assertSameFloats(f32.slice(dst / 4, dst / 4 + floats + 8), expected, `width ${width}`);
  }
});

/** The store functions' expected value: R + bias (+ z), then max lo, min hi, in f32 steps. */
function epilogue(r: number, bias: number, z: number | undefined, lo: number, hi: number) {
  let v = Math.fround(r + bias);
  if (z !== undefined) v = Math.fround(v + z);
  return Math.min(Math.max(v, lo), hi);
}

Deno.test({
  name: "store_cols and store_rows apply bias, residual and activation in the two layouts",
  ignore: !wasmSimdSupported(),
}, () => {
  const rand = seededRandom(17);
  const { f32, fn } = helpers([8, 6]);
  const [r, bias, z, dst] = [64, 8192, 12288, 24576];
  const BOUNDS = [[-Infinity, Infinity], [0, Infinity], [Math.fround(-0.75), Math.fround(1.25)]];
  for (const [rows, cols] of [[1, 1], [7, 3], [8, 2], [13, 5]]) {
    const ldc = Math.ceil(rows / 4) * 4;
    const values = randoms(rand, ldc * cols);
    values[0] = NaN;
    f32.set(values, r / 4);
    for (const withZ of [false, true]) {
      for (const [lo, hi] of BOUNDS) {
        for (const layout of ["cols", "rows"] as const) {
          // cols: column j to dst + j * stride; rows: row i to dst + i * stride.
          const stride = (layout === "cols" ? rows + 2 : cols + 1) * 4;
          const b = randoms(rand, layout === "cols" ? cols : rows);
          const residual = randoms(rand, 200);
          f32.set(b, bias / 4);
          f32.set(residual, z / 4);
          f32.fill(SENTINEL, dst / 4, dst / 4 + 200);
          fn[`store_${layout}`](r, ldc * 4, rows, cols, dst, stride, bias, withZ ? z : 0, lo, hi);
          const expected = new Float32Array(200).fill(SENTINEL);
          for (let j = 0; j < cols; j++) {
            for (let i = 0; i < rows; i++) {
              const at = layout === "cols" ? j * stride / 4 + i : i * stride / 4 + j;
              const bv = layout === "cols" ? b[j] : b[i];
              const zv = withZ ? residual[at] : undefined;
              expected[at] = epilogue(values[j * ldc + i], bv, zv, lo, hi);
            }
          }
          const label = `${layout} ${rows}x${cols}, z ${withZ}, [${lo}, ${hi}]`;
          assertSameFloats(f32.slice(dst / 4, dst / 4 + 200), expected, label);
        }
      }
    }
  }
});
