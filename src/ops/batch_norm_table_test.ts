import type { Tensor } from "../graph/types.ts";
import { makeTensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtNode } from "./_int8_testing.ts";
import { batchNormF32, batchNormTable } from "./batch_norm_table.ts";
import { dequantize } from "./quant_math.ts";

const C = 16;
const EPS = Math.fround(1e-5);

function params(seed: number): Tensor[] {
  const rand = seededRandom(seed);
  return [
    randomTensor(rand, "f32", [C], 0.5, 1.5),
    randomTensor(rand, "f32", [C], -1, 1),
    randomTensor(rand, "f32", [C], -1, 1),
    randomTensor(rand, "f32", [C], 0.1, 2),
  ];
}

const NAMES = ["x", "scale", "b", "mean", "var"];

Deno.test("batchNormF32 equals onnxruntime's float BatchNormalization bit for bit", async () => {
  for (const seed of [1, 2, 3]) {
    const p = params(seed);
    const x = randomTensor(seededRandom(10 + seed), "f32", [2, C, 9, 7], -3, 3);
    const [expected] = await runOrtNode({
      op: "BatchNormalization",
      inputs: [x, ...p].map((tensor, i) => ({ name: NAMES[i], tensor, runtime: i === 0 })),
      outputs: ["f32"],
      attrs: { epsilon: { float: EPS } },
      opset: 15,
    });
    const fns = Array.from({ length: C }, (_, c) => batchNormF32(p, EPS, c));
    const actual = makeTensor("f32", x.shape, x.data.map((v, i) => fns[Math.floor(i / 63) % C](v)));
    assertClose(actual.data, expected.data, TOLERANCES.exact, `seed ${seed}`);
  }
});

Deno.test("batchNormTable equals onnxruntime's DQ -> BatchNormalization -> Relu -> Q", async () => {
  const p = params(7);
  const input = { scale: Math.fround(0.0197), zero: 3, dtype: "u8" as const };
  const output = { scale: Math.fround(0.0173), zero: 0, dtype: "u8" as const };
  // Every byte for every channel: row c of x holds DQ(0..255).
  const x = makeTensor("u8", [1, C, 16, 16], Array.from({ length: C * 256 }, (_, i) => i % 256));
  const scalar = (dtype: "f32" | "u8", v: number) => makeTensor(dtype, [], [v]);
  const dq = makeTensor(
    "f32",
    x.shape,
    Array.from(x.data, (v) => dequantize(v, input.scale, input.zero)),
  );
  const bn = await runOrtNode({
    op: "BatchNormalization",
    inputs: [dq, ...p].map((tensor, i) => ({ name: NAMES[i], tensor, runtime: i === 0 })),
    outputs: ["f32"],
    attrs: { epsilon: { float: EPS } },
    opset: 15,
  });
  const relu = makeTensor("f32", x.shape, Array.from(bn[0].data, (v) => Math.max(v, 0)));
  const [expected] = await runOrtNode({
    op: "QuantizeLinear",
    inputs: [
      { name: "y", tensor: relu, runtime: true },
      { name: "s", tensor: scalar("f32", output.scale) },
      { name: "z", tensor: scalar("u8", output.zero) },
    ],
    outputs: ["u8"],
  });
  const table = batchNormTable(p, EPS, input, output, true);
  assertClose(table.data, expected.data, TOLERANCES.exact, "table");
});
