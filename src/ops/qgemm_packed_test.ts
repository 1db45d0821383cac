import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Node, Tensor } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { scalar, vector } from "./_int8_testing.ts";
import { QGEMM_CASES, qgemmNode, qgemmOperands } from "./_qgemm_cases.ts";
import { qgemm } from "./qgemm.ts";
import { type PackedGemm, packQGemm, packQLinearMatMul } from "./qgemm_pack.ts";
import { qgemmPacked } from "./qgemm_packed.ts";
import { qlinearMatMul } from "./qlinear_matmul.ts";

/** A lowered node and its inputs, with the original op's result. */
interface Lowered {
  name: string;
  node: Node;
  inputs: (Tensor | undefined)[];
  expected: Tensor;
}

function lowered(name: string, a: Tensor, packed: PackedGemm, expected: Tensor): Lowered {
  const node: Node = {
    name,
    op: "QGemmPacked",
    inputs: ["a", "w", "b", "s", packed.zeroPoints ? "z" : ""],
    outputs: ["y"],
    attrs: packed.attrs,
  };
  return {
    name,
    node,
    inputs: [a, packed.weights, packed.bias, packed.scale, packed.zeroPoints],
    expected,
  };
}

/** QGemm cases that pack (no [M, N] or [M, 1] bias), and QLinearMatMul cases. */
function cases(): Lowered[] {
  const out: Lowered[] = [];
  for (const [i, c] of QGEMM_CASES.entries()) {
    if (c.c && c.c.length === 2 && c.c[0] !== 1) continue;
    const node = qgemmNode(c);
    const operands = qgemmOperands(c, i + 1).slice(0, node.inputs.length);
    const [expected] = qgemm.reference(node, operands);
    out.push(lowered(`QGemm ${c.name}`, operands[0]!, packQGemm(node, operands), expected));
  }
  // The last three have K and N multiples of 4: the fast CPU kernel runs them as 1x1 convs.
  const matmuls = [
    { a: "u8" as const, b: "i8" as const, m: 2, k: 37, n: 11, bz: 0 },
    { a: "u8" as const, b: "u8" as const, m: 3, k: 16, n: 5, bz: 131 },
    { a: "i8" as const, b: "i8" as const, m: 1, k: 13, n: 7, bz: -4 },
    { a: "u8" as const, b: "i8" as const, m: 3, k: 64, n: 12, bz: 0 },
    { a: "u8" as const, b: "u8" as const, m: 2, k: 32, n: 20, bz: 131 },
    { a: "i8" as const, b: "i8" as const, m: 5, k: 200, n: 36, bz: -4 },
  ];
  for (const [i, c] of matmuls.entries()) {
    const rand = seededRandom(50 + i);
    const range = (d: string): [number, number] => (d === "u8" ? [0, 256] : [-128, 128]);
    const operands = [
      randomTensor(rand, c.a, [c.m, c.k], ...range(c.a)),
      scalar("f32", 0.0191),
      scalar(c.a, c.a === "u8" ? 3 : -4),
      randomTensor(rand, c.b, [c.k, c.n], ...range(c.b)),
      vector("f32", Array.from({ length: c.n }, () => Math.fround(0.002 + 0.004 * rand()))),
      vector(c.b, new Array(c.n).fill(c.bz)),
      scalar("f32", Math.fround(0.0191 * 0.004 * Math.sqrt(c.k) * 74 * 74 / 50)),
      scalar(c.a, c.a === "u8" ? 120 : 5),
    ];
    const node: Node = {
      name: `mm${i}`,
      op: "QLinearMatMul",
      inputs: ["a", "as", "az", "b", "bs", "bz", "ys", "yz"],
      outputs: ["y"],
      attrs: {},
    };
    const [expected] = qlinearMatMul.reference(node, operands);
    out.push(
      lowered(`QLinearMatMul ${i}`, operands[0], packQLinearMatMul(node, operands), expected),
    );
  }
  return out;
}

Deno.test("QGemmPacked with packed weights equals QGemm and QLinearMatMul", () => {
  for (const c of cases()) {
    const [actual] = qgemmPacked.reference(c.node, c.inputs);
    assertClose(actual.data, c.expected.data, TOLERANCES.exact, c.name);
  }
});

Deno.test("QGemmPacked fast CPU kernel equals the reference", () => {
  for (const c of cases()) {
    const [expected] = qgemmPacked.reference(c.node, c.inputs);
    assertClose(
      qgemmPacked.cpu!(c.node, c.inputs)[0].data,
      expected.data,
      TOLERANCES.exact,
      c.name,
    );
  }
});

gpuTest("QGemmPacked GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (const c of cases()) {
    const [actual] = await runNodeOnGpu(gpu, c.node, c.inputs, cache);
    const [expected] = qgemmPacked.reference(c.node, c.inputs);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `GPU ${c.name}`);
  }
});
