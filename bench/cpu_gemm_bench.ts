/**
 * The CPU matrix product on ResNet-50's GEMM shapes, and whole Conv layers against
 * onnxruntime-web's wasm backend on one thread.
 *
 * Group "gemm <shape>": `gemmF32Blocked` (TypeScript, float64 sums; the baseline) against the
 * WebAssembly SIMD kernel behind `gemmF32` (src/wasm/wasm_gemm.ts), on C = A B with A the
 * constant weights [M, K] (packed once, as Conv passes them) and B the patches [K, N].
 * Group "conv <layer>": one ONNX Conv node with bias (built with src/onnx/onnx_proto.ts's
 * `encodeModel`) in onnxruntime-web wasm with `numThreads = 1` (the baseline), against
 * resin's CPU Conv (im2col + `gemmF32` + bias). After the run a table gives per case the
 * median ms and GFLOP/s (2 per multiply-add) and, for Conv, the relative L2 distance between
 * the two outputs.
 *
 * ```sh
 * deno bench -A bench/cpu_gemm_bench.ts
 * ```
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import type { Node, Tensor } from "../src/graph/types.ts";
import { DATA_TYPE, encodeModel, type OnnxTensor } from "../src/onnx/onnx_proto.ts";
import { conv } from "../src/ops/conv.ts";
import { gemmF32, gemmF32Blocked, type MatrixView, rowMajor } from "../src/ops/cpu_gemm.ts";
import { randomTensor, seededRandom } from "../src/testing/random.ts";
import { relativeL2 } from "../src/testing/tolerance.ts";
import { relaxedSimdSupported, wasmSimdSupported } from "../src/wasm/simd_support.ts";
import { afterBenches } from "./after_run.ts";
import { summarize } from "./stats.ts";
import { fmt, formatTable } from "./table.ts";

ort.env.wasm.numThreads = 1;

/** A GEMM shape of ResNet-50 at 224x224, batch 1: M output channels, N pixels, K depth. */
interface GemmCase {
  layer: string;
  m: number;
  n: number;
  k: number;
}

const GEMM_CASES: GemmCase[] = [
  { layer: "conv1 7x7/2 3->64", m: 64, n: 12544, k: 147 },
  { layer: "layer1 3x3 64->64", m: 64, n: 3136, k: 576 },
  { layer: "layer1 1x1 64->256", m: 256, n: 3136, k: 64 },
  { layer: "layer1 1x1 256->64", m: 64, n: 3136, k: 256 },
  { layer: "layer2 3x3 128->128", m: 128, n: 784, k: 1152 },
  { layer: "layer3 3x3 256->256", m: 256, n: 196, k: 2304 },
  { layer: "layer4 3x3 512->512", m: 512, n: 49, k: 4608 },
  { layer: "layer4 1x1 512->2048", m: 2048, n: 49, k: 512 },
  { layer: "fc 2048->1000", m: 1, n: 1000, k: 2048 },
];

/** A Conv layer of ResNet-50: input [1, c, size, size], weights [m, c, kernel, kernel]. */
interface ConvCase {
  layer: string;
  c: number;
  m: number;
  size: number;
  kernel: number;
  stride: number;
}

const CONV_CASES: ConvCase[] = [
  { layer: "conv1 7x7/2 3->64 @224", c: 3, m: 64, size: 224, kernel: 7, stride: 2 },
  { layer: "layer1 3x3 64->64 @56", c: 64, m: 64, size: 56, kernel: 3, stride: 1 },
  { layer: "layer1 1x1 64->256 @56", c: 64, m: 256, size: 56, kernel: 1, stride: 1 },
  { layer: "layer3 3x3 256->256 @14", c: 256, m: 256, size: 14, kernel: 3, stride: 1 },
  { layer: "layer4 3x3 512->512 @7", c: 512, m: 512, size: 7, kernel: 3, stride: 1 },
];

/** Timing samples in ms by row label, then by runtime. */
const samples = new Map<string, { ops: number; ms: Map<string, number[]>; l2?: number }>();

/** Records `ms` for `runtime` in row `label` (`ops` operations per run). */
function record(label: string, ops: number, runtime: string, ms: number): void {
  let row = samples.get(label);
  if (!row) samples.set(label, row = { ops, ms: new Map() });
  row.ms.get(runtime)?.push(ms) ?? row.ms.set(runtime, [ms]);
}

/** Uniform values in [-1, 1) from `seed`. */
function random(seed: number, length: number): Float32Array {
  return randomTensor(seededRandom(seed), "f32", [length]).data as Float32Array;
}

