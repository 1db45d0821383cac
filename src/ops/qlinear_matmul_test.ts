import type { Node, Tensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { runOrtNode, scalar, vector } from "./_int8_testing.ts";
import { qlinearMatMul } from "./qlinear_matmul.ts";

const CASES = [
  {
    name: "u8 x s8 2-D",
    a: "u8" as const,
    b: "i8" as const,
    as: [3, 37],
    bs: [37, 11],
    perColumn: false,
  },
  {
    name: "per-column B",
    a: "u8" as const,
    b: "i8" as const,
    as: [5, 64],
    bs: [64, 10],
    perColumn: true,
  },
  {
    name: "u8 x u8 batched broadcast",
    a: "u8" as const,
    b: "u8" as const,
    as: [2, 3, 4, 9],
    bs: [9, 5],
    perColumn: false,
  },
  {
    name: "s8 x s8",
    a: "i8" as const,
    b: "i8" as const,
    as: [7, 13],
    bs: [13, 6],
    perColumn: true,
  },
];

const NAMES = ["a", "as", "az", "b", "bs", "bz", "ys", "yz"];

Deno.test("QLinearMatMul reference equals onnxruntime", async () => {
  for (const [i, c] of CASES.entries()) {
    const rand = seededRandom(i + 1);
    const range = (d: string): [number, number] => (d === "u8" ? [0, 256] : [-128, 128]);
    const n = c.bs[c.bs.length - 1];
    const k = c.as[c.as.length - 1];
    const perCol = (f: () => number) =>
      c.perColumn ? vector("f32", Array.from({ length: n }, f)) : scalar("f32", f());
    const bz = c.b === "u8" ? 128 : 0;
    const inputs: Tensor[] = [
      randomTensor(rand, c.a, c.as, ...range(c.a)),
      scalar("f32", 0.0191),
      scalar(c.a, c.a === "u8" ? 3 : -4),
      randomTensor(rand, c.b, c.bs, ...range(c.b)),
      perCol(() => Math.fround(0.002 + 0.004 * rand())),
      c.perColumn ? vector(c.b, new Array(n).fill(bz)) : scalar(c.b, bz),
      scalar("f32", Math.fround(0.0191 * 0.004 * Math.sqrt(k) * 74 * 74 / 50)),
      scalar(c.a, c.a === "u8" ? 120 : 5),
    ];
    const node: Node = {
      name: c.name,
      op: "QLinearMatMul",
      inputs: NAMES,
      outputs: ["y"],
      attrs: {},
    };
    const [expected] = await runOrtNode({
      op: "QLinearMatMul",
      inputs: inputs.map((tensor, j) => ({ name: NAMES[j], tensor, runtime: j === 0 })),
      outputs: [c.a],
    });
    const [actual] = qlinearMatMul.reference(node, inputs);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `QLinearMatMul ${c.name}`);
  }
});
