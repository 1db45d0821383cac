import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { foldBias, requantTensor } from "../tflite/int8_pack.ts";
import { gpuTest } from "../testing/gpu.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { fixedRequant, randomInts, xnnpackRequant } from "./_tfl_testing.ts";
import { fullyConnectedMultiplier } from "./tfl_math.ts";
import { tflFullyConnected } from "./tfl_fully_connected.ts";
import type { RequantMode } from "./tfl_requant.ts";

/** A TFLite FULLY_CONNECTED with per-tensor scales: TFLite form, resin node, TFLite output. */
function build(m: number, k: number, n: number, mode: RequantMode, seed: number) {
  const rand = seededRandom(seed);
  const x = randomInts(seed, m * k);
  const w = makeTensor("i8", [n, k], randomInts(seed + 1, n * k));
  const bias = makeTensor("i32", [n], randomInts(seed + 2, n, -20000, 20000));
  const xZero = randomInts(seed + 3, 1)[0], yZero = randomInts(seed + 4, 1)[0];
  const sx = 0.02 + 0.1 * rand(), sw = 0.002 + 0.01 * rand(), sy = 0.05 + 0.3 * rand();
  const act: [number, number] = mode === "float" ? [yZero, 127] : [-128, 127];
  const fixed = fullyConnectedMultiplier(sx, sw, sy);
  const scale = Math.fround(Math.fround(Math.fround(sx) * Math.fround(sw)) / Math.fround(sy));
  const expected: number[] = [];
  for (let row = 0; row < m; row++) {
    for (let col = 0; col < n; col++) {
      let acc = bias.data[col];
      for (let i = 0; i < k; i++) acc += (x[row * k + i] - xZero) * w.data[col * k + i];
      expected.push(
        mode === "float"
          ? xnnpackRequant(acc, scale, yZero, ...act)
          : fixedRequant(acc, fixed, yZero, ...act),
      );
    }
  }
  const node: Node = {
    name: "fc",
    op: "TflFullyConnected",
    inputs: ["x", "w", "b", "r"],
    outputs: ["y"],
    attrs: { y_zero_point: yZero, act_min: act[0], act_max: act[1] },
  };
  const inputs = [
    makeTensor("i8", [m, k], x),
    w,
    foldBias(bias, n, k, (c, i) => w.data[c * k + i], xZero, n),
    requantTensor(mode, sx, Array(n).fill(sw), sy, n, () => fixed),
  ];
  return { node, inputs, expected };
}

const SHAPES: [number, number, number, RequantMode][] = [
  [1, 64, 10, "float"],
  [3, 7, 5, "fixed_point"],
  [2, 33, 13, "float"],
  [5, 130, 3, "fixed_point"],
];

Deno.test("TflFullyConnected reference equals TFLite's int8 FULLY_CONNECTED", () => {
  SHAPES.forEach(([m, k, n, mode], i) => {
    const { node, inputs, expected } = build(m, k, n, mode, 7 * i + 1);
    const [y] = tflFullyConnected.reference(node, inputs);
    assertClose(y.data, expected, TOLERANCES.exact, `[${m}, ${k}] x [${n}, ${k}] ${mode}`);
  });
});

gpuTest("TflFullyConnected GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (const [i, [m, k, n, mode]] of SHAPES.entries()) {
    const { node, inputs } = build(m, k, n, mode, 7 * i + 3);
    const [actual] = await runNodeOnGpu(gpu, node, inputs, cache);
    const [expected] = tflFullyConnected.reference(node, inputs);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `[${m}, ${k}] x [${n}, ${k}]`);
  }
});