GEMM_CASES.forEach(({ layer, m, n, k }, index) => {
  const label = `gemm ${layer} [${m}, ${n}, ${k}]`;
  const ops = 2 * m * n * k;
  // The fully connected layer multiplies activations [1, K] by weights [N, K] transposed.
  const fc = m === 1;
  const a: MatrixView = { ...rowMajor(random(2 * index, m * k), k), constant: !fc };
  const b: MatrixView = fc
    ? { data: random(2 * index + 1, k * n), offset: 0, rowStride: 1, colStride: k, constant: true }
    : rowMajor(random(2 * index + 1, k * n), n);
  const c = rowMajor(new Float32Array(m * n), n);
  const products = [["typescript", gemmF32Blocked], ["wasm", gemmF32]] as const;
  for (const [runtime, product] of products) {
    Deno.bench({
      name: `${runtime} ${label}`,
      group: label,
      baseline: runtime === "typescript",
      ignore: runtime === "wasm" && !wasmSimdSupported(),
      fn: () => {
        const start = performance.now();
        product(m, n, k, a, b, c);
        record(label, ops, runtime, performance.now() - start);
      },
    });
  }
});

/** An f32 initializer. */
function initializer(name: string, dims: number[], data: Float32Array): OnnxTensor {
  return { name, dims, dataType: DATA_TYPE.FLOAT, floatData: data };
}

CONV_CASES.forEach((cc, index) => {
  const { c, m, size, kernel, stride } = cc;
  const label = `conv ${cc.layer}`;
  const pad = (kernel - 1) >> 1;
  const out = Math.floor((size + 2 * pad - kernel) / stride) + 1;
  const ops = 2 * m * out * out * c * kernel * kernel;
  const x = random(100 + 3 * index, c * size * size);
  const w = random(101 + 3 * index, m * c * kernel * kernel);
  const bias = random(102 + 3 * index, m);
  const attrs = {
    kernel_shape: [kernel, kernel],
    pads: [pad, pad, pad, pad],
    strides: [stride, stride],
  };
  const node: Node = { name: label, op: "Conv", inputs: ["x", "w", "b"], outputs: ["y"], attrs };
  const tensor = (shape: number[], data: Float32Array): Tensor => ({ dtype: "f32", shape, data });
  const inputs = [
    tensor([1, c, size, size], x),
    tensor([m, c, kernel, kernel], w),
    tensor([m], bias),
  ];
  const ints = (values: number[]) => ({ type: 7, ints: BigInt64Array.from(values.map(BigInt)) });
  const onnx = encodeModel({
    irVersion: 7,
    producerName: "resin-bench",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: label,
      nodes: [{
        name: "conv",
        opType: "Conv",
        domain: "",
        inputs: ["x", "w", "b"],
        outputs: ["y"],
        attributes: Object.entries(attrs).map(([name, values]) => ({ name, ...ints(values) })),
      }],
      initializers: [initializer("w", [m, c, kernel, kernel], w), initializer("b", [m], bias)],
      sparseInitializerCount: 0,
      inputs: [{
        name: "x",
        elemType: DATA_TYPE.FLOAT,
        shape: [1, c, size, size].map((value) => ({ value })),
      }],
      outputs: [{
        name: "y",
        elemType: DATA_TYPE.FLOAT,
        shape: [1, m, out, out].map((value) => ({ value })),
      }],
      valueInfo: [],
    },
  });
  let session: Promise<ort.InferenceSession> | undefined;
  let ortOutput: Float32Array | undefined;
  let resinOutput: Float32Array | undefined;
  const compare = () => {
    if (ortOutput && resinOutput) samples.get(label)!.l2 = relativeL2(resinOutput, ortOutput);
  };
  Deno.bench({
    name: `ort-web wasm ${label}`,
    group: label,
    baseline: true,
    fn: async () => {
      const s = await (session ??= ort.InferenceSession.create(onnx, {
        executionProviders: ["wasm"],
        graphOptimizationLevel: "all",
      }));
      const feeds = { x: new ort.Tensor("float32", x, [1, c, size, size]) };
      const start = performance.now();
      const { y } = await s.run(feeds);
      record(label, ops, "ort-web wasm", performance.now() - start);
      ortOutput ??= y.data as Float32Array;
      compare();
    },
  });
  Deno.bench({
    name: `resin cpu ${label}`,
    group: label,
    fn: () => {
      const start = performance.now();
      const [y] = conv.cpu!(node, inputs);
      record(label, ops, "resin cpu", performance.now() - start);
      resinOutput ??= y.data as Float32Array;
      compare();
    },
  });
});

afterBenches("CPU GEMM report", () => {
  const runtimes = ["typescript", "wasm", "ort-web wasm", "resin cpu"];
  const rows = [...samples].map(([label, row]) => [
    label,
    ...runtimes.flatMap((runtime) => {
      const ms = row.ms.get(runtime);
      if (!ms) return ["-", "-"];
      const median = summarize(ms).median;
      return [fmt(median), fmt(row.ops / (median / 1e3) / 1e9)];
    }),
    row.l2 === undefined ? "-" : fmt(row.l2, 2),
  ]);
  const header = ["case", ...runtimes.flatMap((r) => [`${r} ms`, `${r} GFLOP/s`]), "rel. L2"];
  console.log(
    `\nCPU GEMM and Conv, one thread; wasm SIMD ${wasmSimdSupported()}, relaxed-SIMD FMA ` +
      `${relaxedSimdSupported()}, onnxruntime-web ${ort.env.versions.web}. Medians.\n` +
      formatTable(header, rows),
  );
});
