import assert from "node:assert/strict";
import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import type { GpuContext } from "../executor/gpu_device.ts";
import { planNodeOnGpu, runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { PipelineCache } from "../executor/pipeline_cache.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { gemm } from "./gemm.ts";
import { matmul } from "./matmul.ts";

const f32 = (shape: number[]): TensorType => ({ dtype: "f32", shape });

function gemmNode(attrs: Node["attrs"], withC: boolean): Node {
  return { name: "gemm0", op: "Gemm", inputs: ["a", "b", withC ? "c" : ""], outputs: ["y"], attrs };
}

/** One Gemm configuration: transposes, scalars and the shape of C (undefined: no C). */
interface GemmCase {
  transA: number;
  transB: number;
  alpha: number;
  beta: number;
  c?: (m: number, n: number) => number[];
}

/** Every transpose pair with every C broadcast form, and some alpha/beta values. */
const C_SHAPES: (GemmCase["c"])[] = [
  undefined,
  () => [],
  () => [1],
  (_m, n) => [n],
  (_m, n) => [1, n],
  (m) => [m, 1],
  () => [1, 1],
  (m, n) => [m, n],
];
const GEMM_CASES: GemmCase[] = [0, 1].flatMap((transA) =>
  [0, 1].flatMap((transB) =>
    C_SHAPES.map((c, i) => ({ transA, transB, alpha: i % 2 ? 1 : -0.75, beta: i % 3 ? 1.5 : 1, c }))
  )
);

function transpose(t: Tensor): Tensor {
  const [r, c] = t.shape;
  const out = makeTensor("f32", [c, r]);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[j * r + i] = t.data[i * c + j];
  return out;
}

/** Random inputs of a case for A' [m, k], B' [k, n]. */
function caseInputs(seed: number, g: GemmCase, m: number, n: number, k: number): Tensor[] {
  const rand = seededRandom(seed);
  const inputs = [
    randomTensor(rand, "f32", g.transA ? [k, m] : [m, k]),
    randomTensor(rand, "f32", g.transB ? [n, k] : [k, n]),
  ];
  if (g.c) inputs.push(randomTensor(rand, "f32", g.c(m, n)));
  return inputs;
}

const caseNode = (g: GemmCase) =>
  gemmNode({ transA: g.transA, transB: g.transB, alpha: g.alpha, beta: g.beta }, Boolean(g.c));

const caseName = (g: GemmCase, m: number, n: number) =>
  `transA ${g.transA} transB ${g.transB} alpha ${g.alpha} beta ${g.beta} C [${
    g.c ? g.c(m, n) : "none"
  }]`;

Deno.test("Gemm reference equals alpha * MatMul(A', B') + beta * C broadcast by hand", () => {
  const [m, n, k] = [5, 7, 3];
  const mm: Node = { name: "mm", op: "MatMul", inputs: ["a", "b"], outputs: ["y"], attrs: {} };
  GEMM_CASES.forEach((g, i) => {
    const inputs = caseInputs(i, g, m, n, k);
    const [a, b, c] = inputs;
    const [product] = matmul.reference(mm, [
      g.transA ? transpose(a) : a,
      g.transB ? transpose(b) : b,
    ]);
    const expected = product.data.map((v, idx) => {
      const row = Math.floor(idx / n), col = idx % n;
      if (!c) return g.alpha * v;
      // Right-align C's shape with [m, n]; a size-1 dim repeats.
      const [cm, cn] = c.shape.length === 2 ? c.shape : [1, c.shape[0] ?? 1];
      return g.alpha * v + g.beta * c.data[(cm === 1 ? 0 : row) * cn + (cn === 1 ? 0 : col)];
    });
    const [y] = gemm.reference(caseNode(g), inputs);
    assert.deepEqual(y.shape, [m, n]);
    assertClose(y.data, expected, TOLERANCES.f32Kernel, caseName(g, m, n));
  });
});

Deno.test("Gemm inferTypes rejects malformed nodes with errors naming the node", () => {
  const cases: [Node["attrs"], TensorType[], RegExp][] = [
    [{}, [f32([3, 4]), f32([5, 2])], /Gemm "gemm0": inner dimensions differ/],
    [{ transA: 1 }, [f32([3, 4]), f32([4, 2])], /inner dimensions differ/],
    [{}, [f32([3, 4]), f32([4, 2]), f32([2, 2])], /C \[2,2\] does not broadcast to \[3, 2\]/],
    [{}, [f32([3, 4]), f32([4, 2]), f32([1, 3, 2])], /does not broadcast/],
    [{ transB: 2 }, [f32([3, 4]), f32([2, 4])], /transB must be 0 or 1, got 2/],
    [{ alpha: "x" }, [f32([3, 4]), f32([4, 2])], /alpha must be a finite number/],
    [{}, [f32([3, 4, 1]), f32([4, 2])], /A and B must be 2-D/],
  ];
  for (const [attrs, inputs, message] of cases) {
    assert.throws(() => gemm.inferTypes(gemmNode(attrs, inputs.length > 2), inputs), message);
  }
});

/**
 * Problem sizes [m, n, k]: odd, 1-row (the batch-1 classifier form), past the CPU blocks, and
 * with k and n multiples of 4 (the register kernel's vec4 loads).
 */
const SIZES: [number, number, number][] = [
  [5, 7, 3],
  [1, 17, 64],
  [13, 1, 7],
  [33, 70, 130],
  [6, 12, 20],
];

Deno.test("Gemm cpu matches the reference for every transpose, scalar and C broadcast", () => {
  for (const [m, n, k] of SIZES) {
    GEMM_CASES.forEach((g, i) => {
      const inputs = caseInputs(i + 50, g, m, n, k);
      const [actual] = gemm.cpu!(caseNode(g), inputs);
      const [expected] = gemm.reference(caseNode(g), inputs);
      assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, caseName(g, m, n));
    });
  }
});

