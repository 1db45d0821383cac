import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { type DType, makeTensor, type Node, type Tensor } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { cast } from "./cast.ts";

function castNode(to: string): Node {
  return { name: "cast0", op: "Cast", inputs: ["x"], outputs: ["y"], attrs: { to } };
}

/** Floats covering truncation, saturation, NaN and infinities. */
const SPECIAL = [-1.7, 1.7, 300, -300, NaN, Infinity, -Infinity, 3e9, -3e9, -0.5, 0.99, 127.9];

Deno.test("Cast reference truncates floats toward zero and saturates", () => {
  const x = makeTensor("f32", [SPECIAL.length], SPECIAL);
  const run = (to: string) => [...cast.reference(castNode(to), [x])[0].data];
  const MAX = 2147483647;
  const MIN = -2147483648;
  assert.deepEqual(run("i32"), [-1, 1, 300, -300, 0, MAX, MIN, MAX, MIN, 0, 0, 127]);
  assert.deepEqual(run("u8"), [0, 1, 255, 0, 0, 255, 0, 255, 0, 0, 0, 127]);
  assert.deepEqual(run("i8"), [-1, 1, 127, -128, 0, 127, -128, 127, -128, 0, 0, 127]);
});

Deno.test("Cast reference rounds large integers to the nearest f32, ties to even", () => {
  const x = makeTensor("i32", [4], [16777217, 16777219, 2147483647, -2147483647]);
  const [y] = cast.reference(castNode("f32"), [x]);
  assert.deepEqual([...y.data], [16777216, 16777220, 2147483648, -2147483648]);
});

Deno.test("Cast inferTypes rejects integer-to-integer casts and unknown dtypes", () => {
  const i32 = { dtype: "i32" as const, shape: [3] };
  assert.throws(
    () => cast.inferTypes(castNode("u8"), [i32]),
    /Cast "cast0": casts between integer types \(i32 to u8\) are not supported/,
  );
  assert.throws(
    () => cast.inferTypes(castNode("float32"), [i32]),
    /attribute to must be one of f32, i32, u8, i8, got "float32"/,
  );
  assert.deepEqual(cast.inferTypes(castNode("f32"), [i32]), [{ dtype: "f32", shape: [3] }]);
});

/** f32 data as bit patterns (so NaN and infinities compare exactly); other dtypes as is. */
function comparable(t: Tensor): ArrayLike<number> {
  return t.dtype === "f32"
    ? new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)
    : t.data;
}

const RANGES: Record<string, [number, number]> = {
  f32: [-400, 400],
  i32: [-(2 ** 31), 2 ** 31],
  u8: [0, 256],
  i8: [-128, 128],
};

gpuTest("Cast GPU kernels match the reference for every dtype pair", async (env) => {
  const pairs: [DType, DType][] = [
    ["f32", "f32"],
    ["f32", "i32"],
    ["f32", "u8"],
    ["f32", "i8"],
    ["i32", "f32"],
    ["u8", "f32"],
    ["i8", "f32"],
  ];
  for (const [from, to] of pairs) {
    for (const length of [1, 3, 7, 4097]) {
      const x = randomTensor(seededRandom(length), from, [length], ...RANGES[from]);
      if (from === "f32") x.data.set(SPECIAL.slice(0, length));
      const node = castNode(to);
      const [actual] = await runNodeOnGpu(env.gpu, node, [x], env.cache);
      const [expected] = cast.reference(node, [x]);
      assertClose(
        comparable(actual),
        comparable(expected),
        TOLERANCES.exact,
        `Cast ${from} to ${to} [${length}]`,
      );
    }
  }
});
