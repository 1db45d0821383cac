import assert from "node:assert/strict";
import {
  createPoisonedBuffer,
  createUniformBuffer,
  readTensor,
  uploadTensor,
} from "../executor/gpu_buffers.ts";
import { makeTensor, type Tensor, type TensorType } from "../graph/types.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { dispatchOnce, gpuTest } from "../testing/gpu.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { INT8_CONV_GEMM_UNIFORMS, int8ConvGemm, type Int8ConvShape } from "./int8_conv_gemm.ts";

const PARAMS = uniformLayout("Params", INT8_CONV_GEMM_UNIFORMS);

/** The op side of the test kernel: the raw int32 accumulators, one vec4 per output word. */
const DECLS = /* wgsl */ `${PARAMS.struct}
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<i32>>;
@group(0) @binding(3) var<uniform> params: Params;
struct ConvColumn { m4: u32 }
fn conv_column(m4: u32) -> ConvColumn { return ConvColumn(m4); }
fn conv_store(pixel: u32, m4: u32, acc: vec4<i32>, c: ConvColumn) {
  y[pixel * params.mw + c.m4] = acc;
}`;

/** Float64 reference of the accumulators: sums of x' * w over taps and channels. */
function referenceAcc(g: Int8ConvShape, x: Tensor, w: Tensor): Int32Array {
  const out = new Int32Array(g.n * g.oh * g.ow * g.mp);
  const asI8 = (v: number) => g.dtype === "u8" ? v - 128 : v;
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        for (let m = 0; m < g.mp; m++) {
          let sum = 0;
          for (let ky = 0; ky < g.kh; ky++) {
            for (let kx = 0; kx < g.kw; kx++) {
              const iy = oy * g.strideH - g.padT + ky * g.dilH;
              const ix = ox * g.strideW - g.padL + kx * g.dilW;
              const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              for (let c = 0; c < g.cp; c++) {
                const xv = inside ? x.data[((n * g.h + iy) * g.w + ix) * g.cp + c] : g.xPad;
                sum += asI8(xv) * w.data[((m * g.kh + ky) * g.kw + kx) * g.cp + c];
              }
            }
          }
          out[((n * g.oh + oy) * g.ow + ox) * g.mp + m] = sum;
        }
      }
    }
  }
  return out;
}

const window = { strideH: 1, strideW: 1, dilH: 1, dilW: 1, padT: 0, padL: 0 };
const CASES: (Int8ConvShape & { name: string; extreme?: boolean })[] = [
  {
    name: "1x1, 17 pixels x 20 channels (partial blocks), 3 summation steps",
    ...window,
    n: 1,
    h: 1,
    w: 17,
    cp: 196,
    oh: 1,
    ow: 17,
    mp: 20,
    kh: 1,
    kw: 1,
    dtype: "u8",
    xPad: 0,
  },
  {
    name: "1x1, 150 pixels x 68 channels: 16x16 blocks, partial in both directions",
    ...window,
    n: 1,
    h: 10,
    w: 15,
    cp: 20,
    oh: 10,
    ow: 15,
    mp: 68,
    kh: 1,
    kw: 1,
    dtype: "i8",
    xPad: 0,
  },
  {
    name: "3x3 pad 1 stride 2, batch 2, u8 pad value",
    ...window,
    n: 2,
    h: 9,
    w: 7,
    cp: 12,
    oh: 5,
    ow: 4,
    mp: 8,
    kh: 3,
    kw: 3,
    strideH: 2,
    strideW: 2,
    padT: 1,
    padL: 1,
    dtype: "u8",
    xPad: 131,
  },
  {
    name: "i8, 2x3 kernel dilation 2, asymmetric padding",
    ...window,
    n: 1,
    h: 8,
    w: 9,
    cp: 8,
    oh: 6,
    ow: 7,
    mp: 36,
    kh: 2,
    kw: 3,
    dilH: 2,
    dilW: 2,
    padT: 1,
    padL: 2,
    dtype: "i8",
    xPad: -5,
  },
  {
    name: "extreme bytes, depth 1188: partial sums near 2^20, totals past 2^23",
    ...window,
    n: 1,
    h: 6,
    w: 5,
    cp: 132,
    oh: 6,
    ow: 5,
    mp: 16,
    kh: 3,
    kw: 3,
    padT: 1,
    padL: 1,
    dtype: "u8",
    xPad: 0,
    extreme: true,
  },
];

gpuTest(
  "int8 conv register GEMM accumulates exactly the float64 sums (odd shapes, padding, extremes)",
  async ({ gpu }) => {
    const { device } = gpu;
    for (const [index, g] of CASES.entries()) {
      const rand = seededRandom(40 + index);
      const byte = (lo: number) =>
        g.extreme ? (rand() < 0.95 ? lo : lo + 255) : lo + Math.floor(rand() * 256);
      const xLo = g.dtype === "u8" ? 0 : -128;
      const x = makeTensor(
        g.dtype,
        [g.n, g.h, g.w, g.cp],
        Array.from({ length: g.n * g.h * g.w * g.cp }, () => byte(xLo)),
      );
      const w = makeTensor(
        "i8",
        [g.mp, g.kh, g.kw, g.cp],
        Array.from({ length: g.mp * g.kh * g.kw * g.cp }, () => byte(-128)),
      );
      const expected = referenceAcc(g, x, w);
      if (g.extreme) {
        assert.ok(Math.max(...expected.map(Math.abs)) > 2 ** 23, "accumulators pass 2^23");
      }
      const gemm = int8ConvGemm(g, device.limits);
      if (g.name.includes("16x16")) assert.match(gemm.key, /_r16x16_/);
      const outType: TensorType = { dtype: "i32", shape: [expected.length] };
      const buffers = [
        uploadTensor(device, x, "x"),
        uploadTensor(device, w, "w"),
        createPoisonedBuffer(device, outType, "y"),
        createUniformBuffer(device, PARAMS.pack(gemm.uniforms), "params"),
      ];
      try {
        dispatchOnce(device, gemm.wgsl(DECLS), buffers, gemm.workgroups);
        const actual = await readTensor(device, buffers[2], outType);
        assertClose(actual.data, expected, TOLERANCES.exact, g.name);
      } finally {
        for (const b of buffers) b.destroy();
      }
    }
  },
);