/** Runs every case at every size on `gpu` against the reference; returns the program keys. */
async function checkEveryCase(gpu: GpuContext, cache: PipelineCache): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const [m, n, k] of SIZES) {
    for (const [i, g] of GEMM_CASES.entries()) {
      const inputs = caseInputs(i + 70, g, m, n, k);
      const key = planNodeOnGpu(gpu, caseNode(g), inputs).plan.programs[0].key;
      keys.add(key);
      const [actual] = await runNodeOnGpu(gpu, caseNode(g), inputs, cache);
      const [expected] = gemm.reference(caseNode(g), inputs);
      const label = `[${m}, ${n}, ${k}] ${caseName(g, m, n)}: ${key}`;
      assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, label);
    }
  }
  return keys;
}

gpuTest(
  "Gemm workgroup kernel matches the reference for every compiled variant",
  async ({ gpu, cache }) => {
    // M <= 16 selects the 16-row tile, M = 33 the 64-row tile; with the transposes (staging
    // orders) and C present or not, that is every variant.
    const keys = await checkEveryCase({ ...gpu, isFallbackAdapter: false }, cache);
    assert.equal(keys.size, 2 * 2 * 2 * 2, [...keys].join(", "));
  },
);

gpuTest(
  "Gemm register kernel matches the reference for every load form",
  async ({ gpu, cache }) => {
    // A as vec4s of 4 depths (transA 0, k % 4 == 0) or scalar quads; B as vec4s of 4 depths
    // (transB 1, k % 4 == 0), of 4 columns (transB 0, n % 4 == 0) or scalar quads; C or not.
    const keys = await checkEveryCase({ ...gpu, isFallbackAdapter: true }, cache);
    const forms = new Set([...keys].map((key) => key.match(/_a-\w+_b-[a-z0-9]+_c\d/)![0]));
    const expected = ["quad", "k4"].flatMap((a) =>
      ["quad", "quad4", "k4"].flatMap((b) => [0, 1].map((c) => `_a-${a}_b-${b}_c${c}`))
    );
    assert.deepEqual([...forms].sort(), expected.sort());
  },
);
