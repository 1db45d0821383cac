import assert from "node:assert/strict";
import { seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { type GemmArithmetic, type GemmKernelConfig, gemmKernelModule } from "./gemm_kernel.ts";
import { relaxedSimdSupported, wasmSimdSupported } from "./simd_support.ts";

const ARITHMETIC: GemmArithmetic[] = relaxedSimdSupported() ? ["f32", "f32-fma"] : ["f32"];

/** Instantiates the kernel for `config` over a fresh memory of `pages` pages. */
function kernel(config: GemmKernelConfig, pages: number) {
  const memory = new WebAssembly.Memory({ initial: pages });
  const bytes = gemmKernelModule(config);
  assert.ok(WebAssembly.validate(bytes), `kernel ${JSON.stringify(config)} validates`);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  // deno-lint-ignore no-explicit-any
  return { memory, exports: instance.exports as Record<string, (...args: number[]) => any> };
}

Deno.test({
  name: "Every generated kernel module validates (tiles 4..16 x 1..8, with and without FMA)",
  ignore: !wasmSimdSupported(),
}, () => {
  for (const mr of [4, 8, 12, 16]) {
    for (let nr = 1; nr <= 8; nr++) {
      for (const arithmetic of ARITHMETIC) {
        const bytes = gemmKernelModule({ mr, nr, arithmetic, chunk: 32 });
        assert.ok(WebAssembly.validate(bytes), `kernel ${mr}x${nr} ${arithmetic}`);
      }
    }
  }
  const bad = (mr: number, nr: number, chunk: number) =>
    assert.throws(() => gemmKernelModule({ mr, nr, arithmetic: "f32", chunk }), RangeError);
  bad(6, 4, 32);
  bad(8, 0, 32);
  bad(8, 6, 0);
  assert.throws(
    () => gemmKernelModule({ mr: 6, nr: 4, arithmetic: "f32", chunk: 32 }),
    /Gemm kernel tile 6x4 must have rows a multiple of 4/,
  );
});

Deno.test({
  name: "pack_W copies W-lane panels into the documented layout for every move size",
  ignore: !wasmSimdSupported(),
}, () => {
  const rand = seededRandom(5);
  for (let width = 1; width <= 9; width++) {
    const { memory, exports } = kernel({ mr: 12, nr: width, arithmetic: "f32", chunk: 32 }, 1);
    const heap = new Float32Array(memory.buffer);
    const [depth, panels, rowFloats] = [5, 3, width * 3 + 2];
    const src = 16, dst = 1024;
    for (let i = 0; i < depth * rowFloats; i++) heap[src + i] = rand();
    heap.fill(-1, dst, dst + panels * width * depth + 8);
    exports[`pack_${width}`](src * 4, rowFloats * 4, dst * 4, depth, panels);
    const expected = new Float32Array(panels * width * depth + 8).fill(-1);
    for (let t = 0; t < panels; t++) {
      for (let p = 0; p < depth; p++) {
        for (let l = 0; l < width; l++) {
          expected[t * width * depth + p * width + l] = heap[src + p * rowFloats + t * width + l];
        }
      }
    }
    assert.deepEqual(heap.slice(dst, dst + expected.length), expected, `width ${width}`);
  }
});

Deno.test({
  name: "gemm_block computes and accumulates every tile size against float64 sums",
  ignore: !wasmSimdSupported(),
}, () => {
  const rand = seededRandom(9);
  for (const arithmetic of ARITHMETIC) {
    // Chunks of 4 and 2 depths end inside the 9-depth block; 100 holds it whole.
    for (const [mr, nr, chunk] of [[8, 6, 4], [12, 5, 2], [4, 3, 100]]) {
      const { memory, exports } = kernel({ mr, nr, arithmetic, chunk }, 4);
      const heap = new Float32Array(memory.buffer);
      // One full panel plus an edge of every size: every micro-kernel in the table runs.
      for (let rowEdge = 4; rowEdge <= mr; rowEdge += 4) {
        for (let colEdge = 1; colEdge <= nr; colEdge++) {
          const rows = mr + rowEdge, cols = nr + colEdge, depth = 13;
          const kc = 9, p0 = 3; // one block of depths 3..11, added to R's values
          const vAt = 64, sAt = vAt + 2 * mr * depth, rAt = sAt + 2 * nr * depth;
          for (let i = vAt; i < rAt + rows * cols; i++) heap[i] = rand() * 2 - 1;
          const v = (i: number, p: number) =>
            heap[vAt + Math.floor(i / mr) * mr * depth + p * mr + (i % mr)];
          const s = (p: number, j: number) =>
            heap[sAt + Math.floor(j / nr) * nr * depth + p * nr + (j % nr)];
          const expected = heap.slice(rAt, rAt + rows * cols);
          for (let j = 0; j < cols; j++) {
            for (let i = 0; i < rows; i++) {
              let sum = expected[j * rows + i];
              for (let p = p0; p < p0 + kc; p++) sum += v(i, p) * s(p, j);
              expected[j * rows + i] = sum;
            }
          }
          const [vBytes, sBytes] = [mr * depth * 4, nr * depth * 4];
          const v0 = (vAt + p0 * mr) * 4, s0 = (sAt + p0 * nr) * 4;
          exports.gemm_block(v0, s0, rAt * 4, rows, cols, kc, vBytes, sBytes, rows * 4, 1);
          const label = `${mr}x${nr} chunk ${chunk} ${arithmetic}: ${rows} x ${cols}`;
          assertClose(heap.slice(rAt, rAt + rows * cols), expected, TOLERANCES.f32Kernel, label);
        }
      }
    }
  }
});

Deno.test({
  name: "gemm_block with i16-pairs arithmetic sums int8 products exactly, edge tiles included",
  ignore: !wasmSimdSupported(),
}, () => {
  const rand = seededRandom(21);
  const int8 = () => Math.floor(rand() * 256) - 128;
  for (const [mr, nr, chunk] of [[8, 6, 3], [4, 5, 100]]) {
    const { memory, exports } = kernel({ mr, nr, arithmetic: "i16-pairs", chunk }, 4);
    const heap = new Int32Array(memory.buffer);
    const rows = mr + 4, cols = nr + 2, pairs = 11, kc = 7, p0 = 2;
    const vAt = 64, sAt = vAt + 2 * mr * pairs, rAt = sAt + 2 * nr * pairs;
    /** A pair of int8 values as the kernel's i32 element, and the values themselves. */
    const values = new Map<number, [number, number]>();
    for (let i = vAt; i < rAt; i++) {
      const pair: [number, number] = [int8(), int8()];
      heap[i] = (pair[0] & 0xffff) | (pair[1] << 16);
      values.set(i, pair);
    }
    for (let i = rAt; i < rAt + rows * cols; i++) heap[i] = Math.floor((rand() - 0.5) * 2 ** 31);
    const v = (i: number, p: number) =>
      values.get(vAt + Math.floor(i / mr) * mr * pairs + p * mr + (i % mr))!;
    const s = (p: number, j: number) =>
      values.get(sAt + Math.floor(j / nr) * nr * pairs + p * nr + (j % nr))!;
    const expected = heap.slice(rAt, rAt + rows * cols);
    for (let j = 0; j < cols; j++) {
      for (let i = 0; i < rows; i++) {
        let sum = expected[j * rows + i];
        for (let p = p0; p < p0 + kc; p++) {
          const [a0, a1] = v(i, p), [b0, b1] = s(p, j);
          sum = (sum + a0 * b0 + a1 * b1) | 0;
        }
        expected[j * rows + i] = sum;
      }
    }
    const v0 = (vAt + p0 * mr) * 4, s0 = (sAt + p0 * nr) * 4;
    exports.gemm_block(
      v0,
      s0,
      rAt * 4,
      rows,
      cols,
      kc,
      mr * pairs * 4,
      nr * pairs * 4,
      rows * 4,
      1,
    );
    assert.deepEqual(heap.slice(rAt, rAt + rows * cols), expected, `${mr}x${nr} chunk ${chunk}`);
  }
});
